"""The gkmlpt family (Guangdong's 政府信息公开目录平台): catalog detection, SID and category
reading, the JSON API's paging, and the farm's gkmlpt-site over real HTTP."""
from __future__ import annotations

import http.client
import json
import urllib.request

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.farm.server import load_config, start_farm
from spiders.families import Fetch, gkmlpt
from spiders.links import is_report_text

CATALOG = "http://www.example.gov.cn/xxj/gkmlpt/index"
API = "http://www.example.gov.cn/xxj/gkmlpt/api/all/2361?page=1&sid=755031"


def page(body: str, url: str = CATALOG) -> HtmlResponse:
    return HtmlResponse(url, body=f"<html><head>{body}</head><body></body></html>".encode(),
                        encoding="utf-8")


def catalog(menu: str = "", tree: str = "[]", sid: str = "SID: '755031'") -> HtmlResponse:
    return page(f"<script>var TREE = {tree};\nwindow._CONFIG = {{{sid}, TREE: TREE}};</script>"
                f"</head><body><ul>{menu}</ul>")


def answer(data, url: str = API) -> TextResponse:
    body = data if isinstance(data, bytes) else (
        data.encode() if isinstance(data, str) else json.dumps(data, ensure_ascii=False).encode())
    return TextResponse(url, body=body, encoding="utf-8")


def articles(n: int, start: int = 0) -> list[dict]:
    return [{"id": 4942000 + i, "title": f"某局{2000 + i}年政府信息公开工作年度报告",
             "url": f"http://www.example.gov.cn/xxj/gkmlpt/content/4/4942/post_{4942000 + i}.html",
             "create_time": 1704038400} for i in range(start, start + n)]


# --- detect and the SID ------------------------------------------------------------------

@pytest.mark.parametrize("script, sid", [
    ("window._CONFIG = {SID: '755031', TREE: []};", "755031"),
    ("window._CONFIG = {\n  SID:\"200001\",\n  TREE: []\n};", "200001"),
    ('var _CONFIG = {"SID": "2", "TREE": []};', "2"),
    ("window.SID = '756001'; var gkmlpt = true;", "756001"),
    ("window._CONFIG = {SID: 752001};", "752001"),
])
def test_sid_variants(script, sid):
    response = page(f"<script>{script}</script>")
    assert gkmlpt.site_id(response) == sid
    assert gkmlpt.detect(response)


def test_sid_from_an_api_url_written_in_the_page():
    response = page('<a href="/gkmlpt/api/all/0?page=1&amp;sid=755325">全部</a>')
    assert gkmlpt.site_id(response) == "755325"


def test_detect_without_the_gkmlpt_path_from_its_assets():
    response = page("<script src='/gkmlpt/static/js/app.js'></script><script>window.SID = '762001';</script>",
                    url="http://www.example.gov.cn/zwgk/")
    assert gkmlpt.detect(response)


@pytest.mark.parametrize("body, url", [
    ("<script>createPageHTML(5, 0, 'index', 'html');</script>", "http://www.x.gov.cn/zfxxgknb/"),
    ("<script>window._CONFIG = {TREE: []};</script>", CATALOG),            # no SID
    ("<script>var SID = '123';</script>", "http://www.x.gov.cn/login/"),   # a SID, not gkmlpt
    ("<script>var rule = 'sid: 2000001;';</script>", CATALOG),             # lower-case sid
])
def test_detect_negative(body, url):
    assert not gkmlpt.detect(page(body, url))


def test_catalog_lists_no_entries_itself():
    assert gkmlpt.entries(catalog('<li><a href="#2361">政府信息公开年报</a></li>')) == []


# --- categories and more() -----------------------------------------------------------------

def test_more_asks_only_the_annual_report_categories():
    tree = json.dumps([{"id": 2358, "name": "法定主动公开内容", "children": [
        {"id": 2400, "name": "政府信息公开工作年报", "children": []},
        {"id": 2363, "name": "政策文件", "children": []}]}], ensure_ascii=False)
    response = catalog('<li><a href="#2356">政府信息公开指南</a></li>'
                       '<li><a href="index#2361">政府信息公开年报</a></li>'
                       '<li><a href="#2363">政策文件</a></li>', tree=tree)
    fetches = gkmlpt.more(response, 10)
    assert fetches == [
        Fetch(url=API, kind="api", state={"category": "2361", "sid": "755031", "page": 1}),
        Fetch(url=API.replace("2361", "2400"), kind="api",
              state={"category": "2400", "sid": "755031", "page": 1})]
    assert [f.state["category"] for f in gkmlpt.more(response, 1)] == ["2361"]


def test_column_names_win_over_other_report_words():
    response = catalog('<li><a href="#11">统计年报</a></li><li><a href="#12">政府信息公开年报</a></li>')
    assert [f.state["category"] for f in gkmlpt.more(response, 10)] == ["12"]
    fallback = catalog('<li><a href="#11">统计年报</a></li><li><a href="#13">政策文件</a></li>')
    assert [f.state["category"] for f in gkmlpt.more(fallback, 10)] == ["11"]


def test_more_needs_a_matching_category_and_a_sid():
    assert gkmlpt.more(catalog('<li><a href="#2363">政策文件</a></li>'), 10) == []
    assert gkmlpt.more(page('<a href="#2361">政府信息公开年报</a>'), 10) == []


def test_tree_as_a_javascript_literal():
    response = catalog(tree="[{id: 12, name: '政府信息公开年报', children: []}, {id: 13, name: '政策文件'}]")
    assert [f.url for f in gkmlpt.more(response, 10)] == [API.replace("2361", "12")]


def test_site_base_keeps_a_department_folder():
    assert gkmlpt.site_base("http://www.x.gov.cn/yjzjj/gkmlpt/index") == "http://www.x.gov.cn/yjzjj"
    assert gkmlpt.site_base("https://hrss.gd.gov.cn/gkmlpt/mindex") == "https://hrss.gd.gov.cn"
    assert gkmlpt.site_base("https://www.x.gov.cn/zwgk/") == "https://www.x.gov.cn"


# --- read(): entries and paging ------------------------------------------------------------

def test_read_page_one_schedules_all_remaining_pages():
    entries, fetches = gkmlpt.read(answer({"total": 25, "articles": articles(10)}),
                                   {"category": "2361", "sid": "755031", "page": 1})
    assert len(entries) == 10
    assert entries[0].text == "某局2000年政府信息公开工作年度报告"
    assert entries[0].date == "2024-01-01"  # 2023-12-31 16:00 UTC is New Year's Day in Beijing
    assert [f.url for f in fetches] == [API.replace("page=1", "page=2"), API.replace("page=1", "page=3")]
    assert [f.state for f in fetches] == [{"category": "2361", "sid": "755031", "page": p}
                                          for p in (2, 3)]
    assert all(f.kind == "api" for f in fetches)


def test_read_page_size_comes_from_page_one():
    _, fetches = gkmlpt.read(answer({"total": 100, "articles": articles(20)}), {"page": 1})
    assert [f.state["page"] for f in fetches] == [2, 3, 4, 5]


def test_read_later_pages_schedule_nothing():
    entries, fetches = gkmlpt.read(answer({"total": 25, "articles": articles(5, 20)},
                                          API.replace("page=1", "page=3")), {"page": 3})
    assert len(entries) == 5 and fetches == []


def test_read_caps_the_pages():
    _, fetches = gkmlpt.read(answer({"total": 1_000_000, "articles": articles(10)}), {"page": 1})
    assert len(fetches) == gkmlpt.MAX_PAGES - 1
    _, none = gkmlpt.read(answer({"total": 7, "articles": articles(7)}), {"page": 1})
    assert none == []


def test_read_article_fields():
    data = {"total": "3", "articles": [
        {"title": "某镇<br/>2022年年度报告", "url": "/gkmlpt/content/1/1/post_1.html#top",
         "created_at": "2023-01-05 09:00:00"},
        {"title": "无链接的条目"},
        "not an article",
        {"title": "某区2021年政府信息公开工作年度报告", "post_url": "http://www.x.gov.cn/a.html",
         "create_time": "bad", "display_publish_time": 1640966400000},
    ]}
    entries, _ = gkmlpt.read(answer(data), {"page": 2})
    assert [(e.url, e.text, e.date) for e in entries] == [
        ("http://www.example.gov.cn/gkmlpt/content/1/1/post_1.html", "某镇 2022年年度报告", "2023-01-05"),
        ("http://www.x.gov.cn/a.html", "某区2021年政府信息公开工作年度报告", "2022-01-01")]


@pytest.mark.parametrize("body", [
    "<html><body><h1>404 页面不存在</h1></body></html>",
    '{"code": 404, "msg": "站点不存在"}',
    "[]",
    '{"total": 5, "articles": "none"}',
    '{"total": 5, "articles": [',
    b"\xff\xfe\x00garbage",
])
def test_read_survives_bad_answers(body):
    assert gkmlpt.read(answer(body), {"page": 1}) == ([], [])


# --- the farm's gkmlpt-site, over HTTP -----------------------------------------------------

@pytest.fixture(scope="module")
def farm():
    base, stop = start_farm()
    yield base
    stop()


def get(base: str, path: str, headers: dict | None = None):
    host, port = base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


def fetch_response(url: str, cls=TextResponse):
    with urllib.request.urlopen(url, timeout=10) as r:
        return cls(url, body=r.read(), encoding="utf-8")


def test_farm_catalog_is_detected_and_asks_one_category(farm):
    response = fetch_response(farm + "/gkmlpt-site/gkmlpt/index", HtmlResponse)
    assert gkmlpt.detect(response)
    sid = gkmlpt.site_id(response)
    assert [f.url for f in gkmlpt.more(response, 10)] == [
        f"{farm}/gkmlpt-site/gkmlpt/api/all/2361?page=1&sid={sid}"]
    home = fetch_response(farm + "/gkmlpt-site/", HtmlResponse)
    assert not gkmlpt.detect(home)
    assert home.xpath("//a[text()='政府信息公开']/@href").get() == "/gkmlpt-site/gkmlpt/index"


def test_farm_api_pages(farm):
    sid = gkmlpt.site_id(fetch_response(farm + "/gkmlpt-site/gkmlpt/index", HtmlResponse))
    api = f"/gkmlpt-site/gkmlpt/api/all/2361?sid={sid}&page="
    status, ctype, body = get(farm, api + "1")
    first = json.loads(body)
    assert status == 200 and ctype.startswith("application/json")
    assert (first["total"], first["offset"], len(first["articles"])) == (25, 0, 10)
    assert first["classify"]["name"] == "政府信息公开年报"
    assert all(a["url"].startswith(farm + "/gkmlpt-site/gkmlpt/content/") for a in first["articles"])
    last = json.loads(get(farm, api + "3")[2])
    assert (last["offset"], len(last["articles"])) == (20, 5)
    status, _, body = get(farm, api + "4")
    assert status == 200 and json.loads(body)["articles"] == [] and json.loads(body)["total"] == 25


def test_farm_api_builds_urls_from_the_host_header(farm):
    sid = json.loads((farm_sites() / "_articles_2361.json").read_text("utf-8"))["sid"]
    _, _, body = get(farm, f"/gkmlpt-site/gkmlpt/api/all/2361?page=1&sid={sid}",
                     {"Host": "portal.example:8080"})
    assert json.loads(body)["articles"][0]["url"].startswith("http://portal.example:8080/gkmlpt-site/")


def test_farm_api_errors(farm):
    for path in ("/gkmlpt-site/gkmlpt/api/all/2361?page=1&sid=999999",
                 "/gkmlpt-site/gkmlpt/api/all/2361?page=1",
                 "/gkmlpt-site/gkmlpt/api/all/9999?page=1&sid=757013",
                 "/gkmlpt-site/gkmlpt/api/other"):
        status, ctype, body = get(farm, path)
        assert status == 404 and ctype.startswith("application/json"), path
        assert json.loads(body)["code"] == 404 and "articles" not in json.loads(body)
    assert get(farm, "/gkmlpt-site/_articles_2361.json")[0] == 404  # data files stay hidden


def farm_sites():
    from crawler.farm.server import SITES
    return SITES / "gkmlpt-site"


def test_farm_walk_finds_every_report_and_no_other_article(farm):
    """The family's own protocol over the farm: catalog -> API page 1 -> pages 2 and 3."""
    catalog_page = fetch_response(farm + "/gkmlpt-site/gkmlpt/index", HtmlResponse)
    (first,) = gkmlpt.more(catalog_page, 10)
    entries, todo = gkmlpt.read(fetch_response(first.url), first.state)
    assert len(todo) == 2
    for f in todo:
        more_entries, again = gkmlpt.read(fetch_response(f.url), f.state)
        entries += more_entries
        assert again == []
    assert len({e.url for e in entries}) == 25
    config = load_config()
    documents = {farm + d["path"] for d in config["documents"] if d["portal"] == "demo-gkmlpt"}
    reports = {e.url for e in entries if is_report_text(e.text)}
    assert reports == documents and len(documents) == 23
    never = {farm + p for p in config["never_fetch"] if p.startswith("/gkmlpt-site/")}
    assert len(never & {e.url for e in entries}) == 2 and not never & reports
    example = next(d for d in config["documents"]
                   if d["portal"] == "demo-gkmlpt" and d["example"])
    status, _, body = get(farm, example["path"])
    assert status == 200 and body.decode("utf-8").count("<table") == 3
