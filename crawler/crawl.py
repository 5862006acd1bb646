"""`nianbao crawl`: a thin wrapper over the Scrapy project's `portal` spider.

It validates the registry first (a mistake stops the crawl before any request), loads the
project's settings module (`crawler.settings`), sets nianbao's settings for this run (data
directory, registry, render mode, a JOBDIR per portal selection so a killed crawl resumes),
and runs the one `portal` spider over every selected portal in this process. Everything
else (the lock, the run's catalog rows, archiving) is done by the project's own components,
exactly as under `scrapy crawl portal`. Twisted's reactor runs once per process, so call
this once per process (the CLI does).
"""
from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path

from archive.catalog import Catalog, new_run_id
from crawler.lock import CrawlLocked
from crawler.runs import job_run_id
from spiders.portals import PortalsError, load_portals, select_portals

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


def project_settings(overrides: dict | None = None):
    """The Scrapy project's settings (crawler.settings), with `overrides` on top."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update(overrides or {}, priority="cmdline")
    return settings


def jobdir_for(data_dir: Path, names: list[str]) -> Path:
    """One JOBDIR per portal selection: resuming continues the same crawl, not another."""
    key = hashlib.sha1(",".join(sorted(names)).encode()).hexdigest()[:12]
    return data_dir / "jobs" / key


def run_crawl(data_dir: Path | str, portals_file: Path | str, portal_names: list[str] | tuple = (),
              render: str = "auto", farm_url: str | None = None,
              settings: dict | None = None) -> dict:
    """Crawl the named portals (default: every runnable one) into `data_dir`.

    :param portals_file: the registry (portals.yml format)
    :param render: "auto" (as each portal says), "always" or "never" (no browser at all)
    :param farm_url: base URL of a running portal farm, replacing `{farm}` in the registry
    :param settings: Scrapy or NIANBAO_* settings for this run (as `-s NAME=VALUE`)
    :returns: run_id, status, portals, requests, captures, errors, documents, bytes,
        duration_s, log_file, and `per_portal` rows (crawl_run_portals)
    :raises PortalsError: the registry is invalid or names an unknown portal
    :raises CrawlLocked: another crawl holds this data directory
    """
    from scrapy.crawler import CrawlerProcess

    from spiders.portal_spider import PortalSpider

    data_dir = Path(data_dir)
    portals = select_portals(load_portals(portals_file, farm_url), list(portal_names), farm_url)
    if not portals:
        raise PortalsError(f"{portals_file}: no portal to crawl")
    names = [p.name for p in portals]
    overrides = dict(settings or {})
    jobdir = Path(overrides.setdefault("JOBDIR", str(jobdir_for(data_dir, names))))
    run_id = overrides.get("NIANBAO_RUN_ID") or job_run_id(jobdir) or new_run_id()
    overrides.update({"NIANBAO_DATA_DIR": str(data_dir), "NIANBAO_PORTALS": str(portals_file),
                      "NIANBAO_FARM_URL": farm_url, "NIANBAO_RENDER": render,
                      "NIANBAO_RUN_ID": run_id, "LOG_ENABLED": True,
                      # our handlers: the run's log file, warnings on stderr (configure_logging)
                      "LOG_INSTALL_ROOT_HANDLER": False})
    scrapy_settings = project_settings(overrides)
    log_file = data_dir / "logs" / f"{run_id}.log"
    handlers = configure_logging(log_file, scrapy_settings.get("LOG_LEVEL"))
    failures = []
    try:
        process = CrawlerProcess(scrapy_settings)
        crawler = process.create_crawler(PortalSpider)
        done = process.crawl(crawler, portals=",".join(names))
        done.addErrback(failures.append)
        process.start()
    finally:
        for h in handlers:
            logging.getLogger().removeHandler(h)
            h.close()
    for failure in failures:
        if failure.check(CrawlLocked):
            raise failure.value
    with Catalog(data_dir / "archive.db") as catalog:
        row = catalog.get_run(run_id) or {}
        per_portal = [dict(r) for r in catalog.conn.execute(
            "SELECT * FROM crawl_run_portals WHERE run_id = ? ORDER BY portal", (run_id,))]
    status = row.get("status") or "failed"
    if failures and status == "running":
        status = "failed"
    stats = _load(row.get("stats"))
    return {"run_id": run_id, "status": status, "portals": names,
            "requests": row.get("requests"), "captures": row.get("captures"),
            "errors": row.get("errors"), "documents": row.get("documents"),
            "bytes": row.get("bytes"), "duration_s": stats.get("duration_s"),
            "resumed": stats.get("resumed", False), "log_file": str(log_file),
            "per_portal": per_portal,
            "failure": str(failures[0].value) if failures else None}


def _load(text: str | None) -> dict:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def portal_table(rows: list[dict]) -> str:
    """The end-of-crawl table: one line per portal."""
    cols = ("portal", "pages", "documents", "new_reports", "changed_reports",
            "unchanged_reports", "errors", "challenges")
    heads = ("portal", "pages", "docs", "new", "changed", "unchanged", "errors", "challenges")
    table = [heads] + [tuple(str(r.get(c) if r.get(c) is not None else "") for c in cols)
                       for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(heads))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(line, widths)))
                     for line in table)
