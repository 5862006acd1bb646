"""A crawl run: portals.yml in, WARC files + catalog rows out.

`run_crawl(...)` creates the data directories, opens a run in the catalog, runs one
`PortalSpider` per selected portal in a Scrapy `CrawlerProcess` in this process, and closes
the run with its counts and Scrapy's stats: status `finished`, `interrupted` (Ctrl-C) or
`failed` (an exception, or a spider that could not start). An error inside a spider callback
becomes a `crawl_errors` row and the crawl goes on. Twisted's reactor runs once per
process, so call it once per process (the CLI does).
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from archive.catalog import Catalog
from crawler.portals import PortalsError, load_portals, select_portals
from crawler.settings import scrapy_settings, user_agent

logger = logging.getLogger(__name__)


def configure_logging(log_file: Path, level: str = "INFO") -> list[logging.Handler]:
    """INFO and up to `log_file`, WARNING and up to stderr. Returns the handlers added."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setLevel(level)
    to_file.setFormatter(fmt)
    to_err = logging.StreamHandler(sys.stderr)
    to_err.setLevel(logging.WARNING)
    to_err.setFormatter(fmt)
    root = logging.getLogger()
    root.setLevel(min(logging.getLevelName(level), logging.WARNING))
    root.addHandler(to_file)
    root.addHandler(to_err)
    return [to_file, to_err]


def _sum(stats_list: list[dict], key: str) -> int:
    return sum(int(s.get(key) or 0) for s in stats_list)


def run_crawl(data_dir: Path | str, portals_file: Path | str, portal_names: list[str] | tuple = (),
              render: str = "auto", farm_url: str | None = None) -> dict:
    """Crawl the named portals (default: every runnable one) into `data_dir`.

    :param portals_file: the registry (portals.yml format)
    :param render: "auto" (as each portal says), "always" or "never" (no browser at all)
    :param farm_url: base URL of a running portal farm, replacing `{farm}` in the registry
    :returns: run_id, status, portals, requests, captures, errors, documents, duration_s, log_file
    :raises PortalsError: the registry is invalid or names an unknown portal
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from spiders.portal_spider import PortalSpider

    data_dir = Path(data_dir)
    portals = select_portals(load_portals(portals_file, farm_url), list(portal_names), farm_url)
    if not portals:
        raise PortalsError(f"{portals_file}: no portal to crawl")
    for sub in ("warc", "logs"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)

    catalog = Catalog(data_dir / "archive.db")
    for portal in portals:
        catalog.upsert_portal(portal.name, portal.title, portal.real, portal.start_urls,
                              portal.region)
    run_id = catalog.start_run([p.name for p in portals], settings={
        "render": render, "robots_txt": True, "user_agent": user_agent(),
        "portals_file": str(portals_file), "farm_url": farm_url})
    settings = scrapy_settings(data_dir, run_id, render)
    settings["LOG_INSTALL_ROOT_HANDLER"] = False  # ours: file + stderr (configure_logging)
    log_file = Path(settings["NIANBAO_LOG_FILE"])
    handlers = configure_logging(log_file, settings["LOG_LEVEL"])
    started = time.monotonic()
    status, crawlers = "failed", []
    try:
        process = CrawlerProcess(settings)
        for portal in portals:
            crawler = process.create_crawler(PortalSpider)
            crawler.signals.connect(_spider_error_recorder(catalog, run_id, portal.name),
                                    signal=signals.spider_error, weak=False)
            crawlers.append(crawler)
            process.crawl(crawler, portal=portal, render=render)
        process.start()
        reasons = [(c.stats.get_value("finish_reason") if c.stats else None) for c in crawlers]
        if getattr(process, "bootstrap_failed", False) or any(c.spider is None for c in crawlers):
            status = "failed"
        elif "shutdown" in reasons:
            status = "interrupted"
        else:
            status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        per_portal = {c.spider.name if c.spider else f"#{i}": (c.stats.get_stats() if c.stats else {})
                      for i, c in enumerate(crawlers)}
        scrapy_stats = list(per_portal.values())
        stats = {
            "requests": _sum(scrapy_stats, "downloader/request_count"),
            "portals": per_portal,
            "duration_s": round(time.monotonic() - started, 2),
        }
        catalog.finish_run(run_id, status, stats)
        row = catalog.get_run(run_id)
        catalog.close()
        for h in handlers:
            logging.getLogger().removeHandler(h)
            h.close()
    return {"run_id": run_id, "status": status, "portals": [p.name for p in portals],
            "requests": row["requests"], "captures": row["captures"], "errors": row["errors"],
            "documents": row["documents"], "bytes": row["bytes"],
            "duration_s": stats["duration_s"], "log_file": str(log_file)}


def _spider_error_recorder(catalog: Catalog, run_id: str, portal: str):
    def record(failure, response, spider=None):
        try:
            catalog.add_crawl_error(run_id, portal, response.url,
                                    f"spider error: {failure.type.__name__}: "
                                    f"{failure.getErrorMessage()}",
                                    response.meta.get("referrer"))
        except Exception:  # never let bookkeeping stop the crawl
            logger.exception("could not record a spider error for %s", response.url)
    return record
