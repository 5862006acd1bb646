"""Any other list: 下一页 / 尾页 / page-number anchors and query-string pages (`?page=2`).

The fallback family: it always matches. Pager anchors are recognised by their text; a
page-number anchor or a next-page link whose URL only changes a page parameter
(`page`, `pageNo`, `pageIndex`, `p`, `curpage`, ...) is a further page of the same list.
Entries are ordinary links, read by the spider.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from spiders.families import Entry, Fetch, page_fetches
from spiders.links import attachment_ext, extract_links

NAME = "generic"
NEXT_PAGE_TEXT = re.compile(r"^(下一页|下页|后页|尾页|末页|最后一页|»|>>|›|>)$")
PAGE_NUMBER_TEXT = re.compile(r"^\[?\d{1,4}\]?$")
PAGE_PARAMS = {"page", "pageno", "pagenum", "pageindex", "p", "pn", "curpage", "currentpage",
               "page_no", "pagenumber", "cur_page"}


def _same_list(url: str, page_url: str) -> bool:
    """Another page of this list: the same path, with a page parameter in the query."""
    a, b = urlsplit(url), urlsplit(page_url)
    keys = {k.lower() for k, _ in parse_qsl(a.query)}
    return a.netloc == b.netloc and a.path == b.path and bool(keys & PAGE_PARAMS)


def detect(response) -> bool:
    return True


def entries(response) -> list[Entry]:
    return []


def more(response, limit: int) -> list[Fetch]:
    urls = []
    for link in extract_links(response.selector, response.url):
        if NEXT_PAGE_TEXT.match(link.text) or PAGE_NUMBER_TEXT.match(link.text):
            if not attachment_ext(link.url):
                urls.append(link.url)
        elif _same_list(link.url, response.url):
            urls.append(link.url)
    return page_fetches(urls, response.url, limit)


def read(response, state: dict) -> tuple[list[Entry], list[Fetch]]:
    return [], []
