"""Plain text (as other tools extract it from PDFs and web pages) -> Document.

Three table shapes occur: tab-separated lines (blank lines inside a table are skipped, a
label broken over two lines stays two rows for the builder to join), one cell per line (a
label line followed by its numbers, one per line), and a mix. Markdown headings (`#`) and
bullets (`- `) are unwrapped. Text tables are marked `aligned=False`: their columns do not
line up, only the order of cells on a line means something.
"""
from __future__ import annotations

import re

from parsers.decode import decode_bytes
from parsers.document import Document, Paragraph, Table
from parsers.numbers import is_blank, looks_numeric
from parsers.sections import match_section_heading

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_SHORT = 40  # a line in a one-cell-per-line table is short


def read_text(data: bytes) -> Document:
    text, _, warnings = decode_bytes(data)
    return text_to_document(text, warnings)


def text_to_document(text: str, warnings: list[str] | None = None) -> Document:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    doc = Document(format="txt", warnings=list(warnings or []))
    i = 0
    while i < len(lines):
        line = lines[i]
        if "\t" in line:
            i = _tab_table(lines, i, doc)
        elif _cell_per_line_run(lines, i):
            i = _cell_per_line_table(lines, i, doc)
        else:
            _paragraph(line, doc)
            i += 1
    return doc


def _paragraph(line: str, doc: Document) -> None:
    heading = bool(_MD_HEADING.match(line))
    text = _BOLD.sub(r"\1", _BULLET.sub("", _MD_HEADING.sub("", line))).strip()
    if text:
        doc.blocks.append(Paragraph(text, heading=heading))


def _tab_table(lines: list[str], i: int, doc: Document) -> int:
    rows = []
    while i < len(lines):
        if "\t" in lines[i]:
            rows.append([c.strip() for c in lines[i].split("\t")])
            i += 1
        elif not lines[i].strip() and _next_nonblank_has_tab(lines, i):
            i += 1
        else:
            break
    doc.blocks.append(Table(rows, aligned=False))
    return i


def _next_nonblank_has_tab(lines: list[str], i: int) -> bool:
    for line in lines[i:]:
        if line.strip():
            return "\t" in line
    return False


def _is_value_line(line: str) -> bool:
    s = line.strip()
    return bool(s) and (looks_numeric(s) or (is_blank(s) and s in "-—/／－"))


def _ends_run(line: str) -> bool:
    """A line that cannot be a cell: a tab row, running text, or a part heading."""
    s = line.strip()
    return ("\t" in line or (len(s) > _SHORT and not _is_value_line(s)) or s.endswith("。")
            or bool(_MD_HEADING.match(line)) or match_section_heading(s) is not None)


def _cell_per_line_run(lines: list[str], i: int) -> bool:
    """True when lines[i] starts a run of short lines holding at least five numbers."""
    if _ends_run(lines[i]):
        return False
    numbers = 0
    for line in lines[i:i + 60]:
        s = line.strip()
        if not s:
            continue
        if _ends_run(line):
            break
        numbers += _is_value_line(s)
        if numbers >= 5:
            return not _is_value_line(lines[i])
    return False


def _cell_per_line_table(lines: list[str], i: int, doc: Document) -> int:
    rows: list[list[str]] = []
    while i < len(lines):
        s = lines[i].strip()
        if s and _ends_run(lines[i]):
            break
        if s:
            if _is_value_line(s) and rows:
                rows[-1].append(s)
            else:
                rows.append([s])
        i += 1
    doc.blocks.append(Table(rows, aligned=False))
    return i
