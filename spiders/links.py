"""Link extraction for government portals: which links are list pages, report pages or
attachments, and where the next list pages are.

Pure functions over a `parsel.Selector` and the page URL (no Scrapy engine, no I/O), so each
rule is tested on its own:

- TRS pagination: the page links are not in the HTML; a script calls
  `createPageHTML(total, current, "index", "html")` (or the 6-argument form
  `createPageHTML("page_div", total, current, "index", "html", records)`) and page n is
  `index_n.html` (page 0 is `index.html`), relative to the list page.
- ordinary pagination: anchors reading 下一页 / 尾页 / a page number.
- report links: link text or title with 年度报告 / 年报 / 政府信息公开…报告, or a portal pattern.
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
NEXT_PAGE_TEXT = re.compile(r"^(下一页|下页|后页|尾页|末页|最后一页|»|>>|›)$")
PAGE_NUMBER_TEXT = re.compile(r"^\[?\d{1,4}\]?$")
LIST_SEGMENT = re.compile(r"^(index|list|default|more)([_-]\d+)?\.(s?html?|jsp|php|aspx?)$", re.I)
SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "#", "data:")

_CALL = re.compile(r"createPageHTML\s*\(([^()]*)\)")
_VAR = re.compile(r"\b(?:var|let|const)?\s*([A-Za-z_$][\w$]*)\s*=\s*(\"[^\"]*\"|'[^']*'|-?\d+)\s*[;,\n]")


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
    """A column/list URL: a folder, or index/list/default(_n).html and the like."""
    path = urlsplit(url).path
    return path.endswith("/") or bool(LIST_SEGMENT.match(path.rsplit("/", 1)[-1]))


def is_report_text(text: str) -> bool:
    return bool(REPORT_TEXT.search(text))


def classify(link: Link, link_pattern: re.Pattern | None = None) -> str | None:
    """'attachment', 'list' (a report column), 'page' (a report page) or None (not ours).

    A URL matching the portal's `link_pattern` is a report page whatever its text."""
    ext = attachment_ext(link.url, link.text)
    if link_pattern is not None and link_pattern.search(link.url):
        return "attachment" if ext else "page"
    if not is_report_text(link.text):
        return None
    if ext:
        return "attachment"
    return "list" if looks_like_list(link.url) else "page"


# --- pagination --------------------------------------------------------------------------

def _split_args(argtext: str) -> list[str]:
    return [a.strip() for a in argtext.split(",")] if argtext.strip() else []


def _literal(token: str, variables: dict[str, str]):
    token = variables.get(token, token)
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    return None


def parse_create_page_html(script: str) -> list[tuple[int, int, str, str]]:
    """Every resolvable `createPageHTML(...)` call in a script as (total, current, prefix, ext).

    Simple `var n = 5;` assignments in the same script are resolved; the function's own
    definition (identifiers as parameters) and calls with expressions are skipped."""
    variables = {m.group(1): m.group(2) for m in _VAR.finditer(script)}
    calls = []
    for m in _CALL.finditer(script):
        args = [_literal(a, variables) for a in _split_args(m.group(1))]
        if len(args) >= 5 and isinstance(args[0], str) and isinstance(args[1], int):
            args = args[1:]  # ("page_div", total, current, prefix, ext, records)
        if (len(args) >= 4 and isinstance(args[0], int) and isinstance(args[1], int)
                and isinstance(args[2], str) and isinstance(args[3], str) and args[2] and args[3]):
            calls.append((args[0], args[1], args[2], args[3]))
    return calls


def trs_page_urls(page_url: str, total: int, current: int, prefix: str, ext: str,
                  limit: int) -> list[str]:
    """URLs of the other pages of a TRS list, as TRS names them, relative to `page_url`:
    the pages after `current` first, then those before it, at most `limit`."""
    total = max(0, min(total, 1_000_000))
    order = [n for n in range(current + 1, min(total, current + 1 + limit))]
    order += [n for n in range(0, min(current, total))][: max(0, limit - len(order))]
    names = [f"{prefix}.{ext}" if n == 0 else f"{prefix}_{n}.{ext}" for n in order]
    return [normalize_url(urljoin(page_url, name)) for name in names]


def pagination_urls(sel: Selector, page_url: str, limit: int = 50) -> list[str]:
    """Further list pages of this list: from TRS scripts, then from pager anchors."""
    urls: list[str] = []
    for script in sel.xpath("//script[not(@src)]/text()").getall():
        for total, current, prefix, ext in parse_create_page_html(script):
            urls += trs_page_urls(page_url, total, current, prefix, ext, limit)
    for link in extract_links(sel, page_url):
        if NEXT_PAGE_TEXT.match(link.text) or PAGE_NUMBER_TEXT.match(link.text):
            if not attachment_ext(link.url):
                urls.append(link.url)
    seen, out = {normalize_url(page_url)}, []
    for u in urls:
        if u not in seen:
            seen.add(u)
            out.append(u)
    return out[:limit]


def has_scripts(sel: Selector) -> bool:
    return bool(sel.xpath("//script"))
