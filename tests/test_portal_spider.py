"""The portal spider on canned responses: what it follows, what it yields, its caps."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from spiders import meta as M
from spiders.items import CrawlErrorItem, DocumentItem
from spiders.portal_spider import PortalSpider
from spiders.portals import Portal

SITES = Path(__file__).resolve().parents[1] / "crawler" / "farm" / "sites"
BASE = "http://farm.test"
COL = f"{BASE}/county/zfxxgknb/"


def make_spider(cli_render="auto", **portal_kw) -> PortalSpider:
    """A spider for a portal entry (its render "never" unless given) and a command-line render."""
    kw = dict(name="t", start_urls=[COL], allow=[COL], render="never", max_pages=10,
              domains=["farm.test"])
    kw.update(portal_kw)
    crawler = get_crawler(PortalSpider, {"NIANBAO_RUN_ID": "r"})
    return PortalSpider.from_crawler(crawler, portals=[Portal(**kw)], render=cli_render)


def response(url: str, body: bytes, meta: dict | None = None, cls=HtmlResponse):
    meta = {M.PORTAL: "t", **(meta or {})}
    return cls(url=url, body=body, request=scrapy.Request(url, meta=meta))


def site_page(path: str) -> bytes:
    return (SITES / path).read_bytes()


def test_start_yields_the_start_urls():
    spider = make_spider()

    async def collect():
        return [r async for r in spider.start()]

    (req,) = asyncio.run(collect())
    assert req.url == COL and req.meta[M.PORTAL] == "t" and req.callback == spider.parse_page
    assert req.meta[M.KIND] == M.LIST and req.meta[M.DEPTH] == 0  # the URL names the column
    assert "playwright" not in req.meta


def test_one_spider_for_many_portals_from_the_registry(tmp_path):
    registry = tmp_path / "portals.yml"
    registry.write_text("portals:\n"
                        "  - {name: a, url: 'http://www.a.gov.cn/'}\n"
                        "  - {name: b, url: 'http://www.b.gov.cn/'}\n"
                        "  - {name: c, url: 'http://www.c.gov.cn/'}\n")
    settings = {"NIANBAO_PORTALS": str(registry), "NIANBAO_RUN_ID": "r"}
    one = PortalSpider.from_crawler(get_crawler(PortalSpider, settings), portal="b")
    two = PortalSpider.from_crawler(get_crawler(PortalSpider, settings), portals="a,c")
    every = PortalSpider.from_crawler(get_crawler(PortalSpider, settings))
    assert one.portal_names == ["b"] and two.portal_names == ["a", "c"]
    assert every.portal_names == ["a", "b", "c"]
    assert every.scopes["a"].portal.domains == ["a.gov.cn"]  # www. dropped: subdomains count

    async def collect(spider):
        return [r.url async for r in spider.start()]

    assert asyncio.run(collect(every)) == ["http://www.a.gov.cn/", "http://www.b.gov.cn/",
                                           "http://www.c.gov.cn/"]


def test_home_page_leads_to_the_column_by_link_text_and_url():
    spider = make_spider(start_urls=[BASE + "/"], allow=[])
    home = ('<a href="/zwgk/">政府信息公开</a><a href="/xwzx/">新闻中心</a>'
            '<a href="http://xxgk.farm.test/ndbg/">年度报告</a>'
            '<a href="http://elsewhere.test/zwgk/">政府信息公开</a>'
            '<a href="/zwgk/zfxxgkzn/">政府信息公开指南</a>').encode()
    out = list(spider.parse_page(response(BASE + "/", home, meta={M.KIND: M.NAV, M.DEPTH: 0})))
    kinds = {r.url: (r.meta[M.KIND], r.meta[M.DEPTH]) for r in out}
    assert kinds == {BASE + "/zwgk/": (M.NAV, 1), "http://xxgk.farm.test/ndbg/": (M.LIST, 0)}
    assert spider.crawler.stats.get_value("nianbao/offsite_skipped") is None  # nav links only


def test_nav_depth_is_capped():
    spider = make_spider(start_urls=[BASE + "/"], allow=[])
    page = b'<a href="/zwgk/more/">\xe4\xbf\xa1\xe6\x81\xaf\xe5\x85\xac\xe5\xbc\x80\xe7\x9b\xae\xe5\xbd\x95</a>'
    at_limit = response(BASE + "/zwgk/", page, meta={M.KIND: M.NAV, M.DEPTH: 3})
    assert list(spider.parse_page(at_limit)) == []
    below = response(BASE + "/zwgk/", page, meta={M.KIND: M.NAV, M.DEPTH: 2})
    (req,) = spider.parse_page(below)
    assert req.meta[M.DEPTH] == 3


def test_list_page_yields_reports_and_computed_pages_within_allow():
    spider = make_spider()
    spider._seen("t", "pages").add(COL + "index_1.html")  # as if already requested
    out = list(spider.parse_page(response(COL + "index_1.html",
                                          site_page("county/zfxxgknb/index_1.html"),
                                          meta={M.KIND: M.LIST})))
    urls = {r.url: r for r in out}
    assert COL + "202501/t20250120_200001.html" in urls
    assert COL + "202001/t20200110_999999.html" in urls
    assert COL + "draft/t20240101_000001.html" in urls  # robots.txt, not the spider, refuses it
    assert COL + "index.html" in urls  # from createPageHTML(2, 1, ...)
    report = urls[COL + "202501/t20250120_200001.html"]
    assert report.callback == spider.parse_report
    assert report.meta[M.LINK_TEXT] == "淮安市人民政府2024年政府信息公开工作年度报告"
    assert report.headers["Referer"] == (COL + "index_1.html").encode()
    assert all(u.startswith(COL) for u in urls)


def test_only_report_candidates_are_fetched_from_a_list():
    spider = make_spider()
    body = ('<a href="a/t1.html">某县2023年政府信息公开工作年度报告</a>'
            '<a href="a/t2.html">关于开展安全生产大检查的通知</a>'
            '<a href="a/t3.pdf">2022年度政府信息公开年报.pdf</a>'
            '<a href="a/t4.pdf">采购公告.pdf</a>').encode()
    out = list(spider.parse_page(response(COL, body, meta={M.KIND: M.LIST})))
    assert {r.url: r.meta[M.KIND] for r in out} == {COL + "a/t1.html": M.PAGE,
                                                   COL + "a/t3.pdf": M.ATTACHMENT}


def test_report_page_yields_item_and_attachment():
    spider = make_spider()
    url = COL + "202501/t20250120_200001.html"
    resp = response(url, site_page("county/zfxxgknb/202501/t20250120_200001.html"),
                    meta={M.LINK_TEXT: "淮安2024", M.REFERRER: COL, M.CAPTURE_ID: 17})
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
    spider._seen("t", "pages").add(COL)
    out = list(spider.parse_page(response(COL, body, meta={M.KIND: M.LIST})))
    assert len(out) == 2 and len(spider._seen("t", "pages")) == 3


def test_auto_renders_a_scripted_list_without_links():
    assert make_spider("auto").scopes["t"].render == "never"  # auto defers to the entry
    spider = make_spider("auto", render="auto", wait_for="#doclist a")
    body = site_page("jslist/xxgk/ndbg/index.html")
    (req,) = spider.parse_page(response(COL, body, meta={M.KIND: M.LIST}))
    assert req.url == COL and req.dont_filter and req.meta["playwright"] is True
    (method,) = req.meta["playwright_page_methods"]
    assert method.method == "wait_for_selector" and method.args == ("#doclist a",)
    # rendered once: never again
    assert list(spider.parse_page(response(COL, body, meta={"playwright": True}))) == []


def test_never_does_not_render():
    spider = make_spider("never", render="auto")
    assert list(spider.parse_page(response(COL, site_page("jslist/xxgk/ndbg/index.html")))) == []


def test_render_always_marks_list_and_report_requests():
    spider = make_spider("always")
    out = list(spider.parse_page(response(COL, site_page("county/zfxxgknb/index.html"),
                                          meta={M.KIND: M.LIST})))
    assert out and all(r.meta.get("playwright") for r in out)


def test_http_errors_become_error_items():
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.python.failure import Failure

    spider = make_spider()
    req = scrapy.Request(COL + "gone.html", meta={M.REFERRER: COL, M.PORTAL: "t",
                                                  "retry_times": 2})
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
    (req,) = spider.parse_page(response(COL, body, meta={M.KIND: M.LIST}))
    assert req.url == BASE + "/xxgkml/2022/1.html" and req.callback == spider.parse_report
    assert spider.crawler.stats.get_value("nianbao/offsite_skipped") == 1


def test_non_http_links_are_never_followed():
    spider = make_spider(allow=[])
    body = ('<a href="ftp://farm.test/2023年政府信息公开工作年度报告.pdf">2023年政府信息公开工作年度报告</a>'
            '<a href="file:///etc/2023年政府信息公开工作年度报告.pdf">2023年政府信息公开工作年度报告</a>').encode()
    assert list(spider.parse_page(response(COL, body, meta={M.KIND: M.LIST}))) == []


def test_sub_columns_of_the_report_column_are_lists_and_bounded():
    spider = make_spider()
    body = ('<a href="2023/">2023年</a><a href="2022/index.html">2022年</a>'
            '<a href="bmnb/">县直部门</a><a href="/county/xwzx/">新闻中心</a>').encode()
    out = list(spider.parse_page(response(COL, body, meta={M.KIND: M.LIST, M.DEPTH: 0})))
    assert {r.url: (r.meta[M.KIND], r.meta[M.DEPTH]) for r in out} == {
        COL + "2023/": (M.LIST, 1), COL + "2022/index.html": (M.LIST, 1),
        COL + "bmnb/": (M.LIST, 1)}
    deeper = list(spider.parse_page(response(COL + "2023/", b'<a href="q1/">2023\xe5\xb9\xb4</a>',
                                             meta={M.KIND: M.LIST, M.DEPTH: 2})))
    assert deeper == []


def test_a_report_page_embedding_its_pdf():
    spider = make_spider()
    body = ('<html><head><title>某县2023年政府信息公开工作年度报告</title></head><body>'
            '<iframe src="/pdfjs/web/viewer.html?file=/county/zfxxgknb/files/2023.pdf"></iframe>'
            '</body></html>').encode()
    item, req = list(spider.parse_report(response(COL + "t1.html", body)))
    assert item.kind == "page"
    assert req.url == COL + "files/2023.pdf" and req.meta[M.KIND] == M.ATTACHMENT
    assert req.meta[M.LINK_TEXT] == "某县2023年政府信息公开工作年度报告"


def test_a_frame_inside_a_list_is_a_list():
    spider = make_spider()
    body = b'<html><body><iframe src="list.jsp?cid=12"></iframe></body></html>'
    (req,) = spider.parse_page(response(COL, body, meta={M.KIND: M.LIST}))
    assert req.url == COL + "list.jsp?cid=12" and req.meta[M.KIND] == M.LIST


def test_each_list_has_its_own_page_cap():
    spider = make_spider(max_pages=100, max_list_pages=3)
    body = b'<html><body><script>createPageHTML(100000, 0, "index", "html");</script></body></html>'
    spider._seen("t", "pages").add(COL)
    first = list(spider.parse_page(response(COL, body, meta={M.KIND: M.LIST})))
    assert [r.url for r in first] == [COL + "index_1.html", COL + "index_2.html"]
    assert all(r.meta[M.LIST_ROOT] == COL for r in first)
    # page 2 of the same list pages on no further: the list has had its 3 pages
    page2 = response(COL + "index_2.html", body.replace(b"0, \"index\"", b"2, \"index\""),
                     meta={M.KIND: M.LIST, M.LIST_ROOT: COL})
    assert list(spider.parse_page(page2)) == []
    # another list of the same portal starts its own count
    other = COL + "bmnb/"
    spider._seen("t", "pages").add(other)
    assert len(list(spider.parse_page(response(other, body, meta={M.KIND: M.LIST})))) == 2


def test_a_column_beside_the_page_on_the_way_is_followed():
    spider = make_spider(start_urls=[BASE + "/xxgk/index.html"], allow=[])
    body = '<a href="nb.html">政府信息公开年报</a>'.encode()
    (req,) = spider.parse_page(response(BASE + "/xxgk/index.html", body,
                                        meta={M.KIND: M.NAV, M.DEPTH: 1}))
    assert req.url == BASE + "/xxgk/nb.html" and req.meta[M.KIND] == M.LIST
