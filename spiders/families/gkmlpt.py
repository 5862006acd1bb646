"""Guangdong's 政府信息公开目录平台 ("gkmlpt"): the catalog page is a script-built app over a
JSON list API.

The protocol, as the platform's sites serve it:

- the catalog page is `{base}/gkmlpt/index` (`mindex` on mobile), where `{base}` is the site
  root or a department's folder (`http://www.x.gov.cn/xxj/gkmlpt/index`); its inline script
  holds the site id, usually `window._CONFIG = {SID: '755031', TREE: [...]}` (also seen as
  `var TREE = [...]` beside it, `window.SID = '...'`, `"SID": "..."`);
- categories (栏目) are numeric ids: menu links `#2361` / `index#2361`, and the `TREE` JSON
  (nodes with `id`, `name` and nested children);
- a category's articles: `GET {base}/gkmlpt/api/all/{ID}?page=N&sid={SID}`, pages from 1,
  answering `{"classify": {"id", "name", "post_count", ...}, "total": T, "offset": O,
  "articles": [{"id", "title", "url", "create_time", "date", "publisher", "type", ...}]}`;
  `url` is the absolute report page (`/gkmlpt/content/4/4942/post_4942475.html`),
  `create_time` the publication time in epoch seconds (`date` is the document's own date);
  the page size is the site's (10, 20 or 100): it is read off page 1's article count.

`more()` asks page 1 of the categories named as the annual-report column (政府信息公开年报,
工作年报, ...; else any name reading as reports), never every category; `read()` turns an answer into entries and, from page 1
only, schedules all the remaining pages at once (capped at MAX_PAGES).
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy.http import TextResponse

from spiders.families import Entry, Fetch
from spiders.links import Link, clean_text, is_column_link, is_report_text, normalize_url

NAME = "gkmlpt"
# more() picks the annual-report category itself: asked on the catalog page it is reached by
FINDS_COLUMN = True
MAX_PAGES = 50          # pages of one category, page 1 included
BEIJING = timezone(timedelta(hours=8))

_SID = re.compile(r"""(?<![\w$])SID["']?\s*[:=]\s*(?:["']([\w-]{1,32})["']|(\d{1,12})\b)""")
_SID_IN_API_URL = re.compile(r"""gkmlpt/api/[^"'\s<>]*?[?&;]sid=([\w-]{1,32})""")
_MARKER = re.compile(r"_CONFIG|\bTREE\b|gkmlpt")
_TREE = re.compile(r"\bTREE\b[\"']?\s*[:=]\s*\[")
_TREE_PAIR = re.compile(r"""\bid["']?\s*:\s*["']?(\d+)["']?\s*,\s*["']?(?:name|title)["']?\s*:\s*["']([^"']+)["']""")
_FRAGMENT_ID = re.compile(r"#(\d{1,12})$")
_DECODER = json.JSONDecoder()


def _scripts(response: TextResponse) -> list[str]:
    return response.xpath("//script[not(@src)]/text()").getall()


def site_id(response: TextResponse) -> str | None:
    """The site's SID, from the page's inline scripts (or an API URL written in the page)."""
    for script in _scripts(response):
        m = _SID.search(script)
        if m:
            return m.group(1) or m.group(2)
    m = _SID_IN_API_URL.search(response.text)
    return m.group(1) if m else None


def site_base(url: str) -> str:
    """What comes before `/gkmlpt/` in a platform URL (the site root or a department's folder);
    the origin for a URL outside the platform."""
    parts = urlsplit(url)
    path = parts.path
    i = path.find("/gkmlpt/")
    if i < 0 and path.endswith("/gkmlpt"):
        i = len(path) - len("/gkmlpt")
    return urlunsplit((parts.scheme, parts.netloc, path[:i] if i >= 0 else "", "", ""))


def detect(response: TextResponse) -> bool:
    """A gkmlpt catalog page: a SID in its script, and the platform's config or paths."""
    if site_id(response) is None:
        return False
    if "/gkmlpt/" in urlsplit(response.url).path or _MARKER.search(" ".join(_scripts(response))):
        return True
    assets = response.xpath("//script/@src | //link/@href").getall()
    return any("gkmlpt" in a for a in assets)


def entries(response: TextResponse) -> list[Entry]:
    """The catalog lists its articles through the API only (plain links are the spider's)."""
    return []


def _walk(node, out: list[tuple[str, str]], depth: int = 0) -> None:
    if depth > 20:
        return
    if isinstance(node, dict):
        cid, name = node.get("id"), node.get("name") or node.get("title")
        if isinstance(cid, (int, str)) and str(cid).isdigit() and isinstance(name, str):
            out.append((str(cid), clean_text(name)))
        for value in node.values():
            if isinstance(value, (list, dict)):
                _walk(value, out, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _walk(item, out, depth + 1)


def categories(response: TextResponse) -> list[tuple[str, str, str]]:
    """(category id, name, site base) for every category the page names: its `#ID` menu links,
    then the nodes of its `TREE`."""
    found: list[tuple[str, str, str]] = []
    for a in response.xpath("//a[@href]"):
        href = (a.attrib.get("href") or "").strip()
        m = _FRAGMENT_ID.search(href)
        if not m:
            continue
        text = clean_text(" ".join(a.xpath(".//text()").getall()))
        title = clean_text(a.attrib.get("title") or "")
        target = urljoin(response.url, href)
        base = site_base(target) if "/gkmlpt" in urlsplit(target).path else site_base(response.url)
        found.append((m.group(1), title if len(title) > len(text) else text, base))
    base = site_base(response.url)
    for script in _scripts(response):
        for m in _TREE.finditer(script):
            nodes: list[tuple[str, str]] = []
            try:
                _walk(_DECODER.raw_decode(script, m.end() - 1)[0], nodes)
            except ValueError:  # a JS literal, not JSON: read its id/name pairs
                nodes = [(i, clean_text(n)) for i, n in _TREE_PAIR.findall(script, m.end())]
            found += [(cid, name, base) for cid, name in nodes]
    return found


def more(response: TextResponse, limit: int) -> list[Fetch]:
    """Page 1 of each annual-report category (by its name), at most `limit`."""
    sid = site_id(response)
    if sid is None:
        return []
    named: dict[str, tuple[str, str]] = {}
    for cid, name, base in categories(response):
        if name and cid not in named:
            named[cid] = (name, base)
    # the column's own names (政府信息公开年报, 工作年报) first; any report wording otherwise
    picked = [c for c, (n, b) in named.items() if is_column_link(Link(f"{b}/gkmlpt/index#{c}", n))]
    picked = picked or [c for c, (n, _) in named.items() if is_report_text(n)]
    return [Fetch(url=f"{named[c][1]}/gkmlpt/api/all/{c}?page=1&sid={sid}", kind="api",
                  state={"category": c, "sid": sid, "page": 1}) for c in picked][:max(0, limit)]


def _as_date(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value  # a value in milliseconds
        if seconds <= 0:
            return None
        try:
            return datetime.fromtimestamp(seconds, BEIJING).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        m = re.match(r"\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", value)
        if m:
            return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    return None


def _article_date(article: dict) -> str | None:
    for key in ("create_time", "display_publish_time", "created_at", "date"):
        d = _as_date(article.get(key))
        if d:
            return d
    return None


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    return urlunsplit((parts.scheme, parts.netloc, parts.path,
                       urlencode([("page", str(page))] + query), ""))


def _to_int(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def read(response, state: dict) -> tuple[list[Entry], list[Fetch]]:
    """One API answer: its articles as entries; from page 1, the Fetches of pages 2..last."""
    try:
        text = response.text if isinstance(response, TextResponse) else response.body.decode("utf-8")
        data = json.loads(text.lstrip("\ufeff"))
    except (ValueError, AttributeError, UnicodeDecodeError):
        return [], []
    articles = data.get("articles") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        return [], []
    found: list[Entry] = []
    for article in articles:
        if not isinstance(article, dict):
            continue
        url = article.get("url") or article.get("post_url")
        if not isinstance(url, str) or not url.strip():
            continue
        url = normalize_url(urljoin(response.url, url.strip()))
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        title = article.get("title") if isinstance(article.get("title"), str) else ""
        found.append(Entry(url, clean_text(re.sub(r"<[^>]+>", " ", title)), _article_date(article)))
    fetches: list[Fetch] = []
    if _to_int((state or {}).get("page", 1)) <= 1 and articles:
        pages = min(math.ceil(_to_int(data.get("total")) / len(articles)), MAX_PAGES)
        fetches = [Fetch(url=_with_page(response.url, p), kind="api",
                         state={**(state or {}), "page": p}) for p in range(2, pages + 1)]
    return found, fetches
