"""Link extraction and the TRS / generic families: createPageHTML pagination, pager anchors,
report, column, nav and attachment links."""
from __future__ import annotations

import re

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from spiders.families import generic, trs
from spiders.families.trs import parse_create_page_html, trs_page_urls
from spiders.links import Link, attachment_ext, classify, extract_links, looks_like_list

FARM_SITES = __import__("pathlib").Path(__file__).resolve().parents[1] / "crawler" / "farm" / "sites"


def pagination_urls(html: str, url: str, limit: int = 50) -> list[str]:
    """What the spider would ask next: the first family that detects the page."""
    response = HtmlResponse(url, body=html.encode("utf-8"), encoding="utf-8")
    family = trs if trs.detect(response) else generic
    return [f.url for f in family.more(response, limit)]


@pytest.mark.parametrize("script, expected", [
    ('createPageHTML(2, 0, "index", "html");', [(2, 0, "index", "html")]),
    ("createPageHTML(7,3,'index','shtml');", [(7, 3, "index", "shtml")]),
    # the 6-argument form: element id first, record count last
    ("createPageHTML('page_div',10,1,'index','html',150);", [(10, 1, "index", "html")]),
    # variables assigned in the same script
    ('var countPage = 5; var currentPage = 0;\ncreatePageHTML(countPage, currentPage, "index", "htm");',
     [(5, 0, "index", "htm")]),
    # the function's own definition is not a call
    ("function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){ return; }", []),
    # an expression we cannot evaluate is skipped, not guessed
    ('createPageHTML(Math.ceil(n/20), 0, "index", "html");', []),
])
def test_parse_create_page_html(script, expected):
    assert parse_create_page_html(script) == expected


def test_trs_page_urls_names_pages_like_trs():
    urls = trs_page_urls("http://x.gov.cn/zwgk/zfxxgknb/index_1.html", 3, 1, "index", "html", limit=50)
    assert urls == ["http://x.gov.cn/zwgk/zfxxgknb/index_2.html",
                    "http://x.gov.cn/zwgk/zfxxgknb/index.html"]


def test_trs_page_urls_capped_after_the_current_page():
    urls = trs_page_urls("http://x.gov.cn/a/index_40.html", 100000, 40, "index", "html", limit=3)
    assert urls == ["http://x.gov.cn/a/index_41.html", "http://x.gov.cn/a/index_42.html",
                    "http://x.gov.cn/a/index_43.html"]


def test_pagination_of_the_farm_county_list():
    """The page links are not in the HTML: they are computed from the script."""
    html = (FARM_SITES / "county" / "zfxxgknb" / "index.html").read_text("utf-8")
    assert "index_1.html" not in html.split("<script")[0]
    assert pagination_urls(html, "http://h/county/zfxxgknb/") == [
        "http://h/county/zfxxgknb/index_1.html"]
    html = (FARM_SITES / "county" / "zfxxgknb" / "index_1.html").read_text("utf-8")
    assert pagination_urls(html, "http://h/county/zfxxgknb/index_1.html") == [
        "http://h/county/zfxxgknb/index.html"]


def test_pagination_from_pager_anchors():
    html = ('<div class="pages"><a href="index.html">首页</a><span>1</span>'
            '<a href="list_2.html">2</a><a href="list_3.html">3</a>'
            '<a href="list_2.html">下一页</a><a href="list_9.html">尾页</a>'
            '<a href="/news/">新闻</a></div>')
    urls = pagination_urls(html, "http://h/col/list_1.html")
    assert urls == ["http://h/col/list_2.html", "http://h/col/list_3.html", "http://h/col/list_9.html"]


def test_pagination_excludes_the_page_itself():
    html = '<script>createPageHTML(2, 0, "index", "html");</script>'
    assert pagination_urls(html, "http://h/c/index.html") == ["http://h/c/index_1.html"]


def test_extract_links_prefers_full_title_and_skips_javascript():
    html = ('<a href="./202203/t1.html#top" title="友谊县新镇乡人民政府2021年政府信息公开工作年度报告">'
            '友谊县新镇乡人民政府2021年政府...</a>'
            '<a href="javascript:void(0)">打印</a><a href="mailto:x@y">邮件</a>')
    links = extract_links(Selector(text=html), "http://h/col/index.html")
    assert links == [Link("http://h/col/202203/t1.html",
                          "友谊县新镇乡人民政府2021年政府信息公开工作年度报告")]


@pytest.mark.parametrize("url, text, ext", [
    ("http://h/a/P0202501.pdf", "", "pdf"),
    ("http://h/a/REPORT.DOCX", "", "docx"),
    ("http://h/module/download/downfile.jsp?classid=0&filename=2021nb.wps", "", "wps"),
    ("http://h/download?id=12", "2021年年度报告.xls", "xls"),
    ("http://h/a/t2022_1.html", "2021年年度报告", None),
    ("http://h/a/report.pdf.html", "", None),
])
def test_attachment_ext(url, text, ext):
    assert attachment_ext(url, text) == ext


@pytest.mark.parametrize("url, is_list", [
    ("http://h/zwgk/zfxxgknb/", True),
    ("http://h/zwgk/zfxxgknb/index.html", True),
    ("http://h/zwgk/zfxxgknb/index_3.shtml", True),
    ("http://h/col/col1234/index.html", True),
    ("http://h/zwgk/zfxxgknb/202203/t20220315_123456.html", False),
    ("http://h/art/2022/3/15/art_1_2.html", False),
])
def test_looks_like_list(url, is_list):
    assert looks_like_list(url) is is_list


@pytest.mark.parametrize("url, text, kind", [
    ("http://h/c/202203/t20220315_1.html", "新镇乡2021年政府信息公开工作年度报告", "page"),
    ("http://h/c/202203/t20220315_1.html", "2021年度信息公开年报", "page"),
    ("http://h/c/202203/t20220315_1.html", "政府信息公开工作报告（2020年）", "page"),
    ("http://h/zwgk/zfxxgknb/", "政府信息公开年报", "list"),
    ("http://h/c/P02022.pdf", "2021年政府信息公开工作年度报告.pdf", "attachment"),
    ("http://h/c/t2022_2.html", "关于开展安全生产大检查的通知", None),
    ("http://h/zwgk/zfxxgkzn/", "政府信息公开指南", None),
    ("http://h/c/P02022.pdf", "附件1", None),
    # the way from a home page to the column
    ("http://h/zwgk/", "政府信息公开", "nav"),
    ("http://h/xxgk/gkml/", "信息公开目录", "nav"),
    ("http://h/xxgk/fdzdgknr/", "法定主动公开内容", "nav"),
    ("http://h/col/col1234/index.html", "年度报告", "list"),
    ("http://h/xxgk/zfxxgknb/", "年报", "list"),
    ("http://h/xxgk/gknb/", "工作年报", "list"),
    ("http://h/xxgk/ndbg/index.html", "更多", "list"),  # the URL names the column
    ("http://h/xwzx/", "新闻中心", None),
    ("http://h/xxgk/ysqgk/", "依申请公开", None),
])
def test_classify(url, text, kind):
    assert classify(Link(url, text)) == kind


def test_classify_with_portal_pattern():
    pattern = re.compile(r"/xxgkml/\d+/\d+\.html$")
    assert classify(Link("http://h/xxgkml/2022/123.html", "新镇乡"), pattern) == "page"
    assert classify(Link("http://h/other/2022/123.html", "新镇乡"), pattern) is None


def test_trs_detects_only_create_page_html():
    page = HtmlResponse("http://h/c/", body=b'<script>createPageHTML(3, 0, "index", "html");</script>')
    plain = HtmlResponse("http://h/c/", body=b'<a href="list_2.html">2</a>')
    assert trs.detect(page) and not trs.detect(plain)


def test_generic_follows_query_string_pages_only_of_the_same_list():
    html = ('<a href="?page=2">2</a><a href="list.jsp?pageNo=3&cid=7">3</a>'
            '<a href="/search.jsp?q=x">搜索</a><a href="other.jsp?page=2">其他栏目</a>')
    urls = pagination_urls(html, "http://h/c/list.jsp?cid=7")
    assert urls == ["http://h/c/list.jsp?page=2", "http://h/c/list.jsp?pageNo=3&cid=7"]


@pytest.mark.parametrize("url, text, kind", [
    ("http://h/xxgk/zwgknb/", "政务公开年报", "list"),
    ("http://h/a/t1.html", "示范县发展和改革委员会2023年政府信息公开...", "page"),  # a cut title
    ("http://h/a/t2.html", "示范县2023年政务公开工作要点", None),
])
def test_classify_real_list_texts(url, text, kind):
    assert classify(Link(url, text)) == kind


@pytest.mark.parametrize("url, text, sub", [
    ("http://h/zwgk/zfxxgknb/2023/", "2023年", True),
    ("http://h/col/col5678/index.html", "2022年度", True),
    ("http://h/zwgk/zfxxgknb/bmnb/", "县直部门", True),
    ("http://h/zwgk/zfxxgknb/xznb/index.html", "乡镇（街道）", True),
    ("http://h/zwgk/zfxxgknb/other/", "其他", True),        # a folder below the column's
    ("http://h/xwzx/", "新闻中心", False),
    ("http://h/zwgk/zfxxgknb/2023/t1.html", "2023年", False),  # not a list address
    ("http://h/zwgk/zfxxgknb/2023/", "2023年政府信息公开工作年度报告", False),  # a report
])
def test_sub_columns_inside_the_report_column(url, text, sub):
    from spiders.links import is_sub_column

    assert is_sub_column(Link(url, text), "http://h/zwgk/zfxxgknb/index.html") is sub


def test_embedded_frames_and_pdf_viewers():
    from spiders.links import embedded_links

    html = ('<iframe src="list.jsp?cid=3"></iframe><iframe src="about:blank"></iframe>'
            '<iframe src="/pdfjs/web/viewer.html?file=/upload/2023nb.pdf"></iframe>'
            '<embed src="files/nb.pdf" type="application/pdf"><object data="x/report.pdf"></object>')
    urls = [link.url for link in embedded_links(Selector(text=html), "http://h/zwgk/nb/")]
    assert urls == ["http://h/zwgk/nb/list.jsp?cid=3", "http://h/upload/2023nb.pdf",
                    "http://h/zwgk/nb/files/nb.pdf", "http://h/zwgk/nb/x/report.pdf"]


@pytest.mark.parametrize("text, candidate", [
    ("2023年度报告", True),                                   # inside the column: the report
    ("示范县2023年法治政府建设年度报告", False),
    ("2023年统计年报", False),
    ("示范县2023年政府信息公开工作年度报告", True),
    ("关于2023年度预算执行情况的报告", False),
])
def test_other_annual_reports_are_not_candidates(text, candidate):
    from spiders.links import is_report_candidate

    assert is_report_candidate(Link("http://h/a/t1.html", text)) is candidate
