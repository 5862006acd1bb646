"""The generic portal spider on canned responses: what it follows, what it yields, its caps."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from spiders.portals import Portal
from spiders.items import CrawlErrorItem, DocumentItem
from spiders.portal_spider import PortalSpider

SITES = Path(__file__).resolve().parent / "farm" / "sites"
BASE = "http://farm.test"
COL = f"{BASE}/county/zfxxgknb/"


def make_spider(cli_render="auto", **portal_kw) -> PortalSpider:
    """A spider for a portal entry (its render "never" unless given) and a command-line render."""
    kw = dict(name="t", start_urls=[COL], allow=[COL], render="never", max_pages=10)
    kw.update(portal_kw)
    crawler = get_crawler(PortalSpider)
    return PortalSpider.from_crawler(crawler, portal=Portal(**kw), render=cli_render)


def response(url: str, body: bytes, meta: dict | None = None, cls=HtmlResponse):
    return cls(url=url, body=body, request=scrapy.Request(url, meta=meta or {}))


def site_page(path: str) -> bytes:
    return (SITES / path).read_bytes()


def test_start_yields_the_start_urls():
    spider = make_spider()

    async def collect():
        return [r async for r in spider.start()]

    (req,) = asyncio.run(collect())
    assert req.url == COL and req.meta["portal"] == "t" and req.callback == spider.parse_list
    assert "playwright" not in req.meta


def test_list_page_yields_reports_and_computed_pages_within_allow():
    spider = make_spider()
    spider.list_seen.add(COL + "index_1.html")  # as if already requested
    out = list(spider.parse_list(response(COL + "index_1.html", site_page("county/zfxxgknb/index_1.html"))))
    urls = {r.url: r for r in out}
    assert COL + "202501/t20250120_200001.html" in urls
    assert COL + "202001/t20200110_999999.html" in urls
    assert COL + "draft/t20240101_000001.html" in urls  # robots.txt, not the spider, refuses it
    assert COL + "index.html" in urls  # from createPageHTML(2, 1, ...)
    report = urls[COL + "202501/t20250120_200001.html"]
    assert report.callback == spider.parse_report
    assert report.meta["link_text"] == "淮安市人民政府2024年政府信息公开工作年度报告"
    assert report.headers["Referer"] == (COL + "index_1.html").encode()
    assert all(u.startswith(COL) for u in urls)


def test_report_page_yields_item_and_attachment():
    spider = make_spider()
    url = COL + "202501/t20250120_200001.html"
    resp = response(url, site_page("county/zfxxgknb/202501/t20250120_200001.html"),
                    meta={"link_text": "淮安2024", "referrer": COL, "capture_id": 17})
    item, req = list(spider.parse_report(resp))
    assert item == DocumentItem(url=url, title="淮安2024", portal="t", referrer=COL, kind="page",
                                capture_id=17)
    assert req.url == COL + "202501/P020250120384756129301.pdf"
    assert req.callback == spider.parse_attachment


def test_binary_report_link_is_an_attachment():
    spider = make_spider()
    resp = response(COL + "x.html", b"%PDF-1.4 ...", cls=Response)
    (item,) = spider.parse_report(resp)
    assert item.kind == "attachment"


def test_max_pages_caps_an_endless_pagination():
    spider = make_spider(max_pages=3)
    body = b'<html><body><script>createPageHTML(100000, 0, "index", "html");</script></body></html>'
    spider.list_seen.add(COL)
    out = list(spider.parse_list(response(COL, body)))
    assert len(out) == 2 and len(spider.list_seen) == 3
    assert spider.crawler.stats.get_value("nianbao/list_pages_capped") > 0


def test_auto_renders_a_scripted_list_without_links():
    assert make_spider("auto").render == "never"  # the command line's auto defers to the entry
    spider = make_spider("auto", render="auto", wait_for="#doclist a")
    body = site_page("jslist/xxgk/ndbg/index.html")
    (req,) = spider.parse_list(response(COL, body, meta={"referrer": None}))
    assert req.url == COL and req.dont_filter and req.meta["playwright"] is True
    (method,) = req.meta["playwright_page_methods"]
    assert method.method == "wait_for_selector" and method.args == ("#doclist a",)
    # rendered once: never again
    assert list(spider.parse_list(response(COL, body, meta={"playwright": True}))) == []


def test_never_does_not_render():
    spider = make_spider("never", render="auto")
    assert list(spider.parse_list(response(COL, site_page("jslist/xxgk/ndbg/index.html")))) == []


def test_render_always_marks_list_and_report_requests():
    spider = make_spider("always")
    out = list(spider.parse_list(response(COL, site_page("county/zfxxgknb/index.html"))))
    assert out and all(r.meta.get("playwright") for r in out)


def test_http_errors_become_error_items():
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.python.failure import Failure

    spider = make_spider()
    req = scrapy.Request(COL + "gone.html", meta={"referrer": COL, "retry_times": 2})
    resp = HtmlResponse(url=req.url, status=503, body=b"", request=req)
    failure = Failure(HttpError(resp))
    failure.request = req
    (item,) = spider.on_error(failure)
    assert item == CrawlErrorItem(url=req.url, portal="t", error="HTTP 503 after 2 retries",
                                  referrer=COL, status=503)


def test_robots_refusal_is_not_an_error_item():
    from scrapy.exceptions import IgnoreRequest
    from twisted.python.failure import Failure

    spider = make_spider()
    failure = Failure(IgnoreRequest("Forbidden by robots.txt"))
    failure.request = scrapy.Request(COL + "draft/x.html")
    assert list(spider.on_error(failure) or []) == []


@pytest.mark.parametrize("render", ["sometimes", ""])
def test_bad_render_mode(render):
    with pytest.raises(ValueError):
        make_spider(render)


def test_link_pattern_admits_report_pages_outside_allow():
    spider = make_spider(link_pattern=r"/xxgkml/\d+/\d+\.html$")
    body = ('<a href="/xxgkml/2022/1.html">新镇乡</a>'
            '<a href="http://elsewhere.test/x/t1.html">某县2021年政府信息公开工作年度报告</a>').encode()
    (req,) = spider.parse_list(response(COL, body))
    assert req.url == BASE + "/xxgkml/2022/1.html" and req.callback == spider.parse_report
