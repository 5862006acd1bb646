"""Running text for the PDF reader: text lines with their position and font, page-number
lines dropped, and wrapped lines merged back into paragraphs. Chinese PDFs wrap lines
mid-sentence; a line starts a new paragraph when it begins with a heading marker (一、 （一）
1.), is indented, follows a short line, follows a large vertical gap, or changes font size."""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from .document import Paragraph
from .reader_text import join_pieces, starts_with_marker

PAGE_NUMBER = re.compile(
    r"^[\s\-–—－_~·•]*(?:第\s*)?[0-9０-９]{1,4}(?:\s*页)?(?:\s*[/／]\s*[0-9]{1,4}|\s*共\s*[0-9]{1,4}\s*页)?"
    r"[\s\-–—－_~·•]*$")
_DASHED_NUMBER = re.compile(r"^\s*[-–—－]\s*[0-9０-９]{1,4}\s*[-–—－]\s*$")
_BOLD_FONT = re.compile(r"bold|black|heavy|黑体|hei|xbs|小标宋|biaosong|zhongsong|中宋|demi", re.I)


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    page: int


def line_from_pdfplumber(line: dict, page: int) -> Line:
    chars = line.get("chars") or []
    sizes = [c.get("size", 0) for c in chars if c.get("text", "").strip()] or [line["bottom"] - line["top"]]
    fonts = Counter(c.get("fontname", "") for c in chars if c.get("text", "").strip())
    font = fonts.most_common(1)[0][0] if fonts else ""
    return Line(line["text"], line["x0"], line["x1"], line["top"], line["bottom"],
                statistics.median(sizes), bool(_BOLD_FONT.search(font)), page)


def is_page_number(line: Line, page_height: float) -> bool:
    """'- 1 -' anywhere; '3', '第 3 页', '3/12' only in the top or bottom margin."""
    if _DASHED_NUMBER.match(line.text):
        return True
    in_margin = line.top > page_height * 0.88 or line.bottom < page_height * 0.1
    return in_margin and bool(PAGE_NUMBER.match(line.text))


class Metrics:
    """The body text's left and right edges, font size and usual gap between lines."""

    def __init__(self, lines: list[Line]) -> None:
        body = [ln for ln in lines if len(ln.text) >= 8] or lines
        self.size = statistics.median([ln.size for ln in body]) if body else 12.0
        self.left = _mode([ln.x0 for ln in body], min)
        self.right = _mode([ln.x1 for ln in body], max)
        gaps = [b.top - a.bottom for a, b in zip(lines, lines[1:])
                if a.page == b.page and 0 <= b.top - a.bottom < 3 * self.size]
        self.gap = statistics.median(gaps) if gaps else self.size * 0.5


def _mode(values: list[float], tie):
    if not values:
        return 0.0
    counts = Counter(round(v / 2) * 2 for v in values)
    best = max(counts.values())
    return tie(v for v, n in counts.items() if n == best)


def starts_paragraph(prev: Line, line: Line, m: Metrics) -> bool:
    if starts_with_marker(line.text):
        return True
    if line.x0 > m.left + 0.9 * m.size:  # indented first line, or centred
        return True
    if prev.x1 < m.right - 1.0 * m.size:  # the line before stopped short
        return True
    if abs(line.size - prev.size) > 0.15 * m.size or line.bold != prev.bold:
        return True
    if line.page == prev.page and line.top - prev.bottom > 1.8 * m.gap + 2:
        return True
    return False


def paragraphs(lines: list[Line], m: Metrics) -> list[Paragraph]:
    """Merge consecutive lines (a run with no table between them) into paragraphs."""
    out: list[Paragraph] = []
    group: list[Line] = []

    def flush() -> None:
        if group:
            text = join_pieces(ln.text for ln in group)
            out.append(Paragraph(text, heading=_heading(group, m), page=group[0].page))

    for line in lines:
        if group and starts_paragraph(group[-1], line, m):
            flush()
            group = []
        group.append(line)
    flush()
    return out


def _heading(group: list[Line], m: Metrics) -> bool:
    text = "".join(ln.text for ln in group)
    if len(group) > 2 or len(text) > 40 or text.endswith(("。", "；", ";")):
        return False
    return all(ln.bold or ln.size > 1.15 * m.size for ln in group)
