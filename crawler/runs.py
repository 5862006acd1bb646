"""A crawl run's bookkeeping, for `scrapy crawl portal` and `nianbao crawl` alike.

- `RunAddon` (Scrapy add-on, `ADDONS`) gives the run its id before the settings freeze:
  `NIANBAO_RUN_ID` if set, else the unfinished run recorded in the JOBDIR (a resumed crawl
  keeps its run), else a new one.
- `RunExtension` (`EXTENSIONS`) takes the data directory's crawl lock (a second crawl of
  the same directory fails to start, saying who holds it), opens the run in the catalog,
  records the portals, turns spider errors into `crawl_errors` rows, and at the end closes
  the run with Scrapy's stats and one `crawl_run_portals` row per portal (pages, new,
  changed and unchanged reports, errors, challenges met). A run that finished cleanly
  empties its JOBDIR, so the next scheduled crawl starts afresh; an interrupted one keeps it,
  and the next crawl with the same JOBDIR resumes it.

A crawl killed outright (SIGKILL, a power cut) leaves Scrapy's JOBDIR queue unreliable: its
disk queue is indexed only on a clean close, while the seen-requests file was written as it
went, so a naive resume would skip what was queued but never fetched. The next crawl then
keeps the run (same id) but starts its walk over; documents already archived are asked for
conditionally and come back as revisits, so little is fetched twice.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from importlib import metadata
from pathlib import Path

from scrapy import signals

from archive.catalog import Catalog, new_run_id
from archive.events import record_events
from crawler.lock import CrawlLock
from crawler.settings import PLAYWRIGHT_LAUNCH_OPTIONS
from spiders import meta as M
from spiders.config import NianbaoConfig

logger = logging.getLogger(__name__)
JOB_RUN_FILE = "nianbao-run.json"
# Scrapy's finish reasons -> crawl_runs.status
STATUS_OF_REASON = {"finished": "finished", "shutdown": "interrupted"}


def _job_record(jobdir: str | Path | None) -> dict:
    if not jobdir:
        return {}
    try:
        record = json.loads((Path(jobdir) / JOB_RUN_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) and record.get("run_id") else {}


def job_run_id(jobdir: str | Path | None) -> str | None:
    """The unfinished run a JOBDIR belongs to, if any."""
    return _job_record(jobdir).get("run_id")


def _write_job_record(jobdir: Path, run_id: str, closed: bool) -> None:
    tmp = jobdir / (JOB_RUN_FILE + ".tmp")
    tmp.write_text(json.dumps({"run_id": run_id, "closed": closed}), "utf-8")
    tmp.replace(jobdir / JOB_RUN_FILE)


def forget_killed_queue(jobdir: Path) -> bool:
    """If the JOBDIR's last crawl did not close (it was killed), remove Scrapy's queue,
    seen-requests and spider state, keeping the run record. True if it did."""
    record = _job_record(jobdir)
    if not record or record.get("closed", True):
        return False
    for entry in jobdir.iterdir():
        if entry.name != JOB_RUN_FILE:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return True


def nianbao_version() -> str:
    try:
        return metadata.version("nianbao")
    except metadata.PackageNotFoundError:
        return "0+unknown"


PLAIN_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


def _uses_playwright(settings) -> bool:
    return any("scrapy_playwright" in str(h) for h in settings.getdict("DOWNLOAD_HANDLERS").values())


def _same(settings, name: str) -> int:
    """The priority the empty value was set with: filling it in must not lose to it."""
    return settings.getpriority(name) or 0


class RunAddon:
    """Fills in what depends on other settings: NIANBAO_RUN_ID (the JOBDIR's unfinished run,
    or a new id); unless USER_AGENT was set, a user agent naming nianbao, its version and
    NIANBAO_CONTACT_URL; and with NIANBAO_RENDER=never, Scrapy's plain download handler."""

    def update_settings(self, settings) -> None:
        if not settings.get("NIANBAO_RUN_ID"):
            run_id = job_run_id(settings.get("JOBDIR")) or new_run_id()
            settings.set("NIANBAO_RUN_ID", run_id, priority=_same(settings, "NIANBAO_RUN_ID"))
        config = NianbaoConfig.from_settings(settings)
        if not settings.get("USER_AGENT"):
            settings.set("USER_AGENT", config.user_agent(nianbao_version()),
                         priority=_same(settings, "USER_AGENT"))
        if config.render == "never" and _uses_playwright(settings):
            # no browser at all: Scrapy's own handler, without Playwright's per-request cost
            # and its driver processes (about 250 MB)
            settings.set("DOWNLOAD_HANDLERS", {"http": PLAIN_HANDLER, "https": PLAIN_HANDLER},
                         priority=_same(settings, "DOWNLOAD_HANDLERS"))


class RunExtension:
    """:param config: nianbao's settings; :param jobdir: Scrapy's JOBDIR, if any."""

    def __init__(self, config: NianbaoConfig, jobdir: str | None = None, stats=None,
                 settings_summary: dict | None = None):
        self.config = config
        self.jobdir = Path(jobdir) if jobdir else None
        self.stats = stats
        self.settings_summary = settings_summary or {}
        self.lock = CrawlLock(config.data_dir, run_id=config.run_id)
        self.catalog: Catalog | None = None
        self.resumed = False
        self.started = time.monotonic()
        self.portals: list[str] = []

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        config = NianbaoConfig.from_settings(s)
        summary = {"render": config.render, "robots_txt": s.getbool("ROBOTSTXT_OBEY"),
                   "portals_file": str(config.portals_file), "farm_url": config.farm_url,
                   "download_delay": s.getfloat("DOWNLOAD_DELAY"),
                   "per_host": s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
                   "jobdir": s.get("JOBDIR"), "chromium": PLAYWRIGHT_LAUNCH_OPTIONS.get(
                       "executable_path")}
        ext = cls(config, s.get("JOBDIR"), crawler.stats, summary)
        ext.open()  # the lock first: a second crawl of this data directory stops here
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        return ext

    def open(self) -> None:
        """Take the lock and settle the JOBDIR; nothing is recorded before the spider opens
        (a spider that cannot start, e.g. a portal name not in the registry, leaves no run)."""
        self.lock.acquire()
        for sub in ("warc", "logs"):
            (self.config.data_dir / sub).mkdir(parents=True, exist_ok=True)
        # asked now, before the pipeline and the archive make sure the run's row exists
        with Catalog(self.config.catalog_path) as catalog:
            self.resumed = catalog.get_run(self.config.run_id) is not None
        if self.jobdir is not None:
            self.jobdir.mkdir(parents=True, exist_ok=True)
            if forget_killed_queue(self.jobdir):
                logger.warning("the last crawl of run %s was killed: its queue cannot be "
                               "trusted, so the run walks its portals again (archived "
                               "documents are asked for conditionally)", self.config.run_id)
            _write_job_record(self.jobdir, self.config.run_id, closed=False)

    def spider_opened(self, spider) -> None:
        self.catalog = Catalog(self.config.catalog_path)
        run_id = self.config.run_id
        if self.resumed:
            self.catalog.resume_run(run_id)
        else:
            self.catalog.start_run([], settings=self.settings_summary, run_id=run_id)
        logger.info("run %s %s", run_id, "resumed" if self.resumed else "started")
        scopes = getattr(spider, "scopes", {})
        self.portals = list(scopes)
        for scope in scopes.values():
            p = scope.portal
            self.catalog.upsert_portal(p.name, p.title, p.real, p.start_urls, p.region)
        self.catalog.set_run_portals(run_id, self.portals)

    def spider_error(self, failure, response, spider=None) -> None:
        try:
            self.catalog.add_crawl_error(
                self.config.run_id, response.meta.get(M.PORTAL), response.url,
                f"spider error: {failure.type.__name__}: {failure.getErrorMessage()}",
                response.meta.get(M.REFERRER))
        except Exception:  # never let bookkeeping stop the crawl
            logger.exception("could not record a spider error for %s", response.url)

    def spider_closed(self, spider, reason: str) -> None:
        status = STATUS_OF_REASON.get(reason, reason)
        stats = dict(self.stats.get_stats()) if self.stats is not None else {}
        requests = int(stats.get("downloader/request_count") or 0)
        try:
            per_portal = self.catalog.record_portal_stats(self.config.run_id, self.portals)
            record_events(self.catalog.conn, self.config.run_id)  # reports changed or gone
            self.catalog.finish_run(self.config.run_id, status, {
                "requests": requests, "reason": reason, "resumed": self.resumed,
                "duration_s": round(time.monotonic() - self.started, 2),
                "portals": {r["portal"]: r for r in per_portal}, "scrapy": stats})
            if status == "finished" and self.jobdir is not None:
                shutil.rmtree(self.jobdir, ignore_errors=True)
            elif self.jobdir is not None and self.jobdir.exists():
                _write_job_record(self.jobdir, self.config.run_id, closed=True)
        finally:
            self.catalog.close()
            self.catalog = None
            self.lock.release()
