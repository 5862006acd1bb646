"""The archive downloader middleware: every response goes to WARC and the catalog first.

Enabled at priority 950 in DOWNLOADER_MIDDLEWARES, so its `process_response` sees each raw
response (3xx, 4xx, 5xx and bot challenges included, body still content-encoded) before the
redirect, retry, challenge and decompression middlewares do. For each one it writes a
request record and a response record (or a revisit record when the payload sha256 is
already archived, or a server-not-modified revisit for a 304 to a conditional request) and
a `captures` row, then puts the capture id in `request.meta[spiders.meta.CAPTURE_ID]` for
the spider and pipelines. Download errors become `crawl_errors` rows. An archive failure is
logged loudly and counted (`nianbao/archive_errors`); it never drops the response.

The middleware owns its catalog connection and WARC writer: opened when the spider opens,
closed when it closes (one spider crawls every portal of a run, so a run fills a few large
WARC files). Settings: `NIANBAO_DATA_DIR`, `NIANBAO_RUN_ID`, `NIANBAO_WARC_MAX_SIZE`.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from archive.catalog import Catalog, archive_exchange_row
from archive.warc_writer import WarcWriterFile
from crawler.challenge import rendered_status
from spiders import meta as M
from spiders.config import NianbaoConfig

logger = logging.getLogger(__name__)

_ARCHIVED_SCHEMES = ("http", "https")


class ArchiveMiddleware:
    """Writes each request/response exchange to WARC and the catalog.

    :param config: nianbao's settings (data directory, run id, WARC file size)
    :param stats: the crawler's stats collector, for nianbao/captures and friends
    """

    def __init__(self, config: NianbaoConfig, stats=None):
        if not config.run_id:
            raise NotConfigured("ArchiveMiddleware needs NIANBAO_RUN_ID")
        self.config = config
        self.run_id = config.run_id
        self.stats = stats
        self.catalog: Catalog | None = None
        self.writer: WarcWriterFile | None = None

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(NianbaoConfig.from_settings(crawler.settings), crawler.stats)
        crawler.signals.connect(mw.open, signal=signals.spider_opened)
        crawler.signals.connect(mw.close, signal=signals.spider_closed)
        return mw

    # -- lifecycle -----------------------------------------------------------------------
    def open(self, spider=None) -> None:
        if self.catalog is None:
            self.catalog = Catalog(self.config.catalog_path)
            self.catalog.ensure_run(self.run_id)
            self.writer = WarcWriterFile(self.config.warc_dir, self.run_id,
                                         self.config.warc_max_size)

    def close(self, spider=None) -> None:
        if self.catalog is not None:
            self.writer.close()
            self.catalog.close()
            self.catalog = self.writer = None

    # -- helpers -------------------------------------------------------------------------
    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    @staticmethod
    def _portal(request) -> str | None:
        return request.meta.get(M.PORTAL)

    @staticmethod
    def _referrer(request) -> str | None:
        value = request.headers.get("Referer")
        return value.decode("utf-8", "replace") if value else None

    # -- downloader middleware hooks -----------------------------------------------------
    def process_response(self, request, response):
        if urlsplit(request.url).scheme not in _ARCHIVED_SCHEMES:
            return response
        request.meta.pop(M.CAPTURE_ID, None)  # a redirect copies meta: drop the old id
        try:
            capture_id = self.archive(request, response)
        except Exception:
            self._inc("nianbao/archive_errors")
            logger.exception("ARCHIVE FAILED for %s (status %s): response passed on "
                             "unarchived", response.url, response.status)
        else:
            request.meta[M.CAPTURE_ID] = capture_id
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
        previous = request.meta.get(M.PREVIOUS_CAPTURE)
        status = response.status
        if request.meta.get(M.CHALLENGE) and request.meta.get("playwright"):
            # the browser reports its first navigation (the challenge); record where it ended
            status = rendered_status(request) or status
        capture = archive_exchange_row(
            self.catalog, self.writer, run_id=self.run_id, url=request.url,
            method=request.method, request_headers=request.headers,
            request_body=request.body or b"", status=status,
            response_headers=response.headers, body=response.body or b"",
            final_url=response.url, portal=self._portal(request),
            referrer=self._referrer(request), rendered=bool(request.meta.get("playwright")),
            protocol=getattr(response, "protocol", None),
            not_modified_of=(self.catalog.get_capture(previous)
                             if previous and response.status == 304 else None),
            challenge=request.meta.get(M.CHALLENGE))
        self._inc("nianbao/captures")
        if capture["record_type"] == "revisit":
            self._inc("nianbao/revisits")
        else:
            self._inc("nianbao/archived_bytes", capture["payload_size"])
        return capture["id"]
