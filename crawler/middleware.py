"""The archive downloader middleware: every response goes to WARC and the catalog first.

Enabled at priority 950 in DOWNLOADER_MIDDLEWARES, so its `process_response` sees each raw
response (3xx and 5xx included, body still content-encoded) before the redirect, retry and
decompression middlewares do. For each one it writes a request record and a response record
(or a revisit record when the payload sha256 is already archived) and a `captures` row, then
puts the capture id in `request.meta["capture_id"]` for the spider and pipelines. Download
errors become `crawl_errors` rows. An archive failure is logged loudly and counted
(`nianbao/archive_errors`); it never drops the response.

Settings: NIANBAO_DATA_DIR, NIANBAO_RUN_ID (both required, else the middleware is off),
NIANBAO_WARC_MAX_SIZE (bytes, default 1 GB).
"""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from archive.catalog import Catalog, archive_exchange
from archive.warc_writer import DEFAULT_MAX_SIZE, WarcWriterFile

logger = logging.getLogger(__name__)

_ARCHIVED_SCHEMES = ("http", "https")


def _portal_name(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("name")
    return getattr(value, "name", None)


# One catalog connection and WARC writer per (data dir, run) in this process, shared by the
# crawlers of a run: crawl.py starts one crawler per portal, and a run should fill a few
# large WARC files, not one small file per portal. Scrapy calls us from the reactor thread.
_shared: dict[tuple[str, str], list] = {}


def _acquire(data_dir: Path, run_id: str, max_size: int) -> tuple[Catalog, WarcWriterFile]:
    key = (str(data_dir.resolve()), run_id)
    entry = _shared.get(key)
    if entry is None:
        catalog = Catalog(data_dir / "archive.db")
        catalog.ensure_run(run_id)
        entry = _shared[key] = [catalog, WarcWriterFile(data_dir / "warc", run_id, max_size), 0]
    entry[2] += 1
    return entry[0], entry[1]


def _release(data_dir: Path, run_id: str) -> None:
    key = (str(data_dir.resolve()), run_id)
    entry = _shared[key]
    entry[2] -= 1
    if entry[2] == 0:
        del _shared[key]
        entry[1].close()
        entry[0].close()


class ArchiveMiddleware:
    """Writes each request/response exchange to WARC and the catalog.

    :param data_dir: the archive directory (`warc/` and `archive.db` inside)
    :param run_id: the crawl run these captures belong to
    :param max_warc_size: rotate WARC files at this size
    """

    def __init__(self, data_dir: Path | str, run_id: str, max_warc_size: int = DEFAULT_MAX_SIZE,
                 crawler=None):
        self.data_dir = Path(data_dir)
        self.run_id = run_id
        self.max_warc_size = max_warc_size
        self.crawler = crawler
        self.catalog: Catalog | None = None
        self.writer: WarcWriterFile | None = None

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        data_dir, run_id = s.get("NIANBAO_DATA_DIR"), s.get("NIANBAO_RUN_ID")
        if not data_dir or not run_id:
            raise NotConfigured("ArchiveMiddleware needs NIANBAO_DATA_DIR and NIANBAO_RUN_ID")
        mw = cls(data_dir, run_id,
                 max_warc_size=s.getint("NIANBAO_WARC_MAX_SIZE", DEFAULT_MAX_SIZE),
                 crawler=crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> None:
        if self.catalog is None:
            self.catalog, self.writer = _acquire(self.data_dir, self.run_id, self.max_warc_size)

    def close(self) -> None:
        if self.catalog is not None:
            _release(self.data_dir, self.run_id)
            self.catalog = self.writer = None

    def spider_opened(self, spider=None) -> None:
        self.open()

    def spider_closed(self, spider=None) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------------
    def _inc(self, key: str, count: int = 1) -> None:
        stats = getattr(self.crawler, "stats", None)
        if stats is not None:
            stats.inc_value(key, count)

    def _portal(self, request) -> str | None:
        portal = request.meta.get("portal")
        if portal is None:
            spider = getattr(self.crawler, "spider", None)
            portal = getattr(spider, "portal_name", None) or getattr(spider, "portal", None)
        return _portal_name(portal)

    @staticmethod
    def _referrer(request) -> str | None:
        value = request.headers.get("Referer")
        return value.decode("utf-8", "replace") if value else None

    # -- downloader middleware hooks -----------------------------------------------------
    def process_response(self, request, response):
        if urlsplit(request.url).scheme not in _ARCHIVED_SCHEMES:
            return response
        request.meta.pop("capture_id", None)  # a redirect copies meta: drop the old id
        try:
            capture_id = self.archive(request, response)
        except Exception:
            self._inc("nianbao/archive_errors")
            logger.exception("ARCHIVE FAILED for %s (status %s): response passed on "
                             "unarchived", response.url, response.status)
        else:
            request.meta["capture_id"] = capture_id
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, IgnoreRequest):
            # A request refused by policy (robots.txt, an offsite filter) is not a crawl error.
            self._inc("nianbao/ignored_requests")
            return None
        try:
            self.open()
            retries = request.meta.get("retry_times")
            error = f"{type(exception).__name__}: {exception}"
            if retries:
                error += f" (after {retries} retries)"
            self.catalog.add_crawl_error(self.run_id, self._portal(request), request.url,
                                         error, self._referrer(request))
        except Exception:
            self._inc("nianbao/archive_errors")
            logger.exception("ARCHIVE FAILED to record the error for %s", request.url)
        return None

    def archive(self, request, response) -> int:
        """Write one exchange to WARC and the catalog; return the capture id."""
        self.open()
        capture_id = archive_exchange(
            self.catalog, self.writer, run_id=self.run_id, url=request.url,
            method=request.method, request_headers=request.headers,
            request_body=request.body or b"", status=response.status,
            response_headers=response.headers, body=response.body or b"",
            final_url=response.url, portal=self._portal(request),
            referrer=self._referrer(request), rendered=bool(request.meta.get("playwright")),
            protocol=getattr(response, "protocol", None))
        capture = self.catalog.get_capture(capture_id)
        self._inc("nianbao/captures")
        if capture["record_type"] == "revisit":
            self._inc("nianbao/revisits")
        else:
            self._inc("nianbao/archived_bytes", capture["payload_size"])
        return capture_id
