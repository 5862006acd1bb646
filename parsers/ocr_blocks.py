"""OCR'd pages (ocr_page) -> Document blocks in reading order: text lines into paragraphs,
ruled tables into Tables (ocr_tables), one that runs over a page break joined into one.

Lines: the detector's boxes side by side on one row are one line (a wide gap between them
becomes a space, as between the cells of a table drawn without lines). A line starts a new
paragraph after a short line, when indented, after a wide gap, when its text is a different
size, or when it opens with a heading marker (一、（一）1.). Page numbers in the margins are
dropped. All measures are in line heights, so any scan resolution reads the same.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from .document import Paragraph, Table
from .ocr_page import Line, Page
from .ocr_tables import Span, join, span, to_table
from .reader_text import join_pieces, starts_with_marker

_PAGE_NUMBER = re.compile(r"^[\s\-–—－_.·•~:：]*(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*[/／共]\s*\d{1,4}\s*页?)?"
                          r"[\s\-–—－_.·•~:：]*$")


@dataclass
class TextLine:
    text: str
    x0: int
    y0: int
    x1: int
    y1: int
    page: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def text_lines(page: Page) -> list[TextLine]:
    """The page's boxes outside tables as lines, top to bottom, page numbers dropped."""
    rows: list[list[Line]] = []
    for line in sorted(page.lines, key=lambda ln: ln.box[1]):
        for row in rows:
            if _overlaps(row, line):
                row.append(line)
                break
        else:
            rows.append([line])
    out = []
    for row in rows:
        row.sort(key=lambda ln: ln.box[0])
        text = row[0].text
        for prev, line in zip(row, row[1:]):
            height = min(prev.box[3] - prev.box[1], line.box[3] - line.box[1])
            text += (" " if line.box[0] - prev.box[2] > height else "") + line.text
        x0, y0 = min(ln.box[0] for ln in row), min(ln.box[1] for ln in row)
        x1, y1 = max(ln.box[2] for ln in row), max(ln.box[3] for ln in row)
        margin = y1 < 0.1 * page.height or y0 > 0.88 * page.height
        if margin and _PAGE_NUMBER.match(text):
            continue
        out.append(TextLine(text.strip(), x0, y0, x1, y1, page.number))
    return sorted(out, key=lambda ln: ln.y0)


def _overlaps(row: list[Line], line: Line) -> bool:
    top = min(ln.box[1] for ln in row)
    bottom = max(ln.box[3] for ln in row)
    overlap = min(bottom, line.box[3]) - max(top, line.box[1])
    return overlap > 0.5 * min(bottom - top, line.box[3] - line.box[1])


def blocks(pages: list[Page]) -> list[Paragraph | Table]:
    """All pages' paragraphs and tables in reading order."""
    items: list[TextLine | Span] = []
    for page in pages:
        page_items: list[tuple[int, TextLine | Span]] = [(ln.y0, ln) for ln in text_lines(page)]
        page_items += [(pg.grid.ys[0], span(pg, page)) for pg in page.grids]
        page_items.sort(key=lambda it: it[0])
        for i, (_, item) in enumerate(page_items):
            prev = items[-1] if items else None
            if (i == 0 and isinstance(item, Span) and isinstance(prev, Span)
                    and prev.continues_on(item)):
                joined = join(prev, item)
                if joined is not None:
                    items[-1] = joined
                    continue
            items.append(item)
    out: list[Paragraph | Table] = []
    run: list[TextLine] = []
    for item in items:
        if isinstance(item, TextLine):
            run.append(item)
            continue
        out += paragraphs(run)
        run = []
        out.append(to_table(item))
    return out + paragraphs(run)


def paragraphs(lines: list[TextLine]) -> list[Paragraph]:
    """Consecutive lines (no table between them) merged into paragraphs."""
    if not lines:
        return []
    body = [ln for ln in lines if len(ln.text) >= 8] or lines
    size = statistics.median(ln.height for ln in body)
    # the body's edges: the outermost lines near the usual start and end (not a centred title)
    mid_left = statistics.median(ln.x0 for ln in body)
    mid_right = statistics.median(ln.x1 for ln in body)
    left = min(ln.x0 for ln in body if ln.x0 <= mid_left + size)
    right = max(ln.x1 for ln in body if ln.x1 >= mid_right - size)
    out: list[Paragraph] = []
    group: list[TextLine] = []

    def flush() -> None:
        if group:
            text = join_pieces(ln.text for ln in group)
            tall = all(ln.height > 1.2 * size for ln in group)
            heading = tall and len(group) <= 2 and len(text) <= 40 and not text.endswith("。")
            out.append(Paragraph(text, heading=heading, page=group[0].page))

    for line in lines:
        if group and _starts_paragraph(group[-1], line, size, left, right):
            flush()
            group = []
        group.append(line)
    flush()
    return out


def _starts_paragraph(prev: TextLine, line: TextLine, size: float, left: int, right: int) -> bool:
    return (starts_with_marker(line.text)
            or line.x0 > left + 0.9 * size  # indented first line, or centred
            or prev.x1 < right - 1.0 * size  # the line before stopped short
            or abs(line.height - prev.height) > 0.25 * size
            or line.page == prev.page and line.y0 - prev.y1 > 1.0 * size)
