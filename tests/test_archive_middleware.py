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


def test_304_to_a_conditional_request_is_a_server_not_modified_revisit(mw, data_dir):
    from warcio.archiveiterator import ArchiveIterator

    url = "http://www.a.gov.cn/nb/2023.pdf"
    first_req = Request(url)
    mw.process_response(first_req, Response(url, status=200, body=b"%PDF-1.7 report",
                                            headers={"ETag": '"v1"'}, request=first_req))
    first = captures(data_dir)[0]
    req = Request(url, headers={"If-None-Match": '"v1"'},
                  meta={M.PREVIOUS_CAPTURE: first["id"]})
    mw.process_response(req, Response(url, status=304, headers={"ETag": '"v1"'}, request=req))
    second = captures(data_dir)[1]
    assert second["record_type"] == "revisit" and second["status"] == 304
    assert second["refers_to"] == first["id"]
    assert second["payload_sha256"] == first["payload_sha256"]
    assert read_capture(data_dir, second["id"]).body == b"%PDF-1.7 report"
    with open(data_dir / "warc" / second["warc_file"], "rb") as fh:
        fh.seek(second["warc_offset"])
        record = next(iter(ArchiveIterator(fh)))
    assert record.rec_headers.get_header("WARC-Profile").endswith("/revisit/server-not-modified")
