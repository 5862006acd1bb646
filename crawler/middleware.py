"""The archive downloader middleware: every response goes to WARC and the catalog first.

Enabled at priority 950 in DOWNLOADER_MIDDLEWARES, so its `process_response` sees each raw
response (3xx, 4xx, 5xx and bot challenges included, body still content-encoded) before the
redirect, retry, challenge and decompression middlewares do. For each one it writes a
request record and a response record (or a revisit record when the payload sha256 is
already archived, or a server-not-modified revisit for a 304 to a conditional request) and
a `captures` row, then puts the capture id in `request.meta[spiders.meta.CAPTURE_ID]` for
the spider and pipelines. Download errors become `crawl_errors` rows. An archive failure is
logged loudly and counted (`nianbao/archive_errors`); it never drops the response.

The catalog is an index, never the only copy: after each capture's row the middleware writes
a `capture` metadata record (portal, run, found-on page, link text, kind, rendered, ...), and
it writes the run's `run` record when the spider opens and closes, a `document` record once
the pipeline has stored a report candidate (signal item_scraped), and a `crawl-error` record
per crawl_errors row; archive.reindex rebuilds the catalog from those and the exchanges.

A page the browser renders (meta `playwright`) keeps the server's own bytes: before it is
downloaded the middleware adds a page event handler that notes the page's main-frame
navigation responses and a last page method that reads the body of the last one while the
page is open (`NavigationRecorder`). The response record then holds those bytes, status and
headers, and the rendered DOM (what the spider gets) follows as a `conversion` record. When
no body could be read (the browser gave none) the response record holds the DOM, as
before, and the capture record says so (`"body": "rendered-dom"`, `"original_missing"`).

The middleware owns its catalog connection and WARC writer: opened when the spider opens,
closed when it closes (one spider crawls every portal of a run, so a run fills a few large
WARC files). Settings: `NIANBAO_DATA_DIR`, `NIANBAO_RUN_ID`, `NIANBAO_WARC_MAX_SIZE`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import TextResponse

from archive.catalog import (RECORD_ERROR, RECORD_FORMAT, UNCHANGED, Catalog, archive_exchange_row,
                             flush_unchanged)
from archive.repair import repair_warcs
from archive.warc_writer import WarcWriterFile
from crawler.challenge import rendered_status
from spiders import meta as M
from spiders.config import NianbaoConfig
from spiders.items import CrawlErrorItem, DocumentItem

logger = logging.getLogger(__name__)

_ARCHIVED_SCHEMES = ("http", "https")
_RECORDER = "nianbao_navigation_recorder"  # meta key, only while the browser has the request
# the request meta the capture record keeps, under these names
_META_FIELDS = (("kind", M.KIND), ("found_on", M.REFERRER), ("link_text", M.LINK_TEXT),
                ("depth", M.DEPTH), ("list_root", M.LIST_ROOT), ("family", M.FAMILY),
                ("previous_capture", M.PREVIOUS_CAPTURE))


@dataclass
class ServerResponse:
    """The server's own answer to a rendered page's last navigation, as the browser got it
    (body content-decoded by the browser)."""
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    ip_address: str | None = None


@dataclass
class NavigationRecorder:
    """Keeps the server's bytes of a rendered page: `on_response` is a Playwright page
    "response" handler, `keep_original` a page method run after the page's own ones (the
    page is still open then; scrapy-playwright closes it before the response reaches us)."""
    saved_methods: object = None    # the request's playwright_page_methods before ours
    saved_handlers: object = None   # ... and its playwright_page_event_handlers
    navigations: list = field(default_factory=list)
    original: ServerResponse | None = None
    problem: str | None = None

    def on_response(self, response) -> None:
        try:
            request = response.request
            if request.is_navigation_request() and request.frame.parent_frame is None:
                self.navigations.append(response)
        except Exception:  # a worker's response has no frame: not the page's
            pass

    async def keep_original(self, page) -> None:
        for response in reversed(self.navigations):
            if 300 <= response.status < 400:  # a redirect has no body; the page is later
                continue
            try:
                body = await response.body()
                headers = [(h["name"], h["value"]) for h in await response.headers_array()
                           if not h["name"].startswith(":")]
                addr = await response.server_addr()
            except Exception as e:  # evicted, a download, the page went away
                self.problem = f"{type(e).__name__}: {e}"
                return
            self.original = ServerResponse(
                response.url, response.status, response.status_text or "", headers, body,
                (addr or {}).get("ipAddress"))
            return
        self.problem = "no main-frame navigation response seen"


def _page_method(callable_):
    from scrapy_playwright.page import PageMethod

    return PageMethod(callable_)


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
        self._errors_written = 0  # crawl_errors rows of this run already in the WARC

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(NianbaoConfig.from_settings(crawler.settings), crawler.stats)
        # connected after RunExtension's and the pipeline's (built first): the catalog rows
        # these record are written by the time the handlers run
        crawler.signals.connect(mw.open, signal=signals.spider_opened)
        crawler.signals.connect(mw.close, signal=signals.spider_closed)
        crawler.signals.connect(mw.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(mw.spider_error, signal=signals.spider_error)
        return mw

    # -- lifecycle -----------------------------------------------------------------------
    def open(self, spider=None) -> None:
        if self.catalog is None:
            repaired = repair_warcs(self.config.data_dir)  # a killed crawl's torn tail
            if repaired.repaired:
                logger.warning("ARCHIVE REPAIRED after a crash: %s", repaired.describe())
            self.catalog = Catalog(self.config.catalog_path)
            self.catalog.ensure_run(self.run_id)
            if repaired.repaired:
                self.catalog.add_crawl_error(self.run_id, None, "urn:nianbao:repair",
                                             "archive repaired: " + repaired.describe(), None)
            self.writer = WarcWriterFile(self.config.warc_dir, self.run_id,
                                         self.config.warc_max_size)
            if spider is not None:  # the run as RunExtension started it
                self._guard(self._write_run, "the run record")

    def close(self, spider=None, reason=None) -> None:
        if self.catalog is not None:
            self._guard(lambda: flush_unchanged(self.catalog, self.writer), "the unchanged ledger")
            self._guard(self._write_errors, "crawl errors")
            self._guard(self._write_run, "the run record")  # as RunExtension closed it
            self.writer.close()
            self.catalog.close()
            self.catalog = self.writer = None

    def _guard(self, write, what: str) -> None:
        """Archive bookkeeping never stops the crawl: a failure is logged and counted."""
        try:
            write()
        except Exception:
            self._inc("nianbao/archive_errors")
            logger.exception("ARCHIVE FAILED to write %s", what)

    # -- what the catalog knows besides the exchanges --------------------------------------
    def _write_run(self) -> None:
        self.writer.write_metadata(f"urn:nianbao:run:{self.run_id}",
                                   self.catalog.run_record(self.run_id))

    def _write_errors(self) -> None:
        for row in self.catalog.crawl_errors_after(self.run_id, self._errors_written):
            self.writer.write_metadata(row["url"], {"nianbao": RECORD_ERROR,
                                                    "format": RECORD_FORMAT, "crawl_error": row})
            self._errors_written = row["id"]

    def _write_document(self, item: DocumentItem) -> None:
        record = self.catalog.document_record(item.url, self.run_id)
        if record is None:  # no pipeline stored it
            return
        link = record["document_capture"] or {}
        if link.get("change") == "unchanged":  # a line in the run's ledger, not a record
            self.writer.note_unchanged_document(record)
            if self.writer.ledger_due:
                flush_unchanged(self.catalog, self.writer)
            return
        capture = (self.catalog.get_capture(link["capture_id"])
                   if link.get("capture_id") is not None else None)
        self.writer.write_metadata(item.url, record,
                                   refers_to=capture["warc_record_id"] if capture else None)

    def item_scraped(self, item, response=None, spider=None) -> None:
        if self.catalog is None:
            return
        if isinstance(item, DocumentItem):
            self._guard(lambda: self._write_document(item), f"the document record of {item.url}")
        elif isinstance(item, CrawlErrorItem):
            self._guard(self._write_errors, "crawl errors")

    def spider_error(self, failure=None, response=None, spider=None) -> None:
        if self.catalog is not None:
            self._guard(self._write_errors, "crawl errors")

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
    def process_request(self, request):
        """A request for the browser: have the server's own bytes kept (see the docstring).
        Runs last before the download handler, so nothing queues the request with these
        (unpicklable) objects in its meta; they are taken out again with the response."""
        meta = request.meta
        if not meta.get("playwright") or _RECORDER in meta:
            return None
        handlers = meta.get("playwright_page_event_handlers")
        if handlers and "response" in handlers:
            return None  # someone else listens: leave the page alone
        methods = meta.get("playwright_page_methods")
        recorder = NavigationRecorder(saved_methods=methods, saved_handlers=handlers)
        keep = _page_method(recorder.keep_original)
        if isinstance(methods, dict):
            meta["playwright_page_methods"] = {**methods, _RECORDER: keep}
        else:
            meta["playwright_page_methods"] = [*(methods or ()), keep]
        meta["playwright_page_event_handlers"] = {**(handlers or {}),
                                                  "response": recorder.on_response}
        meta[_RECORDER] = recorder
        return None

    @staticmethod
    def _take_recorder(request) -> NavigationRecorder | None:
        """Put the request's meta back as it was before `process_request`."""
        meta = request.meta
        recorder = meta.pop(_RECORDER, None)
        if recorder is not None:
            for key, value in (("playwright_page_methods", recorder.saved_methods),
                               ("playwright_page_event_handlers", recorder.saved_handlers)):
                if value is None:
                    meta.pop(key, None)
                else:
                    meta[key] = value
        return recorder

    def process_response(self, request, response):
        recorder = self._take_recorder(request)
        if urlsplit(request.url).scheme not in _ARCHIVED_SCHEMES:
            return response
        request.meta.pop(M.CAPTURE_ID, None)  # a redirect copies meta: drop the old id
        try:
            capture_id = self.archive(request, response, recorder)
        except Exception:
            self._inc("nianbao/archive_errors")
            logger.exception("ARCHIVE FAILED for %s (status %s): response passed on "
                             "unarchived", response.url, response.status)
        else:
            request.meta[M.CAPTURE_ID] = capture_id
        return response

    def process_exception(self, request, exception):
        self._take_recorder(request)
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
            self._write_errors()
        except Exception:
            self._inc("nianbao/archive_errors")
            logger.exception("ARCHIVE FAILED to record the error for %s", request.url)
        return None

    def archive(self, request, response, recorder: NavigationRecorder | None = None) -> int:
        """Write one exchange to WARC and the catalog; return the capture id."""
        self.open()
        meta = request.meta
        previous = meta.get(M.PREVIOUS_CAPTURE)
        rendered = bool(meta.get("playwright"))
        fields = {name: meta[key] for name, key in _META_FIELDS if meta.get(key) is not None}
        exchange = dict(status=response.status, response_headers=response.headers,
                        body=response.body or b"", final_url=response.url,
                        ip_address=getattr(response, "ip_address", None))
        if rendered and "playwright_suggested_filename" in meta:
            fields["body"] = "download"  # the browser downloaded a file: its bytes as served
        elif rendered:
            original = recorder.original if recorder is not None else None
            if original is not None:
                fields["body"] = "server"
                exchange.update(
                    status=original.status, response_headers=original.headers,
                    body=original.body, final_url=original.url, ip_address=original.ip_address,
                    rendered_dom=response.body or b"", dom_url=response.url,
                    dom_content_type="text/html; charset=" + (
                        response.encoding if isinstance(response, TextResponse) else "utf-8"))
            else:
                fields["body"] = "rendered-dom"
                fields["original_missing"] = (
                    (recorder.problem or "the page's last method never ran")
                    if recorder is not None else "no navigation recorder on the request")
                if meta.get(M.CHALLENGE):
                    # the browser reports its first navigation (the challenge); record
                    # where it ended
                    exchange["status"] = rendered_status(request) or response.status
        if exchange["ip_address"] is not None:
            exchange["ip_address"] = str(exchange["ip_address"])
        capture = archive_exchange_row(
            self.catalog, self.writer, run_id=self.run_id, url=request.url,
            method=request.method, request_headers=request.headers,
            request_body=request.body or b"", portal=self._portal(request),
            referrer=self._referrer(request), rendered=rendered,
            protocol=getattr(response, "protocol", None),
            not_modified_of=(self.catalog.get_capture(previous)
                             if previous and response.status == 304 else None),
            challenge=meta.get(M.CHALLENGE), metadata=fields, **exchange)
        self._inc("nianbao/captures")
        if capture["record_type"] in ("revisit", UNCHANGED):
            self._inc("nianbao/revisits")
        else:
            self._inc("nianbao/archived_bytes", capture["payload_size"])
        return capture["id"]
