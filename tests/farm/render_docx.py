"""Render a report layout (report_layout.py) as a DOCX with python-docx, and that DOCX as PDF
and DOC with LibreOffice: the cross-format test cases ("the same report as HTML, DOCX, DOC
and PDF gives the same flat values").

    tables = layout_tables(values, "2021")
    title, body = narrative_from_text(text)
    data = render_docx(title=title, body=body, tables=tables)
    files = render_formats(data, cache_dir=tmp)   # {"docx": ..., "pdf": ..., "doc": ...}

Tables get real merged cells (gridSpan / vMerge), as Word writes them.
"""
from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
from report_layout import Table, expand_grid  # noqa: E402

from parsers.office_convert import convert  # noqa: E402


def _font(run_or_style, size: float, east_asia: str = "宋体", bold: bool = False) -> None:
    run_or_style.font.size = Pt(size)
    run_or_style.font.bold = bold or None
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east_asia)


def render_docx(*, title: str, body: list[tuple[str, object]], tables: list[Table],
                agency: str | None = None, date: str | None = None,
                core_title: str | None = None, borders: bool = True) -> bytes:
    """The report as DOCX bytes: a centred bold title, headings in bold, indented paragraphs,
    and each ("table", i) block as tables[i] with merged cells. `agency` and `date` add a
    right-aligned signature; `core_title` sets the document properties' title."""
    doc = docx.Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2))
    _font(doc.styles["Normal"], 12)
    if core_title:
        doc.core_properties.title = core_title
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run(title), 18, "黑体", bold=True)
    for kind, content in body:
        if kind == "table":
            _add_table(doc, tables[int(content)], borders)
            doc.add_paragraph()
            continue
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(24)
        _font(p.add_run(str(content)), 12, "黑体" if kind == "h" else "宋体", bold=kind == "h")
    for line in (agency, date):
        if line:
            p = doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _font(p.add_run(line), 12)
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same package with fixed member timestamps, so equal reports give equal bytes
    (and render_formats' cache hits)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, (2020, 1, 1, 0, 0, 0)), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _add_table(doc, table: Table, borders: bool = True) -> None:
    grid = expand_grid(table)  # validates the spans
    nrows, ncols = len(grid), len(grid[0])
    t = doc.add_table(rows=nrows, cols=ncols)
    if borders:  # else python-docx's "Normal Table": no ruling lines at all
        t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    taken: set[tuple[int, int]] = set()
    for r, row in enumerate(table):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            target = t.cell(r, c)
            if cell.rowspan > 1 or cell.colspan > 1:
                target = target.merge(t.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken.add((r + dr, c + dc))
            para = target.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if cell.text:
                _font(para.add_run(cell.text), 9 if ncols > 4 else 10.5, bold=False)
            c += cell.colspan


def render_formats(docx_bytes: bytes, formats=("pdf", "doc"), cache_dir: Path | None = None,
                   timeout: float = 120) -> dict[str, bytes]:
    """{"docx": docx_bytes, "pdf": ..., "doc": ...} made by LibreOffice. With `cache_dir`,
    conversions are kept there under the DOCX's sha256, so a test session converts once."""
    out = {"docx": docx_bytes}
    key = hashlib.sha256(docx_bytes).hexdigest()[:16]
    for fmt in formats:
        cached = Path(cache_dir) / f"{key}.{fmt}" if cache_dir else None
        if cached is not None and cached.exists():
            out[fmt] = cached.read_bytes()
            continue
        out[fmt] = convert(docx_bytes, "docx", to=fmt, timeout=timeout)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(out[fmt])
    return out
