"""crawler.middleware.ArchiveMiddleware, driven with fake requests and responses (no network)."""
from __future__ import annotations

import json
import logging
import sqlite3

import pytest
from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet.error import TimeoutError as TxTimeoutError

from archive.reader import read_capture
from crawler.middleware import ArchiveMiddleware
from spiders import meta as M

RUN = "20261123T084400Z-3f2a1c"
PAGE = "<html><body>2023年政府信息公开工作年度报告</body></html>".encode("utf-8")


class PortalSpider(Spider):
    name = "portal"
    portal_name = "demo-county"


@pytest.fixture
def crawler(data_dir):
    c = get_crawler(PortalSpider, {"NIANBAO_DATA_DIR": str(data_dir), "NIANBAO_RUN_ID": RUN})
    c.spider = c._create_spider()
    return c


@pytest.fixture
def mw(crawler):
    m = build_from_crawler(ArchiveMiddleware, crawler)
    crawler.signals.send_catch_log(signals.spider_opened, spider=crawler.spider)
    yield m
    crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider,
                                   reason="finished")


def captures(data_dir) -> list[dict]:
    conn = sqlite3.connect(data_dir / "archive.db")
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM captures ORDER BY id")]
    conn.close()
    return rows


def page_response(url, body=PAGE, status=200, headers=None, request=None):
    headers = headers or {"Content-Type": "text/html; charset=utf-8",
                          "Set-Cookie": ["a=1", "b=2"]}
    return HtmlResponse(url, status=status, headers=headers, body=body, request=request)


def test_not_configured_without_settings():
    crawler = get_crawler(PortalSpider, {})
    with pytest.raises(NotConfigured):
        build_from_crawler(ArchiveMiddleware, crawler)


def test_response_archived_and_returned_unchanged(mw, data_dir, crawler):
    url = "http://www.a.gov.cn/xxgk/ndbg/index.html?page=2"
    req = Request(url, headers={"Referer": "http://www.a.gov.cn/xxgk/",
                                "User-Agent": "nianbao-test"},
                  meta={M.PORTAL: "demo-town"})
    resp = page_response(url)
    out = mw.process_response(req, resp)
    assert out is resp
    [row] = captures(data_dir)
    assert req.meta[M.CAPTURE_ID] == row["id"]
    assert row["run_id"] == RUN and row["portal"] == "demo-town"
    assert (row["url"], row["final_url"], row["method"], row["status"]) == (url, url, "GET", 200)
    assert row["referrer"] == "http://www.a.gov.cn/xxgk/"
    assert row["content_type"] == "text/html; charset=utf-8"
    assert row["payload_size"] == len(PAGE) and len(row["payload_sha256"]) == 64
    assert row["record_type"] == "response" and row["rendered"] == 0
    assert row["warc_file"] == f"nianbao-{RUN}-00000.warc.gz"
    assert json.loads(row["headers"]).count(["Set-Cookie", "a=1"]) == 1
    assert ["Set-Cookie", "b=2"] in json.loads(row["headers"])
    cap = read_capture(data_dir, row["id"])
    assert cap.body == PAGE and cap.status == 200
    assert crawler.stats.get_value("nianbao/captures") == 1
    # The crawl run exists even if nobody called start_run.
    conn = sqlite3.connect(data_dir / "archive.db")
    assert conn.execute("SELECT status FROM crawl_runs WHERE id = ?", (RUN,)).fetchone() == (
        "running",)
    conn.close()


def test_request_record_keeps_query_and_headers(mw, data_dir):
    from warcio.archiveiterator import ArchiveIterator

    url = "http://www.a.gov.cn/search?q=%E5%B9%B4%E6%8A%A5&page=3"
    req = Request(url, headers={"Accept-Encoding": "identity", "Referer": "http://www.a.gov.cn/"})
    mw.process_response(req, page_response(url))
    mw.close()
    [row] = captures(data_dir)
    with open(data_dir / "warc" / row["warc_file"], "rb") as fh:
        reqs = [r for r in ArchiveIterator(fh) if r.rec_type == "request"]
    assert reqs[0].http_headers.protocol == "GET"
    assert reqs[0].http_headers.statusline == (
        "/search?q=%E5%B9%B4%E6%8A%A5&page=3 HTTP/1.1")
    assert reqs[0].http_headers.get_header("Referer") == "http://www.a.gov.cn/"
    assert reqs[0].http_headers.get_header("Accept-Encoding") == "identity"


@pytest.mark.parametrize("status", [301, 302, 404, 503])
def test_redirects_and_errors_archived_too(mw, data_dir, status):
    url = "http://www.a.gov.cn/old"
    resp = Response(url, status=status, headers={"Location": "/new"}, body=b"")
    assert mw.process_response(Request(url), resp) is resp
    [row] = captures(data_dir)
    assert row["status"] == status


def test_same_payload_becomes_revisit(mw, data_dir, crawler):
    a, b = "http://www.a.gov.cn/a.pdf", "http://www.a.gov.cn/b.pdf"
    body = b"%PDF-1.4 same bytes"
    mw.process_response(Request(a), Response(a, body=body))
    mw.process_response(Request(b), Response(b, body=body))
    first, second = captures(data_dir)
    assert second["record_type"] == "revisit" and second["refers_to"] == first["id"]
    assert read_capture(data_dir, second["id"]).body == body
    assert crawler.stats.get_value("nianbao/revisits") == 1


def test_rendered_and_challenge_recorded(mw, data_dir):
    url = "http://www.a.gov.cn/list.html"
    req = Request(url, meta={"playwright": True, M.PORTAL: "demo-county",
                             M.CHALLENGE: "js-cookie (HTTP 412)"})
    mw.process_response(req, page_response("http://www.a.gov.cn/list.html#after-js"))
    [row] = captures(data_dir)
    assert row["rendered"] == 1 and row["challenge"] == "js-cookie (HTTP 412)"
    assert row["portal"] == "demo-county"
    assert row["final_url"] == "http://www.a.gov.cn/list.html#after-js"


def test_redirect_meta_copy_gets_new_capture_id(mw, data_dir):
    url = "http://www.a.gov.cn/report.html"
    req = Request(url, meta={M.CAPTURE_ID: 999})  # copied from a redirected request
    mw.process_response(req, page_response(url))
    assert req.meta[M.CAPTURE_ID] == captures(data_dir)[0]["id"]


def test_archive_error_never_drops_response(mw, data_dir, crawler, caplog, monkeypatch):
    def broken(**kw):
        raise OSError("disk full")

    mw.open()
    monkeypatch.setattr(mw.writer, "write_exchange", broken)
    url = "http://www.a.gov.cn/x.html"
    req = Request(url, meta={M.CAPTURE_ID: 5})
    resp = page_response(url)
    with caplog.at_level(logging.ERROR):
        assert mw.process_response(req, resp) is resp
    assert "ARCHIVE FAILED" in caplog.text and "disk full" in caplog.text
    assert crawler.stats.get_value("nianbao/archive_errors") == 1
    assert M.CAPTURE_ID not in req.meta
    assert captures(data_dir) == []


def test_process_exception_records_crawl_error(mw, data_dir):
    req = Request("http://www.a.gov.cn/slow.html", meta={M.PORTAL: "demo-town", "retry_times": 2},
                  headers={"Referer": "http://www.a.gov.cn/list.html"})
    assert mw.process_exception(req, TxTimeoutError("took too long")) is None
    conn = sqlite3.connect(data_dir / "archive.db")
    row = conn.execute("SELECT run_id, portal, url, referrer, error FROM crawl_errors").fetchone()
    conn.close()
    assert row[:4] == (RUN, "demo-town", "http://www.a.gov.cn/slow.html",
                       "http://www.a.gov.cn/list.html")
    assert "TimeoutError" in row[4] and "took too long" in row[4] and "2 retries" in row[4]


def test_non_http_responses_pass_through(mw, data_dir):
    resp = Response("data:,hello", body=b"hello")
    assert mw.process_response(Request("data:,hello"), resp) is resp
    assert captures(data_dir) == []


def test_spider_closed_closes_files(mw, crawler, data_dir):
    mw.process_response(Request("http://www.a.gov.cn/"), page_response("http://www.a.gov.cn/"))
    crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider,
                                   reason="finished")
    assert mw.writer is None and mw.catalog is None


def test_at_priority_950_it_sees_raw_redirects_and_encoded_bodies(data_dir):
    """Through Scrapy's own middleware chain: the 302 is archived before RedirectMiddleware
    follows it, the gzip body before HttpCompressionMiddleware decodes it, and the request
    record carries the headers the earlier middlewares added."""
    import asyncio
    import gzip

    from scrapy.core.downloader.middleware import DownloaderMiddlewareManager

    crawler = get_crawler(PortalSpider, {
        "NIANBAO_DATA_DIR": str(data_dir), "NIANBAO_RUN_ID": RUN,
        "USER_AGENT": "nianbao-test-agent",
        "DOWNLOADER_MIDDLEWARES": {"crawler.middleware.ArchiveMiddleware": 950}})
    crawler.spider = crawler._create_spider()
    manager = DownloaderMiddlewareManager.from_crawler(crawler)
    encoded = gzip.compress(PAGE)

    async def download(request):  # stands in for the HTTP download handler
        if request.url.endswith("/old"):
            return Response(request.url, status=302, headers={"Location": "/new"},
                            request=request)
        return Response(request.url, status=200, body=encoded, request=request,
                        headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})

    async def crawl():
        redirect = await manager.download_async(download, Request("http://www.a.gov.cn/old"))
        assert isinstance(redirect, Request) and redirect.url == "http://www.a.gov.cn/new"
        return await manager.download_async(download, redirect)

    final = asyncio.run(crawl())
    assert final.body == PAGE  # decoded for the spider
    old, new = captures(data_dir)
    assert (old["url"], old["status"]) == ("http://www.a.gov.cn/old", 302)
    assert (new["url"], new["status"]) == ("http://www.a.gov.cn/new", 200)
    assert new["payload_size"] == len(encoded)  # stored as received
    assert final.meta[M.CAPTURE_ID] == new["id"]
    assert read_capture(data_dir, new["id"]).body == PAGE

    from warcio.archiveiterator import ArchiveIterator
    with open(data_dir / "warc" / new["warc_file"], "rb") as fh:
        req = [r for r in ArchiveIterator(fh) if r.rec_type == "request"][-1]
    assert req.http_headers.get_header("User-Agent") == "nianbao-test-agent"
    crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider, reason="done")


def test_each_middleware_owns_its_writer_and_closes_it(data_dir):
    """No module-level registry: a middleware opens its own writer and closes it."""
    import crawler.middleware as module

    settings = {"NIANBAO_DATA_DIR": str(data_dir), "NIANBAO_RUN_ID": RUN}
    first = build_from_crawler(ArchiveMiddleware, get_crawler(PortalSpider, settings))
    second = build_from_crawler(ArchiveMiddleware, get_crawler(PortalSpider, settings))
    first.open()
    second.open()
    assert first.writer is not second.writer
    first.process_response(Request("http://a.gov.cn/1"), page_response("http://a.gov.cn/1"))
    first.close()
    assert first.writer is None and first.catalog is None
    second.process_response(Request("http://b.gov.cn/2"),
                            page_response("http://b.gov.cn/2", body=b"other"))
    second.close()
    assert [read_capture(data_dir, r["id"]).body for r in captures(data_dir)] == [PAGE, b"other"]
    assert not [name for name, value in vars(module).items()
                if isinstance(value, (dict, list, set)) and not name.startswith("__")]


def test_304_to_a_conditional_request_is_an_unchanged_capture(mw, data_dir, crawler):
    url = "http://www.a.gov.cn/nb/2023.pdf"
    first_req = Request(url)
    mw.process_response(first_req, Response(url, status=200, body=b"%PDF-1.7 report",
                                            headers={"ETag": '"v1"'}, request=first_req))
    first = captures(data_dir)[0]
    req = Request(url, headers={"If-None-Match": '"v1"'},
                  meta={M.PREVIOUS_CAPTURE: first["id"]})
    mw.process_response(req, Response(url, status=304, headers={"ETag": '"v1"'}, request=req))
    second = captures(data_dir)[1]
    assert second["record_type"] == "unchanged" and second["status"] == 304
    assert second["refers_to"] == first["id"]
    assert second["payload_sha256"] == first["payload_sha256"]
    assert read_capture(data_dir, second["id"]).body == b"%PDF-1.7 report"
    assert crawler.stats.get_value("nianbao/revisits") == 1
    mw.close()  # the end of the crawl writes the run's unchanged ledger
    second = captures(data_dir)[1]
    assert second["warc_file"] is not None
    from archive.verify import verify_archive
    assert verify_archive(data_dir).ok, verify_archive(data_dir).describe()


# -- what the catalog knows, kept in the WARC files too (archive.reindex reads it) -----------
def warc_records(data_dir) -> list:
    """(type, WARC headers, JSON or payload) of every record, in file order."""
    from warcio.archiveiterator import ArchiveIterator

    out = []
    for path in sorted((data_dir / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for r in ArchiveIterator(fh):
                body = r.content_stream().read()
                if r.rec_type == "metadata":
                    body = json.loads(body)
                out.append((r.rec_type, r.rec_headers, body))
    return out


def test_each_capture_has_a_metadata_record_with_what_the_exchange_does_not_say(mw, data_dir):
    import ipaddress

    url = "http://www.a.gov.cn/xxgk/ndbg/2023.html"
    req = Request(url, headers={"Referer": "http://www.a.gov.cn/xxgk/ndbg/"},
                  meta={M.PORTAL: "demo-town", M.KIND: M.PAGE, M.LINK_TEXT: "2023年年度报告",
                        M.REFERRER: "http://www.a.gov.cn/xxgk/ndbg/", M.DEPTH: 0})
    resp = HtmlResponse(url, body=PAGE, headers={"Content-Type": "text/html"}, request=req,
                        ip_address=ipaddress.ip_address("10.1.2.3"))
    mw.process_response(req, resp)
    [row] = captures(data_dir)
    records = warc_records(data_dir)
    [response] = [h for t, h, _ in records if t == "response"]
    assert response.get_header("WARC-IP-Address") == "10.1.2.3"
    [meta] = [(h, b) for t, h, b in records if t == "metadata" and b["nianbao"] == "capture"]
    headers, fields = meta
    assert headers.get_header("WARC-Refers-To") == row["warc_record_id"]
    assert headers.get_header("WARC-Concurrent-To") == row["warc_record_id"]
    assert headers.get_header("Content-Type") == "application/json"
    assert fields["capture_id"] == row["id"] and fields["run_id"] == RUN
    assert fields["portal"] == "demo-town" and fields["kind"] == "page"
    assert fields["link_text"] == "2023年年度报告" and fields["rendered"] is False
    assert fields["found_on"] == fields["referrer"] == "http://www.a.gov.cn/xxgk/ndbg/"
    assert "headers" not in fields  # the record's own headers say them


def test_run_record_at_open_and_close(crawler, data_dir):
    m = build_from_crawler(ArchiveMiddleware, crawler)
    crawler.signals.send_catch_log(signals.spider_opened, spider=crawler.spider)
    crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider,
                                   reason="finished")
    runs = [(h, b) for t, h, b in warc_records(data_dir)
            if t == "metadata" and b["nianbao"] == "run"]
    assert len(runs) == 2 and m.writer is None
    for headers, fields in runs:
        assert headers.get_header("WARC-Target-URI") == f"urn:nianbao:run:{RUN}"
        assert fields["run"]["id"] == RUN and fields["run"]["status"] == "running"


def test_document_and_error_records_follow_the_pipeline(mw, data_dir, crawler):
    from archive.catalog import Catalog
    from spiders.items import CrawlErrorItem, DocumentItem

    url = "http://www.a.gov.cn/nb/2023.pdf"
    req = Request(url, meta={M.PORTAL: "demo-town", M.KIND: M.ATTACHMENT})
    mw.process_response(req, Response(url, body=b"%PDF-1.7 report", request=req))
    capture_id = req.meta[M.CAPTURE_ID]
    with Catalog(data_dir / "archive.db") as cat:  # what DocumentPipeline does
        cat.upsert_document("demo-town", url, "2023年报", "attachment", None, RUN, capture_id)
        cat.add_crawl_error(RUN, "demo-town", "http://www.a.gov.cn/gone.html", "HTTP 404")
    item = DocumentItem(url=url, title="2023年报", portal="demo-town", referrer=None,
                        kind="attachment", capture_id=capture_id)
    crawler.signals.send_catch_log(signals.item_scraped, item=item, response=None,
                                   spider=crawler.spider)
    crawler.signals.send_catch_log(
        signals.item_scraped, item=CrawlErrorItem(url="http://www.a.gov.cn/gone.html",
                                                  portal="demo-town", error="HTTP 404"),
        response=None, spider=crawler.spider)
    records = [(h, b) for t, h, b in warc_records(data_dir) if t == "metadata"]
    [(dh, doc)] = [(h, b) for h, b in records if b["nianbao"] == "document"]
    [row] = captures(data_dir)
    assert dh.get_header("WARC-Refers-To") == row["warc_record_id"]
    assert doc["document"]["url"] == url and doc["document"]["kind"] == "attachment"
    assert doc["document_capture"]["capture_id"] == capture_id
    assert doc["document_capture"]["change"] == "new"
    [(_, err)] = [(h, b) for h, b in records if b["nianbao"] == "crawl-error"]
    assert err["crawl_error"]["error"] == "HTTP 404"
    # written once, not again at close
    crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider,
                                   reason="finished")
    assert len([b for t, _, b in warc_records(data_dir)
                if t == "metadata" and b["nianbao"] == "crawl-error"]) == 1


def test_download_exception_is_kept_as_a_crawl_error_record(mw, data_dir):
    req = Request("http://www.a.gov.cn/slow.html", meta={M.PORTAL: "demo-town"})
    mw.process_exception(req, TxTimeoutError("took too long"))
    [err] = [b for t, _, b in warc_records(data_dir)
             if t == "metadata" and b["nianbao"] == "crawl-error"]
    assert err["crawl_error"]["url"] == "http://www.a.gov.cn/slow.html"
    assert "TimeoutError" in err["crawl_error"]["error"]


# -- rendered pages: the server's bytes, and the DOM as a conversion record -----------------
class FakeFrame:
    parent_frame = None


class FakeRequest:
    def __init__(self, navigation=True, frame=None):
        self._navigation = navigation
        self.frame = frame or FakeFrame()

    def is_navigation_request(self):
        return self._navigation


class FakePlaywrightResponse:
    def __init__(self, url, status, body=b"", headers=(), navigation=True, frame=None,
                 fail=None):
        self.url, self.status, self.status_text = url, status, "OK" if status == 200 else ""
        self.request = FakeRequest(navigation, frame)
        self._body, self._headers, self._fail = body, headers, fail

    async def body(self):
        if self._fail:
            raise self._fail
        return self._body

    async def headers_array(self):
        return [{"name": n, "value": v} for n, v in self._headers]

    async def server_addr(self):
        return {"ipAddress": "127.0.0.1", "port": 80}


def test_navigation_recorder_keeps_the_last_main_frame_document():
    import asyncio

    from crawler.middleware import NavigationRecorder

    class Child:
        parent_frame = FakeFrame()

    rec = NavigationRecorder()
    rec.on_response(FakePlaywrightResponse("http://a.gov.cn/", 412, b"challenge"))
    rec.on_response(FakePlaywrightResponse("http://a.gov.cn/", 302))
    rec.on_response(FakePlaywrightResponse("http://a.gov.cn/", 200, b"real page",
                                           [("Content-Type", "text/html"),
                                            ("Content-Encoding", "gzip")]))
    rec.on_response(FakePlaywrightResponse("http://a.gov.cn/app.js", 200, navigation=False))
    rec.on_response(FakePlaywrightResponse("http://a.gov.cn/frame", 200, frame=Child()))
    asyncio.run(rec.keep_original(page=None))
    assert rec.original.body == b"real page" and rec.original.status == 200
    assert rec.original.headers == [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    assert rec.original.ip_address == "127.0.0.1" and rec.problem is None

    broken = NavigationRecorder()
    broken.on_response(FakePlaywrightResponse("http://a.gov.cn/", 200,
                                              fail=RuntimeError("body evicted")))
    asyncio.run(broken.keep_original(page=None))
    assert broken.original is None and "body evicted" in broken.problem


def test_browser_request_gets_a_recorder_and_its_meta_back(mw):
    from scrapy_playwright.page import PageMethod

    wait = PageMethod("wait_for_load_state", "networkidle")
    methods = [wait]
    req = Request("http://a.gov.cn/list", meta={"playwright": True,
                                                "playwright_page_methods": methods})
    assert mw.process_request(req) is None
    installed = req.meta["playwright_page_methods"]
    assert installed[0] is wait and len(installed) == 2 and callable(installed[1].method)
    assert callable(req.meta["playwright_page_event_handlers"]["response"])
    assert methods == [wait]  # the request's own list is not changed
    mw.process_response(req, page_response("http://a.gov.cn/list", request=req))
    assert req.meta["playwright_page_methods"] is methods
    assert "playwright_page_event_handlers" not in req.meta
    assert not [k for k in req.meta if "recorder" in k]
    plain = Request("http://a.gov.cn/plain")
    mw.process_request(plain)
    assert "playwright_page_methods" not in plain.meta


def test_rendered_page_keeps_server_bytes_and_dom_as_conversion(mw, data_dir):
    from crawler.middleware import ServerResponse

    url = "http://www.a.gov.cn/jslist/"
    server = b"<html><body><div id=list></div><script src=list.js></script></body></html>"
    dom = "<html><body><div id=list><a href=r.html>2023年报</a></div></body></html>".encode()
    req = Request(url, meta={"playwright": True, M.PORTAL: "demo-js", M.KIND: M.LIST})
    mw.process_request(req)
    recorder = next(v for k, v in req.meta.items() if "recorder" in k)
    recorder.original = ServerResponse(url, 200, "OK", [("Content-Type", "text/html"),
                                                        ("Content-Encoding", "gzip")],
                                       server, "127.0.0.1")
    mw.process_response(req, page_response(url, body=dom, request=req))
    [row] = captures(data_dir)
    assert row["rendered"] == 1 and row["payload_size"] == len(server)
    assert ["Content-Encoding", "gzip"] in json.loads(row["headers"])
    kinds = [(t, h, b) for t, h, b in warc_records(data_dir) if t != "warcinfo"]
    types = [t for t, _, _ in kinds]
    i = types.index("response")
    assert types[i:i + 3] == ["response", "conversion", "metadata"]
    response, conversion = kinds[i][1], kinds[i + 1][1]
    assert kinds[i][2] == server and kinds[i + 1][2] == dom
    assert response.get_header("WARC-IP-Address") == "127.0.0.1"
    assert conversion.get_header("WARC-Refers-To") == response.get_header("WARC-Record-ID")
    assert conversion.get_header("Content-Type") == "text/html; charset=utf-8"
    assert kinds[i + 2][2]["body"] == "server"
    assert read_capture(data_dir, row["id"]).body == dom
    assert read_capture(data_dir, row["id"], server_bytes=True).body == server


def test_rendered_page_without_server_bytes_says_so(mw, data_dir):
    url = "http://www.a.gov.cn/jslist/"
    req = Request(url, meta={"playwright": True})
    mw.process_request(req)  # the browser never called the recorder
    mw.process_response(req, page_response(url, request=req))
    [row] = captures(data_dir)
    assert read_capture(data_dir, row["id"]).body == PAGE  # the DOM, as before
    [fields] = [b for t, _, b in warc_records(data_dir)
                if t == "metadata" and b["nianbao"] == "capture"]
    assert fields["body"] == "rendered-dom"
    assert fields["original_missing"] == "the page's last method never ran"
    assert "conversion" not in [t for t, _, _ in warc_records(data_dir)]


def test_an_unchanged_document_is_a_ledger_line_not_a_record(data_dir):
    """A re-crawl that finds a report unchanged writes its document record into the run's
    unchanged ledger, beside the capture's entry, not as a record of its own."""
    from archive.catalog import Catalog
    from spiders.items import DocumentItem

    url = "http://www.a.gov.cn/nb/2023.pdf"
    for run in (RUN, "20261124T084400Z-4b3c2d"):
        crawler = get_crawler(PortalSpider, {"NIANBAO_DATA_DIR": str(data_dir),
                                             "NIANBAO_RUN_ID": run})
        crawler.spider = crawler._create_spider()
        m = build_from_crawler(ArchiveMiddleware, crawler)
        crawler.signals.send_catch_log(signals.spider_opened, spider=crawler.spider)
        req = Request(url, meta={M.PORTAL: "demo-town", M.KIND: M.ATTACHMENT})
        m.process_response(req, Response(url, body=b"%PDF-1.7 report", request=req))
        with Catalog(data_dir / "archive.db") as cat:  # what DocumentPipeline does
            cat.upsert_document("demo-town", url, "2023年报", "attachment", None, run,
                                req.meta[M.CAPTURE_ID])
        crawler.signals.send_catch_log(
            signals.item_scraped, item=DocumentItem(
                url=url, title="2023年报", portal="demo-town", referrer=None,
                kind="attachment", capture_id=req.meta[M.CAPTURE_ID]),
            response=None, spider=crawler.spider)
        crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider,
                                       reason="finished")
    metadata = [b for t, _, b in warc_records(data_dir) if t == "metadata"]
    [alone] = [b for b in metadata if b["nianbao"] == "document"]
    assert alone["document_capture"]["change"] == "new"
    [ledger] = [b for b in metadata if b["nianbao"] == "unchanged"]
    [entry] = ledger["captures"]
    [doc] = ledger["documents"]
    assert doc["document_capture"]["change"] == "unchanged"
    assert doc["document_capture"]["capture_id"] == entry["id"]
    assert doc["document"]["latest_capture_id"] == entry["id"]
