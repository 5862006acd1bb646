"""TRS WCM (拓尔思), the most common government CMS: `createPageHTML` pagination.

A TRS list page does not carry its page links in the HTML: a script calls
`createPageHTML(total, current, "index", "html")` (or the 6-argument form
`createPageHTML("page_div", total, current, "index", "html", records)`, sometimes with its
arguments in `var` assignments), and page n is `index_n.html` (page 0 is `index.html`),
relative to the list page. Entries are ordinary links, read by the spider.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin

from spiders.families import Entry, Fetch, page_fetches
from spiders.links import normalize_url

NAME = "trs"
_CALL = re.compile(r"createPageHTML\s*\(([^()]*)\)")
_VAR = re.compile(r"\b(?:var|let|const)?\s*([A-Za-z_$][\w$]*)\s*=\s*(\"[^\"]*\"|'[^']*'|-?\d+)\s*[;,\n]")


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


def _calls(response) -> list[tuple[int, int, str, str]]:
    calls = []
    for script in response.xpath("//script[not(@src)]/text()").getall():
        if "createPageHTML" in script:
            calls += parse_create_page_html(script)
    return calls


def detect(response) -> bool:
    return bool(_calls(response))


def entries(response) -> list[Entry]:
    return []


def more(response, limit: int) -> list[Fetch]:
    urls: list[str] = []
    for total, current, prefix, ext in _calls(response):
        urls += trs_page_urls(response.url, total, current, prefix, ext, limit)
    return page_fetches(urls, response.url, limit)


def read(response, state: dict) -> tuple[list[Entry], list[Fetch]]:
    return [], []  # TRS makes no data calls
