"""Hanweb (大汉网络) jcms / jpaas column lists: records in a `<datastore>`, the rest from dataproxy.jsp.

A column page (`/col/colNNN/index.html`) carries the first records of its list as XML in a
script the browser does not run, inside a container whose id is the list's unit id:

    <div id="49468"><script type="text/xml"><datastore>
      <nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=1&columnid=..&unitid=..">]]></nextgroup>
      <recordset><record><![CDATA[<li><a href="/art/2023/1/5/art_123_456.html" title="..">..</a>
        <span>2023-01-05</span></li>]]></record>...</recordset></datastore></script></div>

and a script configures the jQuery pager `jpage` for it:

    $('#49468').jpage({totalRecord:1418, groupSize:3, perPage:25,
        proxyUrl:'/module/web/jpage/dataproxy.jsp',
        ajaxParam:{col:1, appid:'1', webid:60, path:'/', columnid:30067, unitid:'49468', ...}});

(`ajaxParam` may name a `var param_49468 = {...}` instead; `proxyUrl` varies:
/module/web/jpage/, /module/jslib/jquery/jpage/, /module/jpage/.) The pager fetches one *group*
(groupSize pages, default 3) per call: `POST <proxyUrl>?startrecord=S&endrecord=E&perpage=P`
with the ajaxParam values as the form, S/E 1-based and inclusive. The answer is the same
`<datastore>` XML (`<totalrecord>`, `<recordset>`), UTF-8 or GBK as its declaration says.

`more` asks for everything after the records already on the page, one group per call; when
the page gives no total, it asks for one group and `read` schedules the rest from the
answer's `<totalrecord>`.
"""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from parsel import Selector

from spiders.families import Entry, Fetch
from spiders.links import clean_text, normalize_url

NAME = "hanweb"
DEFAULT_PROXY = "/module/web/jpage/dataproxy.jsp"
WINDOW_KEYS = {"page", "startrecord", "endrecord", "perpage"}

_RECORD = re.compile(r"<record>\s*(?:<!\[CDATA\[(.*?)\]\]>|(.*?))\s*</record>", re.S)
_NEXTGROUP = re.compile(r"<nextgroup>(.*?)</nextgroup>", re.S)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
_JPAGE = re.compile(r"""\$\(\s*['"]#([\w-]+)['"]\s*\)\s*\.jpage\(\s*(?=\{)""")
_VAR = re.compile(r"\bvar\s+([A-Za-z_$][\w$]*)\s*=\s*(?=\{)")
_PAIR = re.compile(r"""['"]?([A-Za-z_$][\w$]*)['"]?\s*:\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|"""
                   r"""\{[^{}]*\}|-?\d+(?:\.\d+)?|[A-Za-z_$][\w$.]*)""")
_HREF = re.compile(r"""href\s*=\s*['"]([^'"]*dataproxy\.jsp[^'"]*)['"]""", re.I)
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


# --- a little JavaScript: object literals of strings, numbers, names and flat objects ------

def _braced(text: str, start: int) -> str:
    """The `{...}` starting at `start`, braces inside quotes ignored."""
    depth, quote, i = 0, "", start
    while i < len(text):
        c = text[i]
        if quote:
            i += c == "\\"
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
    return text[start:]


def _object(literal: str, names: dict | None = None) -> dict:
    out = {}
    for key, raw in _PAIR.findall(literal[1:-1] if literal.startswith("{") else literal):
        if raw[0] in "'\"":
            out[key] = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif raw[0] == "{":
            out[key] = _object(raw)
        elif re.fullmatch(r"-?\d+(?:\.\d+)?", raw):
            out[key] = raw
        else:  # a name: another object literal of the page, or left as it is
            out[key] = (names or {}).get(raw, raw)
    return out


def _scripts(text: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """(jpage configs by container id, `var x = {...}` objects by name) of a page's scripts."""
    names = {m.group(1): _object(_braced(text, m.end())) for m in _VAR.finditer(text)}
    configs = {m.group(1): _object(_braced(text, m.end()), names) for m in _JPAGE.finditer(text)}
    return configs, names


# --- datastore XML ----------------------------------------------------------------------

def _records(xml: str, base: str) -> list[Entry]:
    out = []
    for cdata, plain in _RECORD.findall(xml):
        fragment = cdata if cdata else html.unescape(plain)
        sel = Selector(text=f"<div>{fragment}</div>")
        a = sel.xpath("//a[@href]")
        if not a:
            continue
        a = a[0]
        text = clean_text(" ".join(a.xpath(".//text()").getall()))
        title = clean_text(a.attrib.get("title") or "")
        m = _DATE.search(" ".join(sel.xpath("//text()").getall()))
        date = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}" if m else None
        url = normalize_url(urljoin(base, a.attrib["href"].strip()))
        out.append(Entry(url, title if len(title) > len(text.rstrip(".…")) else text, date))
    return out


def _blocks(response) -> list[tuple[str | None, str]]:
    """(container id, datastore XML) for each datastore script of a page."""
    sel = Selector(text=response.text)
    return [(s.xpath("ancestor::*[@id][1]/@id").get(), s.xpath("string()").get())
            for s in sel.xpath("//script[contains(., '<datastore')]")]


def detect(response) -> bool:
    text = response.text
    if "<datastore" in text and "<record" in text:
        return True
    if _JPAGE.search(text) and ("dataproxy" in text or "ajaxParam" in text):
        return True
    return bool(re.search(r"/col/col\d+/", response.url)) and "dataproxy.jsp" in text


def entries(response) -> list[Entry]:
    return [e for _, xml in _blocks(response) for e in _records(xml, response.url)]


def _window_fetch(pager: dict, start: int, chain_limit: int | None = None) -> Fetch:
    """The dataproxy call for records start .. start + window - 1."""
    window, perpage = pager["window"], pager["perpage"]
    query = urlencode({"startrecord": start, "endrecord": start + window - 1, "perpage": perpage})
    state = {**pager, "start": start}
    if chain_limit is not None:
        state.update(chain=True, limit=chain_limit)
    return Fetch(url=f"{pager['proxy']}?{query}", kind="api", method="POST",
                 formdata=dict(pager["params"]), state=state)


def _pager(unit: str | None, xml: str, cfg: dict, names: dict, page_url: str) -> dict | None:
    """How to ask for one list's further records: proxy URL, form, perpage, window, total."""
    params: dict = {}
    group = _NEXTGROUP.search(xml)
    link = _HREF.search(group[1]) if group else None
    link_query = dict(parse_qsl(urlsplit(html.unescape(link[1])).query)) if link else {}
    params.update(link_query)
    if unit and f"param_{unit}" in names:
        params.update(names[f"param_{unit}"])
    ajax = cfg.get("ajaxParam")
    params.update(ajax if isinstance(ajax, dict) else dict(parse_qsl(str(ajax or ""))))
    params = {k: str(v) for k, v in params.items()
              if k not in WINDOW_KEYS and not isinstance(v, dict)}
    if "columnid" not in params:
        return None
    if unit and unit.isdigit():
        params.setdefault("unitid", unit)
    proxy = cfg.get("proxyUrl") if isinstance(cfg.get("proxyUrl"), str) else ""
    proxy = proxy or (urlsplit(html.unescape(link[1])).path if link else "") or DEFAULT_PROXY
    perpage = int(cfg.get("perPage") or link_query.get("perpage") or 15)
    total = cfg.get("totalRecord") or (_TOTAL.search(xml)[1] if _TOTAL.search(xml) else None)
    return {"proxy": urljoin(page_url, proxy), "params": params, "perpage": perpage,
            "window": perpage * max(1, int(cfg.get("groupSize") or 3)),
            "total": int(total) if str(total or "").isdigit() else None,
            "first": len(_records(xml, page_url)) + 1, "base": page_url}


def more(response, limit: int) -> list[Fetch]:
    configs, names = _scripts(response.text)
    blocks = dict(reversed(_blocks(response)))  # one block per container id, the first wins
    out: list[Fetch] = []
    for unit in list(blocks) + [u for u in configs if u not in blocks]:
        cfg = configs.get(unit) or (next(iter(configs.values())) if len(configs) == 1 else {})
        pager = _pager(unit, blocks.get(unit, ""), cfg, names, response.url)
        room = limit - len(out)
        if pager is None or room <= 0:
            continue
        if pager["total"] is None:  # no total on the page: one group now, the rest from its answer
            out.append(_window_fetch(pager, pager["first"], chain_limit=room - 1))
        else:
            out += [_window_fetch(pager, s)
                    for s in range(pager["first"], pager["total"] + 1, pager["window"])][:room]
    return out


def read(response, state: dict) -> tuple[list[Entry], list[Fetch]]:
    """The records of a dataproxy answer; in a chain, the calls for the groups after it."""
    text = response.text
    found = _records(text, state.get("base") or response.url)
    total = _TOTAL.search(text)
    further: list[Fetch] = []
    if state.get("chain") and total and found:
        pager = {k: v for k, v in state.items() if k not in ("chain", "limit", "start")}
        starts = range(int(state["start"]) + int(state["window"]), int(total[1]) + 1,
                       int(state["window"]))
        further = [_window_fetch(pager, s) for s in starts][:max(0, int(state.get("limit", 0)))]
    return found, further
