"""Read a DOCX into a Document: the body's paragraphs and tables in order (walking the body
XML, so content controls and text boxes are not lost), tables as grids with gridSpan and
vMerge expanded and their origins kept, one-column layout tables unwrapped into their
content, nested tables flattened into the blocks after their table, headings from styles,
outline levels or short bold/large lines. python-docx opens the package and supplies the
styles and core properties."""
from __future__ import annotations

import io
import re

import docx

from .document import Document, Paragraph, Table
from .reader_text import join_pieces, sensible_title, squeeze_grid

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_SKIP = {W + "del", W + "txbxContent", MC_FALLBACK, W + "pPr", W + "rPr", W + "moveFrom"}
_HEADING_STYLE = re.compile(r"heading\s*\d|^title$|^subtitle$|标题|^toc heading", re.I)


def read_docx(data: bytes, fmt: str = "docx") -> Document:
    """Parse DOCX bytes; a broken package gives a Document with a warning."""
    out = Document(format=fmt)
    try:
        package = docx.Document(io.BytesIO(data))
    except Exception as e:  # zipfile, KeyError for a missing part, lxml errors
        out.warnings.append(f"{fmt}: cannot open as DOCX ({type(e).__name__}: {e})"[:300])
        return out
    try:
        styles = _Styles(package)
        out.title = sensible_title(package.core_properties.title)
    except Exception as e:  # a damaged styles or core-properties part: read the body anyway
        styles = _Styles(None)
        out.warnings.append(f"{fmt}: styles or properties unreadable ({type(e).__name__})")
    body = package.element.body
    out.blocks = list(_walk(body, styles))
    if body.find(".//" + W + "altChunk") is not None:
        out.warnings.append(f"{fmt}: content embedded as altChunk (an HTML/MHT part) was not read")
    return out


class _Styles:
    """Which paragraph style ids mean a heading, and which are bold."""

    def __init__(self, package) -> None:
        self.heading: set[str] = set()
        self.bold: set[str] = set()
        for style in package.styles.element.findall(W + "style") if package is not None else ():
            sid = style.get(W + "styleId")
            name = style.find(W + "name")
            name = name.get(W + "val") if name is not None else ""
            if _HEADING_STYLE.search(name or "") or _outline(style.find(W + "pPr")):
                self.heading.add(sid)
            rpr = style.find(W + "rPr")
            if rpr is not None and _on(rpr.find(W + "b")):
                self.bold.add(sid)


def _outline(ppr) -> bool:
    lvl = ppr.find(W + "outlineLvl") if ppr is not None else None
    return lvl is not None and lvl.get(W + "val", "9").isdigit() and int(lvl.get(W + "val")) < 9


def _on(el) -> bool:
    return el is not None and el.get(W + "val", "true") not in ("0", "false", "off")


def _walk(container, styles: _Styles):
    """Blocks of a body, a cell or a text box, in order."""
    for child in container:
        tag = child.tag
        if tag == W + "p":
            yield from _paragraphs(child, styles)
        elif tag == W + "tbl":
            yield from _table(child, styles)
        elif tag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _walk(content, styles)
        elif tag in (W + "customXml", W + "ins"):
            yield from _walk(child, styles)


def _text(el) -> str:
    parts = []
    for child in el:
        tag = child.tag
        if tag in _SKIP:
            continue
        if tag == W + "t":
            parts.append(child.text or "")
        elif tag == W + "tab":
            parts.append("\t")
        elif tag in (W + "br", W + "cr"):
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        else:
            parts.append(_text(child))
    return "".join(parts)


def _paragraphs(p, styles: _Styles):
    text = _text(p)
    pieces = [s.strip() for s in text.split("\n") if s.strip()]
    if pieces:
        heading = _is_heading(p, "".join(pieces), styles) if len(pieces) == 1 else _styled(p, styles)
        for piece in pieces:
            yield Paragraph(piece, heading=heading)
    # text boxes anchored in this paragraph (the Fallback copy is skipped)
    for box in p.iter(W + "txbxContent"):
        if not any(a.tag == MC_FALLBACK for a in box.iterancestors()):
            if not any(a.tag == W + "txbxContent" for a in box.iterancestors()):
                yield from _walk(box, styles)


def _styled(p, styles: _Styles) -> bool:
    ppr = p.find(W + "pPr")
    sid = ppr.find(W + "pStyle") if ppr is not None else None
    return (sid is not None and sid.get(W + "val") in styles.heading) or _outline(ppr)


def _is_heading(p, text: str, styles: _Styles) -> bool:
    if _styled(p, styles):
        return True
    if len(text) > 40 or text.endswith(("。", "；", ";", "：", ":")):
        return False
    ppr = p.find(W + "pPr")
    sid = ppr.find(W + "pStyle") if ppr is not None else None
    style_bold = sid is not None and sid.get(W + "val") in styles.bold
    runs = [r for r in p.iter(W + "r") if (_text(r) or "").strip()]
    if not runs:
        return False

    def bold(r) -> bool:
        b = r.find(W + "rPr/" + W + "b")
        return _on(b) if b is not None else style_bold

    def size(r) -> int:
        sz = r.find(W + "rPr/" + W + "sz")
        val = sz.get(W + "val", "") if sz is not None else ""
        return int(val) if val.isdigit() else 0

    return all(bold(r) for r in runs) or all(size(r) >= 32 for r in runs)


def _children(parent, tag: str):
    """`parent`'s w:<tag> children, looking through content controls and custom XML."""
    for child in parent:
        if child.tag == W + tag:
            yield child
        elif child.tag in (W + "sdt", W + "customXml"):
            content = child.find(W + "sdtContent") if child.tag == W + "sdt" else child
            if content is not None:
                yield from _children(content, tag)


def _cells(tr):
    return _children(tr, "tc")


def _rows(tbl):
    return _children(tbl, "tr")


def _int_attr(parent, path: str, default: int) -> int:
    el = parent.find(path) if parent is not None else None
    val = el.get(W + "val", "") if el is not None else ""
    return int(val) if val.isdigit() else default


def _table(tbl, styles: _Styles):
    """The table as one Table block (plus its nested tables after it), or, for a layout
    table of one column, the content of its cells."""
    rows, nested = [], []
    for tr in _rows(tbl):
        trpr = tr.find(W + "trPr")
        row = []
        before = _int_attr(trpr, W + "gridBefore", 0)
        row.extend([None] * before)
        for tc in _cells(tr):
            tcpr = tc.find(W + "tcPr")
            span = max(1, _int_attr(tcpr, W + "gridSpan", 1))
            vm = tcpr.find(W + "vMerge") if tcpr is not None else None
            hm = tcpr.find(W + "hMerge") if tcpr is not None else None
            merge = "continue" if vm is not None and vm.get(W + "val", "continue") == "continue" else None
            hmerge = hm is not None and hm.get(W + "val", "continue") == "continue"
            row.append((tc, span, merge, hmerge))
        rows.append(row)
    width = max((sum(1 if c is None else c[1] for c in row) for row in rows), default=0)
    if width <= 1:
        for row in rows:  # a frame around text, not a table
            for cell in row:
                if cell is not None:
                    yield from _walk(cell[0], styles)
        return
    texts = [[""] * width for _ in rows]
    origin = [[(r, c) for c in range(width)] for r in range(len(rows))]
    for r, row in enumerate(rows):
        col = 0
        for cell in row:
            if cell is None:
                col += 1
                continue
            tc, span, merge, hmerge = cell
            src = None
            if merge and r > 0 and col < width:
                src = origin[r - 1][col]
            elif hmerge and col > 0:
                src = origin[r][col - 1]
            if src is None:
                src, text = (r, col), _cell_text(tc, nested)
            else:
                text = texts[src[0]][src[1]]
            for c in range(col, min(col + span, width)):
                origin[r][c] = src
                texts[r][c] = text
            col += span
    texts, origin = squeeze_grid(texts, origin, _grid_widths(tbl))
    yield Table(rows=texts, origin=origin)
    for inner in nested:
        yield from _table(inner, styles)


def _cell_text(tc, nested: list) -> str:
    pieces = []
    for child in tc:
        if child.tag == W + "tbl":
            nested.append(child)
        elif child.tag in (W + "p", W + "sdt", W + "customXml"):
            pieces.extend(_text(child).split("\n"))
    return join_pieces(pieces)


def _grid_widths(tbl) -> list[float] | None:
    grid = tbl.find(W + "tblGrid")
    if grid is None:
        return None
    widths = [c.get(W + "w", "") for c in grid.findall(W + "gridCol")]
    return [float(w) for w in widths] if widths and all(w.isdigit() for w in widths) else None
