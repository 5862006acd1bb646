"""HTML report pages -> Document.

The report is one block of a portal page (TRS's `div.TRS_Editor`, or whatever the CMS
calls it) among menus, footers and scripts. When the page holds report tables, the block
is the smallest element holding all of them and the 一、总体情况 heading; it is walked in
order with lxml, tables becoming cell grids with rowspan and colspan expanded. A page
without report tables (text only, or a page that links to a PDF) goes to trafilatura,
which is good at finding the main text of an arbitrary page.

Word-pasted cells split numbers over inline tags (`2</span><span>0`): a cell's text is
joined without separators. Metadata (`PubDate`, `ArticleTitle`, 发布时间) is read from the
whole page.
"""
from __future__ import annotations

import re

from lxml import etree, html

from parsers.decode import declared_charset, decode_bytes
from parsers.document import Document, Paragraph, Table
from parsers.normalize import clean_text, norm

_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article",
          "blockquote", "pre", "center", "tr", "dl", "dt", "dd", "header", "footer", "main",
          "form", "fieldset", "address", "figure", "figcaption", "caption", "hr", "body", "html",
          "tbody", "thead", "tfoot", "table", "td", "th"}
_SKIP = {"script", "style", "noscript", "head", "title", "meta", "link", "iframe", "object",
         "embed", "svg", "button", "select", "option", "textarea", "input", "template"}
_REPORT_TABLE_WORDS = ("信息内容", "申请人情况", "自然人", "行政复议", "本年新收", "第二十条", "予以公开")
_MAX_SPAN = 200
# The national tables have under a hundred rows; a far longer table is something else (a
# list of documents, a data dump) and is cut, so a 50 MB page cannot stall the builder.
MAX_TABLE_ROWS = 1000
MAX_MAIN_TEXT_CHARS = 3_000_000
_MIN_NARRATIVE = 300  # characters of running text that make a block the report body
_DATE_META = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time",
              "dc.date", "dcterms.created", "created", "releasedate")
_DATE_TEXT = re.compile(r"(?:发布|发文|公开|成文|印发)(?:时间|日期)\s*[:：]?\s*"
                        r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")


def read_html(data: bytes) -> Document:
    data = unwrap_mht(data)
    text, _, warnings = decode_bytes(data, declared_charset(data))
    doc = Document(format="html", warnings=warnings)
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # lxml refuses a str with an encoding declaration
    if not text.strip():
        doc.warnings.append("empty HTML page")
        return doc
    try:
        tree = html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        doc.warnings.append(f"could not parse the HTML: {exc}")
        return doc
    doc.title = _meta_title(tree)
    doc.published_at = _meta_date(tree)
    tables = [t for t in tree.iter("table") if _is_leaf(t) and _is_report_table(t)]
    if _ends_inside_table(text):
        doc.warnings.append("the page ends inside a table: the file looks cut short")
        open_tables = [t for t in tree.iter("table") if _is_leaf(t)]
        if open_tables:
            open_tables[-1].set(_CUT_MARK, "1")
    if tables:
        _walk(_content_root(tables), doc, [])
    elif len(text) > MAX_MAIN_TEXT_CHARS:
        # trafilatura needs minutes on a page this size; the body as it is will do.
        doc.warnings.append(f"a page of {len(text):,} characters: main-text extraction skipped")
        _walk(tree.find("body") if tree.find("body") is not None else tree, doc, [])
    else:
        _main_text(text, doc)
    return doc


_CUT_MARK = "data-nianbao-cut"


def _ends_inside_table(text: str) -> bool:
    tail = text[-400_000:].lower()
    return tail.rfind("<table") > tail.rfind("</table")


def unwrap_mht(data: bytes) -> bytes:
    """Word's "single file web page" (MHT, often served as .doc): the text/html part's
    bytes, transfer encoding undone; other bytes unchanged."""
    head = data[:2048].lower()
    if b"mime-version" not in head or b"multipart/" not in head:
        return data
    import email
    from email import policy

    message = email.message_from_bytes(data, policy=policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
            if charset and not declared_charset(payload):
                payload = f'<meta charset="{charset}">'.encode("ascii") + payload
            return payload
    return data


def _is_leaf(table) -> bool:
    return not any(True for _ in table.iterdescendants("table"))


def _is_report_table(table) -> bool:
    words = norm(table.text_content()[:4000])
    return any(w in words for w in _REPORT_TABLE_WORDS) and bool(re.search(r"\d", words))


def _content_root(tables):
    """Smallest element holding every report table and the first part's heading."""
    root = tables[0]
    ancestors = list(root.iterancestors())
    for table in tables[1:]:
        mine = set(table.iterancestors())
        root = next(a for a in ancestors if a in mine)
        ancestors = list(root.iterancestors())
    # Climb out of wrappers that hold only the tables, until the block has the report's
    # opening part or some running text of its own; never into the page chrome above.
    while (root.getparent() is not None and root.tag != "body"
           and "总体情况" not in norm(root.text_content())
           and _narrative_chars(root) < _MIN_NARRATIVE):
        root = root.getparent()
    return root


def _narrative_chars(el) -> int:
    """Characters of text in `el` outside its tables."""
    inside = sum(len(norm(t.text_content())) for t in el.iter("table"))
    return len(norm(el.text_content())) - inside


def _walk(el, doc: Document, buf: list[str]) -> None:
    """Depth-first walk: inline text gathers in `buf`, block elements flush it."""
    tag = el.tag.lower().split(":")[-1]  # only elements get here: comments are tails only
    if tag in _SKIP:
        _tail(el, buf)
        return
    if tag == "table" and _is_leaf(el):
        _flush(buf, doc)
        table = grid(el, doc.warnings)
        if table.rows:
            doc.blocks.append(table)
        _tail(el, buf)
        return
    block = tag in _BLOCK
    if block:
        _flush(buf, doc)
    if tag == "br":
        _flush(buf, doc)
    if el.text:
        buf.append(el.text)
    for child in el:
        if isinstance(child.tag, str):
            _walk(child, doc, buf)
        else:
            _tail(child, buf)
    if block:
        _flush(buf, doc, heading=tag in ("h1", "h2", "h3", "h4", "h5", "h6"))
    _tail(el, buf)


def _tail(el, buf: list[str]) -> None:
    if el.tail:
        buf.append(el.tail)


def _flush(buf: list[str], doc: Document, heading: bool = False) -> None:
    text = clean_text("".join(buf))
    buf.clear()
    if text:
        doc.blocks.append(Paragraph(text, heading=heading))


def cell_text(cell) -> str:
    """A cell's text, pieces joined without separators (Word splits numbers over spans,
    and a label written one character per line is still one label)."""
    return clean_text("".join(t for t in cell.itertext() if t))


def grid(table, warnings: list[str] | None = None) -> Table:
    """Expand rowspan/colspan into a rectangular grid with origins."""
    rows = [tr for tr in table.iter("tr") if _own_row(tr, table)]
    if len(rows) > MAX_TABLE_ROWS:
        if warnings is not None:
            warnings.append(f"a table of {len(rows)} rows was cut to its first {MAX_TABLE_ROWS}")
        rows = rows[:MAX_TABLE_ROWS]
    cells: dict[tuple[int, int], tuple[str, tuple[int, int]]] = {}
    for r, tr in enumerate(rows):
        c = 0
        for td in tr:
            if not isinstance(td.tag, str) or td.tag.lower() not in ("td", "th"):
                continue
            while (r, c) in cells:
                c += 1
            rowspan = min(_span(td.get("rowspan")), len(rows) - r)
            colspan = _span(td.get("colspan"))
            text = cell_text(td)
            for dr in range(rowspan):
                for dc in range(colspan):
                    cells.setdefault((r + dr, c + dc), (text, (r, c)))
            c += colspan
    if not cells:
        return Table([])
    height = max(r for r, _ in cells) + 1
    width = max(c for _, c in cells) + 1
    if table.get(_CUT_MARK):
        # the file ends in this row: its missing cells are not blank, they were never sent,
        # and its last cell's text may be cut (538 sent as 53)
        if warnings is not None:
            warnings.append(f"the last row of a table ({cells.get((height - 1, 0), ('',))[0]!r}) "
                            f"is where the file ends; it is left out")
        cells = {k: v for k, v in cells.items() if k[0] < height - 1}
        height -= 1
        if not cells:
            return Table([])
    grid_rows = [[cells.get((r, c), ("", (r, c)))[0] for c in range(width)] for r in range(height)]
    origin = [[cells.get((r, c), ("", (r, c)))[1] for c in range(width)] for r in range(height)]
    return Table(grid_rows, origin=origin)


def _own_row(tr, table) -> bool:
    return next(tr.iterancestors("table"), None) is table


def _span(value) -> int:
    try:
        return max(1, min(int(str(value).strip() or 1), _MAX_SPAN))
    except ValueError:
        return 1


def _meta_title(tree) -> str | None:
    for name in ("ArticleTitle", "articletitle", "og:title", "title", "dc.title"):
        for meta in tree.xpath(f'//meta[@name="{name}" or @property="{name}"]'):
            content = clean_text(meta.get("content") or "")
            if content:
                return content
    titles = tree.xpath("//title")
    return clean_text(titles[0].text_content()) if titles else None


def _meta_date(tree) -> str | None:
    for meta in tree.xpath("//meta[@name or @property]"):
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name in _DATE_META:
            m = re.search(r"((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})", meta.get("content") or "")
            if m:
                return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    body = tree.find("body")
    text = norm(body.text_content()[:20000]) if body is not None else ""
    m = _DATE_TEXT.search(text)
    if m:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    return None


def _main_text(text: str, doc: Document) -> None:
    import trafilatura

    extracted = trafilatura.extract(text, include_tables=False, include_comments=False,
                                    favor_recall=True, deduplicate=False)
    for line in (extracted or "").split("\n"):
        line = clean_text(line)
        if line:
            doc.blocks.append(Paragraph(line))
