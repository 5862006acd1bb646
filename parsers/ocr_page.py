"""One page image read by OCR: its ruled tables with the text of every cell, and the text
lines outside them.

A cell's text lines are found from its ink, inside its ruling lines (taken out of the
image first): rows of ink, the bands of one character's strokes (二, 三) put together by
the table's text height. The text detector is only used outside the tables (ocr_lines):
in a cell it would pass over lone short marks (a single '0' in a wide cell). Every line is
read from the full-size page, cut to its ink with a little paper around it. A cell's lines
are joined top to bottom (Chinese wraps without spaces); a cell that reads as a number has
the recogniser's letter-for-digit slips (O for 0, l for 1) put right.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import ocr_engine
from .ocr_grid import JOIN, Grid, dark_pixels, find_grids
from .ocr_lines import MIN_INK, Box, line_boxes
from .ocr_skew import straighten
from .reader_text import join_pieces

LINE = 1.6  # bands within this many text heights from a line's top are strokes of that line
# not "|": in a cell that is more likely a piece of a ruling line than a 1
_DIGIT_SLIPS = str.maketrans({"O": "0", "o": "0", "〇": "0", "l": "1", "I": "1",
                              "，": ",", "。": ".", "．": "."})
_NUMBER_LIKE = re.compile(r"^[\d.,，。．Oo〇lI]+$")


@dataclass
class Line:
    """A text line outside the tables."""

    text: str
    box: Box
    score: float


@dataclass
class PageGrid:
    """A ruled table with its cells' text (`texts[i]` is `grid.cells[i]`'s)."""

    grid: Grid
    texts: list[str]
    scores: list[float]


@dataclass
class Page:
    number: int
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    grids: list[PageGrid] = field(default_factory=list)


def read_page(gray: np.ndarray, number: int) -> Page:
    """OCR one page image (2-D uint8 greyscale)."""
    height, width = gray.shape
    page = Page(number, width, height)
    dark = dark_pixels(gray)
    straight = straighten(gray, dark)
    if straight is not None:
        gray, dark = straight, dark_pixels(straight)
    grids, rules = find_grids(dark)
    if grids:  # the ruling lines are no part of any text: paper where they were
        dark = dark & ~rules
        gray = np.where(rules, np.uint8(255), gray)
    page_box = (0, 0, width, height)
    crops: list[tuple[tuple[int, int] | None, Box, Box]] = []  # (grid, cell) or None, box, limit
    for g, grid in enumerate(grids):
        bands = [_ink_bands(dark, _inside(cell.box)) for cell in grid.cells]
        size = _text_height(bands)
        for i, cell_bands in enumerate(bands):
            inside = _inside(grid.cells[i].box)
            crops += [((g, i), box, inside) for box in _lines(cell_bands, size)]
    outside = [box for box in ocr_engine.detect(gray) if _cell_at(grids, _centre(box)) is None]
    crops += [(None, box, page_box) for box in line_boxes(dark, outside, [g.box for g in grids])]
    images, owners, kept = [], [], []
    for owner, box, limit in crops:
        image = _line_image(gray, dark, box, limit)
        if image is not None:
            images.append(image)
            owners.append(owner)
            kept.append(box)
    pieces: dict[tuple[int, int], list[tuple[Box, str, float]]] = {}
    for owner, box, (text, score) in zip(owners, kept, ocr_engine.recognise(images)):
        text = text.strip()
        if not text:
            continue
        if owner is None:
            page.lines.append(Line(text, box, score))
        else:
            pieces.setdefault(owner, []).append((box, text, score))
    for g, grid in enumerate(grids):
        texts, scores = [], []
        for i in range(len(grid.cells)):
            text, score = _cell_text(pieces.get((g, i), []))
            texts.append(text)
            scores.append(score)
        page.grids.append(PageGrid(grid, texts, scores))
    return page


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _cell_at(grids: list[Grid], point: tuple[float, float]) -> tuple[int, int] | None:
    x, y = point
    for g, grid in enumerate(grids):
        x0, y0, x1, y1 = grid.box
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            continue
        for i, cell in enumerate(grid.cells):
            cx0, cy0, cx1, cy1 = cell.box
            if cx0 <= x <= cx1 and cy0 <= y <= cy1:
                return g, i
    return None


def _inside(box: Box) -> Box:
    """A cell's box without its ruling lines (lines drawn askew are taken out of the ink)."""
    m = JOIN
    x0, y0, x1, y1 = box
    return x0 + m, y0 + m, max(x0 + m, x1 - m), max(y0 + m, y1 - m)


def _ink_bands(dark: np.ndarray, inner: Box) -> list[Box]:
    """Bands of inked rows inside a cell (a character with gaps between its strokes, like
    三, gives several), each as the box of its ink."""
    x0, y0, x1, y1 = inner
    ink = dark[y0:y1, x0:x1]
    if ink.sum() < MIN_INK:
        return []
    rows = np.flatnonzero(ink.any(axis=1))
    breaks = np.flatnonzero(np.diff(rows) > 1)
    out = []
    for top, bottom in zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]]):
        band = ink[top:bottom + 1]
        cols = np.flatnonzero(band.any(axis=0))
        out.append((x0 + int(cols[0]), y0 + int(top), x0 + int(cols[-1]) + 1, y0 + int(bottom) + 1))
    return out


def _text_height(bands: list[list[Box]]) -> float:
    """The table's text height: the usual height of a cell's tallest band."""
    tallest = [max(b[3] - b[1] for b in cell) for cell in bands if cell]
    return float(np.median(tallest)) if tallest else 0.0


def _lines(bands: list[Box], size: float) -> list[Box]:
    """A cell's bands grouped into text lines: bands that fit in one line's height are the
    strokes of one line, a band taller than a line is kept whole."""
    out: list[list[int]] = []
    for x0, y0, x1, y1 in bands:
        if out and y1 - out[-1][1] <= LINE * size:
            line = out[-1]
            line[0], line[2], line[3] = min(line[0], x0), max(line[2], x1), y1
        else:
            out.append([x0, y0, x1, y1])
    return [tuple(b) for b in out]


def _line_image(gray: np.ndarray, dark: np.ndarray, box: Box, limit: Box) -> np.ndarray | None:
    """The box's ink with a little of the paper around it (the faint edges of strokes are
    not ink but the recogniser needs them), inside `limit`, set on a white margin."""
    x0, y0, x1, y1 = box
    ink = dark[y0:y1, x0:x1]
    if ink.sum() < MIN_INK:
        return None
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    top, bottom = y0 + rows[0], y0 + rows[-1] + 1
    left, right = x0 + cols[0], x0 + cols[-1] + 1
    edge = max(2, (bottom - top) // 8)
    top, left = max(limit[1], top - edge), max(limit[0], left - edge)
    bottom, right = min(limit[3], bottom + edge), min(limit[2], right + edge)
    crop = gray[top:bottom, left:right]
    h, w = crop.shape
    pad = max(4, h // 4)
    out = np.full((h + 2 * pad, w + 2 * pad), 255, np.uint8)
    out[pad:pad + h, pad:pad + w] = crop
    return out


def _cell_text(pieces: list[tuple[Box, str, float]]) -> tuple[str, float]:
    """A cell's lines joined top to bottom, and the lowest confidence among them."""
    if not pieces:
        return "", 1.0
    text = join_pieces(t for _, t, _ in sorted(pieces, key=lambda p: p[0][1]))
    if _NUMBER_LIKE.match(text) and (re.search(r"\d", text) or len(text) == 1):
        text = text.translate(_DIGIT_SLIPS)
    return text, min(s for _, _, s in pieces)
