"""Link extraction for government portals: which links are list pages, report pages or
attachments, and where the next list pages are.

Pure functions over a `parsel.Selector` and the page URL (no Scrapy engine, no I/O), so each
rule is tested on its own:

How a list pages on is each CMS family's business (`spiders.families`).
- report candidates: link text or title naming an annual disclosure report (政府信息公开
  …年度报告 / 年报, or a year and 年报), or matching a portal's pattern; everything else in a
  column (notices, news) is not fetched;
- the way to the column from a home page: the column itself (政府信息公开年报, 年度报告,
  `zfxxgknb`, `ndbg`, ...) and the pages above it (政府信息公开, 信息公开目录, 法定主动公开内容).
- attachments: .pdf .doc .docx .wps .xls .xlsx .zip .rar (in the path, a query value such as
  `download.jsp?filename=x.pdf`, or the link text).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from parsel import Selector

ATTACHMENT_EXTS = ("pdf", "doc", "docx", "wps", "xls", "xlsx", "zip", "rar", "ofd")
REPORT_TEXT = re.compile(r"年度报告|年报|政府信息公开.{0,8}报告")
YEAR = re.compile(r"(19|20)\d{2}\s*年|(19|20)\d{2}(?!\d)")
# a report's own title: 2023年政府信息公开工作年度报告, 政务公开年报, 信息公开工作年度报告 ...
REPORT_TITLE = re.compile(r"(政府|政务)?信息公开.{0,6}(年度报告|年报)|(政府|政务)信息公开.{0,10}报告")
SHORT_REPORT = re.compile(r"年度报告|年报")
# other annual reports offices publish (法治政府建设年度报告, 统计年报, ...): not ours
OTHER_REPORT = re.compile(r"法治|统计|预算|决算|审计|国民经济|环境状况|人大|政协|社会责任|信用|"
                          r"慈善|年检|质量|安全生产|营商")
CUT_REPORT_TITLE = re.compile(r"(信息公开|政务公开).{0,8}(\.\.\.|…|\.\.)$")
# the parts a report column is divided into
SUB_COLUMN_TEXT = re.compile(r"^\s*(19|20)\d{2}\s*年?度?\s*$|部门|乡镇|街道|单位|直属|镇（街道）|县直|"
                             r"区直|市直|办事处")
# the annual-report column, as portals name it in menus and URLs
COLUMN_TEXT = re.compile(r"(政府|政务)?信息公开.{0,4}年(度报告|报)|政务公开.{0,4}年(度报告|报)|"
                         r"^年度报告$|^工作年报$|^年报$|工作年度报告$|年度报告专栏|年报专栏")
# the column's own address ends in its name: .../zfxxgknb/, .../ndbg/index.html, .../gknb.html
COLUMN_URL = re.compile(r"(?i)/(zfxxgknb|xxgknb|gknb|ndbg|zwgknb|xxgkndbg|nb)"
                        r"(/((index|list|default)(_\d+)?\.\w+)?|\.s?html?)?$")
# the way there: the disclosure portal, its catalog, the statutory-disclosure part
NAV_TEXT = re.compile(r"政府信息公开|政务公开|信息公开目录|信息公开平台|法定主动公开|主动公开目录|"
                      r"信息公开$|^公开目录$")
NOT_NAV_TEXT = re.compile(r"指南|规定|制度|条例|申请|意见箱|咨询|留言")
# ... and their addresses, when the link text is too short to say (the last path segment)
NAV_URL = re.compile(r"(?i)/(xxgk|zwgk|zfxxgk|gkml|gkmlpt|xxgkml|openness|zdgk|fdzdgknr)"
                     r"(/((index|default)\.\w+)?|\.s?html?)?$")
CMS_COLUMN_PATH = re.compile(r"/col/col\d+/|/gkmlpt/index")
LIST_SEGMENT = re.compile(r"^(index|list|default|more)([_-]\d+)?\.(s?html?|jsp|php|aspx?)$", re.I)
SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "#", "data:")


@dataclass(frozen=True)
class Link:
    url: str
    text: str


def clean_text(text: str) -> str:
    return " ".join(text.split())


def normalize_url(url: str) -> str:
    """Drop the fragment (a `#` part never names another document)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def extract_links(sel: Selector, base_url: str) -> list[Link]:
    """Every `<a href>` as an absolute URL with its best text: the `title` attribute when it
    holds more than the (often truncated) visible text."""
    base = sel.xpath("//base/@href").get()
    base_url = urljoin(base_url, base) if base else base_url
    out: list[Link] = []
    for a in sel.xpath("//a[@href]"):
        href = (a.attrib.get("href") or "").strip()
        if not href or href.lower().startswith(SKIP_SCHEMES):
            continue
        text = clean_text(" ".join(a.xpath(".//text()").getall()))
        title = clean_text(a.attrib.get("title") or "")
        if len(title) > len(text.rstrip(".…")):
            text = title
        out.append(Link(normalize_url(urljoin(base_url, href)), text))
    return out


def embedded_links(sel: Selector, base_url: str) -> list[Link]:
    """Documents a page shows inside itself: frames and iframes (a list inside a portal's
    frame), embedded PDFs (`<embed>`, `<object>`), and PDF viewers' `file=` targets
    (`/pdfjs/web/viewer.html?file=/a/report.pdf` -> `/a/report.pdf`)."""
    out: list[Link] = []
    for src in sel.xpath("//iframe/@src | //frame/@src | //embed/@src | //object/@data").getall():
        src = src.strip()
        if not src or src.lower().startswith(SKIP_SCHEMES) or src.lower() == "about:blank":
            continue
        url = urljoin(base_url, src)
        target = dict(parse_qsl(urlsplit(url).query)).get("file")
        if target and attachment_ext(target):
            url = urljoin(url, target)
        out.append(Link(normalize_url(url), ""))
    return out


def attachment_ext(url: str, text: str = "") -> str | None:
    """The attachment type a link points to, from its path, a query value or its text."""
    parts = urlsplit(url)
    candidates = [parts.path] + [v for _, v in parse_qsl(parts.query)] + [text.strip()]
    for c in candidates:
        m = re.search(r"\.([A-Za-z]{2,4})$", c)
        if m and m.group(1).lower() in ATTACHMENT_EXTS:
            return m.group(1).lower()
    return None


def looks_like_list(url: str) -> bool:
    """A column/list URL: a folder, index/list/default(_n).html and the like, or a CMS
    column address (Hanweb `/col/colNNN/`, gkmlpt's catalog)."""
    path = urlsplit(url).path
    return (path.endswith("/") or bool(LIST_SEGMENT.match(path.rsplit("/", 1)[-1]))
            or bool(CMS_COLUMN_PATH.search(path)))


def is_report_text(text: str) -> bool:
    return bool(REPORT_TEXT.search(text))


def names_a_year(text: str) -> bool:
    return bool(YEAR.search(text))


def is_column_link(link: Link) -> bool:
    """A link to the annual-report column: 政府信息公开年报, 年度报告, ... with no year of its
    own, or a URL segment such as `zfxxgknb` / `ndbg`."""
    text = link.text
    if COLUMN_TEXT.search(text) and not names_a_year(text):
        return True
    return bool(COLUMN_URL.search(urlsplit(link.url).path)) and not names_a_year(text) \
        and len(text) <= 20


def is_nav_link(link: Link) -> bool:
    """A link on the way to the column: 政府信息公开, 信息公开目录, 法定主动公开内容, ...
    (not the disclosure guide, rules or the application form beside them)."""
    if NOT_NAV_TEXT.search(link.text) or names_a_year(link.text):
        return False  # a menu item names no year: 2023年政务公开工作要点 is a document
    return bool(NAV_TEXT.search(link.text)) and len(link.text) <= 16 or (
        bool(NAV_URL.search(urlsplit(link.url).path)) and len(link.text) <= 12)


def is_report_candidate(link: Link) -> bool:
    """Title or link text naming an annual disclosure report (a year and 年报 count too, and
    so does a list's cut title with a year and 信息公开 before its ellipsis)."""
    text = link.text
    if not text:
        return False
    if REPORT_TITLE.search(text):
        return True
    if not names_a_year(text) or OTHER_REPORT.search(text):
        return False
    return bool(SHORT_REPORT.search(text)) or bool(CUT_REPORT_TITLE.search(text))


def is_sub_column(link: Link, column_url: str) -> bool:
    """Inside the report column, a link to one of its parts: a year (2023年, 2022年度), a kind
    of office (县直部门, 乡镇（街道）) or a folder below the column's own."""
    text = link.text
    if not looks_like_list(link.url) or not text or len(text) > 15 or is_report_candidate(link):
        return False
    if SUB_COLUMN_TEXT.search(text):
        return True
    folder = column_url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
    return link.url.startswith(folder) and link.url.split("?", 1)[0] != column_url.split("?", 1)[0]


def classify(link: Link, link_pattern: re.Pattern | None = None) -> str | None:
    """'attachment' or 'page' (a report candidate), 'list' (the report column), 'nav' (a
    page on the way to it) or None (not ours).

    A URL matching the portal's `link_pattern` is a report candidate whatever its text."""
    ext = attachment_ext(link.url, link.text)
    if link_pattern is not None and link_pattern.search(link.url):
        return "attachment" if ext else "page"
    if ext:
        return "attachment" if is_report_candidate(link) else None
    if is_column_link(link):
        return "list"  # a year-less name: the column (a page that is a report says so itself)
    if is_report_candidate(link):
        return "page"
    if is_nav_link(link):
        return "nav"
    return None


def has_scripts(sel: Selector) -> bool:
    return bool(sel.xpath("//script"))
