"""A DOCX report as the text other tools extract from it: the shapes researchers' and other
archives' copies of reports come in, made from our own rendered documents.

Each function walks the DOCX's own XML (paragraphs and tables in body order, `w:gridSpan`
and `w:vMerge` as Word wrote them) and writes it the way one kind of tool does:

- `tika_text`: Apache Tika's XHTML-to-text rules (its XHTMLContentHandler puts a tab before
  each `td` and a newline after each `p`, `tr` and `table`; its DOCX extractor writes a cell
  covered by a vertical merge not at all, a horizontally merged cell once, and bookmarks as
  `[bookmark: NAME]`). So: one cell per line, each starting with a tab, a blank line after
  each row; a cell of several lines (narrow label cells typed with line breaks) continues on
  lines without the tab.
- `tab_rows_text`: one line per row of the grid, cells joined by tabs, a merged cell
  written once and the grid positions it covers as empty cells, and trailing empty cells
  dropped from some rows and kept on others (tools that strip lines, and tools that end
  every cell with a tab): the same column sits at a different index from row to row once
  the trailing cells are counted from the right.
- `markdown_text`: what PDF-to-Markdown tools make of the same pages: pipe rows, a long
  label left outside the table on its own line above its values-only row, a rowspan label
  split over the rows it spans (`| （三）不 | 4.保护第三方合法权益 |`), and a page footer
  (`— 5 —`) in the middle of a table.

Cell line breaks for the narrow columns are made here (`wrap`), as an office typing into a
narrow cell does; the DOCX itself holds each cell as one paragraph.
"""
from __future__ import annotations

import io
import zipfile

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _paragraph_text(p) -> str:
    return "".join(t.text or "" for t in p.iter(f"{W}t"))


def _cell_info(tc) -> tuple[str, int, bool]:
    """(text, grid span, covered by a vertical merge from above)."""
    pr = tc.find(f"{W}tcPr")
    span, covered = 1, False
    if pr is not None:
        gs = pr.find(f"{W}gridSpan")
        if gs is not None:
            span = int(gs.get(f"{W}val", "1"))
        vm = pr.find(f"{W}vMerge")
        if vm is not None and vm.get(f"{W}val", "continue") != "restart":
            covered = True
    text = "\n".join(_paragraph_text(p) for p in tc.iter(f"{W}p")).strip("\n")
    return text, span, covered


def _blocks(docx_bytes: bytes):
    """('p', text) and ('table', [[(text, span, covered), ...], ...]) in body order."""
    xml = zipfile.ZipFile(io.BytesIO(docx_bytes)).read("word/document.xml")
    body = etree.fromstring(xml).find(f"{W}body")
    for child in body:
        if child.tag == f"{W}p":
            yield "p", _paragraph_text(child)
        elif child.tag == f"{W}tbl":
            yield "table", [[_cell_info(tc) for tc in tr.iter(f"{W}tc")]
                            for tr in child.iter(f"{W}tr")]


def wrap(text: str, width: int) -> list[str]:
    """A label typed into a narrow cell: lines of `width` characters."""
    if width <= 0 or len(text) <= width:
        return [text]
    return [text[i:i + width] for i in range(0, len(text), width)]


def _narrow(text: str, span: int, covered_below: bool) -> bool:
    # a label cell spanning rows (三、本年度办理结果, （三）不予公开) sits in a narrow column
    return covered_below and span == 1 and not text.replace(".", "").isdigit()


def _covers_below(rows, r: int, c: int) -> bool:
    """Whether the cell at (row r, grid column c) continues into the row below."""
    if r + 1 >= len(rows):
        return False
    col = 0
    for text, span, covered in rows[r + 1]:
        if col == c:
            return covered
        col += span
    return False


def tika_text(docx_bytes: bytes, *, wrap_width: int = 2) -> str:
    out: list[str] = []
    paragraphs = [t for kind, t in _blocks(docx_bytes) if kind == "p" and t.strip()]
    last = paragraphs[-1] if paragraphs else None
    for kind, content in _blocks(docx_bytes):
        if kind == "p":
            out.append(content + ("[bookmark: _GoBack]" if content == last else "") + "\n")
            continue
        for r, row in enumerate(content):
            col = 0
            for text, span, covered in row:
                if not covered:
                    lines = wrap(text, wrap_width) if _narrow(text, span, _covers_below(
                        content, r, col)) else [text]
                    out.append("\t" + "\n".join(lines) + "\n")
                col += span
            out.append("\n")
        out.append("\n")
    return "".join(out)


def tab_rows_text(docx_bytes: bytes) -> str:
    out: list[str] = []
    for kind, content in _blocks(docx_bytes):
        if kind == "p":
            out.append(content + "\n")
            continue
        for r, row in enumerate(content):
            cells = []
            for text, span, covered in row:
                cells += ["" if covered else text] + [""] * (span - 1)
            if r % 2:  # this tool strips the line; the other ends every cell with a tab
                while cells and not cells[-1]:
                    cells.pop()
                out.append("\t".join(cells) + "\n")
            else:
                out.append("".join(c + "\t" for c in cells) + "\n")
        out.append("\n")
    return "".join(out)


def markdown_text(docx_bytes: bytes, *, footer_after: int = 12, label_outside: int = 12) -> str:
    """Pipe rows; a label longer than `label_outside` characters is written on a line of its
    own above a row of its values only; after `footer_after` rows of a long table, a page
    footer line and the table continues (its header row repeated, as the tools do)."""
    out: list[str] = []
    page = 3
    for kind, content in _blocks(docx_bytes):
        if kind == "p":
            if content.strip():
                out.append(content + "\n\n")
            continue
        spread = _spread_row_labels(content)
        for r, cells in enumerate(spread):
            labels = [c for c in cells if c and not _is_value(c)]
            values = [c for c in cells if not (c and not _is_value(c))]
            if (labels and values and any(values) and len("".join(labels)) > label_outside
                    and len(labels) == 1):
                out.append(labels[0] + "\n")
                cells = values
            out.append("| " + " | ".join(cells) + " |\n")
            if r == 0:
                out.append("|" + "---|" * len(cells) + "\n")
            if r + 1 == footer_after and len(spread) > footer_after + 2:
                page += 1
                out.append(f"\n— {page} —\n\n")
        out.append("\n")
    return "".join(out)


def _is_value(text: str) -> bool:
    return text.replace(".", "", 1).replace(",", "").strip().isdigit()


def _spread_row_labels(rows) -> list[list[str]]:
    """Each row's cells, a label spanning rows split over the rows it spans, as a PDF's
    vertical text comes out of a PDF-to-Markdown tool (（三）不 / 予公 / 开 …)."""
    grid: list[list[str]] = []
    pending: dict[int, list[str]] = {}  # grid column -> the rest of a spread label
    for r, row in enumerate(rows):
        cells, col = [], 0
        for text, span, covered in row:
            if covered:
                rest = pending.get(col, [])
                cells.append(rest.pop(0) if rest else "")
            else:
                height = _height(rows, r, col)
                if height > 1 and not _is_value(text) and text:
                    size = max(1, -(-len(text) // height))
                    pieces = wrap(text, size)
                    cells.append(pieces[0])
                    pending[col] = pieces[1:]
                else:
                    cells.append(text)
            col += span
        grid.append(cells)
    return grid


def _height(rows, r: int, c: int) -> int:
    n = 1
    while _covers_below(rows, r + n - 1, c):
        n += 1
    return n
