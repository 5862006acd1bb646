"""Ruled tables in a page image: the ruling lines found with numpy (their pieces joined by
OpenCV's connected components, which rapidocr brings) and the cell grid they draw, merged
cells included.

A ruling line is a run of dark pixels far longer than any stroke of a character. Lines that
touch make one table; its column edges are its vertical lines (and the ends of its
horizontal ones), its row edges its horizontal lines. Two neighbouring grid positions are
one cell when the line between them is not drawn, which is how merged cells look on paper.
Everything is in pixels of the image handed in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_LINE = 50  # pixels: a ruling line is longer than any stroke of a character at the scale
# ocr.py reads pages (text about 30 px high)
JOIN = 3  # pixels: line pieces this close are one line (thickness, anti-aliasing, skew)
DRAWN = 0.6  # a boundary is drawn when this fraction of it is covered by line pixels


@dataclass
class Cell:
    r: int
    c: int
    rs: int
    cs: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1: the centres of the cell's lines


@dataclass
class Grid:
    """One ruled table: its cells on row edges `ys` and column edges `xs`."""

    xs: list[int]
    ys: list[int]
    cells: list[Cell]

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.xs[0], self.ys[0], self.xs[-1], self.ys[-1]


@dataclass
class _Segment:
    pos: int  # y of a horizontal line, x of a vertical one
    start: int
    end: int


def dark_pixels(gray: np.ndarray) -> np.ndarray:
    """Ink: clearly darker than the paper (grey cell shading and scanner noise are not)."""
    paper = float(np.percentile(gray, 90))
    return gray < 0.65 * paper


def find_grids(dark: np.ndarray) -> tuple[list[Grid], np.ndarray]:
    """The ruled tables on a page, top to bottom, and the mask of their ruling lines' pixels
    (a little widened, to take the lines' grey edges too)."""
    long_h = long_runs(dark, MIN_LINE)
    long_v = long_runs(dark.T, MIN_LINE).T
    horizontal = _segments(long_h)
    # a vertical line may be as short as one row of small text, if it runs from line to line
    short = [v for v in _segments(long_runs(dark.T, MIN_LINE // 2))
             if v.end - v.start < MIN_LINE and _bridges(v, horizontal)]
    vertical = _segments(long_v.T) + short
    rules = long_h | long_v
    for v in short:
        rules[v.start:v.end + 1, max(0, v.pos - JOIN):v.pos + JOIN + 1] |= \
            dark[v.start:v.end + 1, max(0, v.pos - JOIN):v.pos + JOIN + 1]
    # where a cell border is checked, shorter runs count: a border between narrow cells
    h_mask = long_runs(dark, MIN_LINE // 2)
    v_mask = long_runs(dark.T, MIN_LINE // 2).T
    grids = []
    for hs, vs in _tables(horizontal, vertical):
        grid = _grid(hs, vs, h_mask, v_mask)
        if grid is not None:
            grids.append(grid)
    tables = np.zeros_like(rules)  # long strokes elsewhere are text (a title's 一)
    for grid in grids:
        x0, y0, x1, y1 = grid.box
        m = 2 * JOIN
        tables[max(0, y0 - m):y1 + m + 1, max(0, x0 - m):x1 + m + 1] = True
    return sorted(grids, key=lambda g: g.ys[0]), _widen(rules & tables)


def _widen(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def long_runs(dark: np.ndarray, k: int) -> np.ndarray:
    """Pixels inside a horizontal run of at least k dark pixels."""
    h, w = dark.shape
    if w < k:
        return np.zeros_like(dark)
    sums = np.zeros((h, w + 1), np.int32)
    np.cumsum(dark, axis=1, out=sums[:, 1:])
    full = (sums[:, k:] - sums[:, :-k]) == k  # the k pixels from x on are all dark
    marks = np.zeros((h, w + 1), np.int32)
    marks[:, : w - k + 1] += full
    marks[:, k:] -= full
    return np.cumsum(marks, axis=1)[:, :w] > 0


def _segments(mask: np.ndarray) -> list[_Segment]:
    """The horizontal line segments of a long-run mask: its connected pieces (a line drawn
    a little askew is still one piece)."""
    import cv2

    _, _, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(mask, np.uint8),
                                                      connectivity=8)
    return [_Segment(int(y + h // 2), int(x), int(x + w - 1)) for x, y, w, h, _ in stats[1:]]


def _bridges(v: _Segment, horizontal: list[_Segment]) -> bool:
    """True when a short vertical segment runs from a horizontal line into another: its
    ink reaches the lines' middles, where a character's stroke stops short of them."""
    def meets(y: int) -> bool:
        return any(abs(h.pos - y) <= 2 and h.start - JOIN <= v.pos <= h.end + JOIN
                   for h in horizontal)
    return meets(v.start) and meets(v.end)


def _tables(horizontal: list[_Segment], vertical: list[_Segment]):
    """Group segments that cross or touch into tables (union-find)."""
    n = len(horizontal)
    parent = list(range(n + len(vertical)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, h in enumerate(horizontal):
        for j, v in enumerate(vertical):
            if (h.start - JOIN <= v.pos <= h.end + JOIN
                    and v.start - JOIN <= h.pos <= v.end + JOIN):
                parent[find(i)] = find(n + j)
    groups: dict[int, tuple[list, list]] = {}
    for i, seg in enumerate(horizontal + vertical):
        hs, vs = groups.setdefault(find(i), ([], []))
        (hs if i < n else vs).append(seg)
    return [(hs, vs) for hs, vs in groups.values() if len(hs) >= 2 and len(vs) >= 2]


def _edges(positions: list[int]) -> list[int]:
    """Sorted positions with near-duplicates (one line seen twice) merged."""
    out: list[int] = []
    for p in sorted(positions):
        if out and p - out[-1] <= 2 * JOIN:
            continue
        out.append(p)
    return out


def _grid(hs: list[_Segment], vs: list[_Segment], h_mask: np.ndarray,
          v_mask: np.ndarray) -> Grid | None:
    # the table's outline bounds it even where a border is not drawn
    xs = _edges([v.pos for v in vs] + [min(h.start for h in hs), max(h.end for h in hs)])
    ys = _edges([h.pos for h in hs] + [min(v.start for v in vs), max(v.end for v in vs)])
    if len(xs) < 3 or len(ys) < 2:
        return None  # one column: a frame around text, not a table
    nr, nc = len(ys) - 1, len(xs) - 1
    parent = list(range(nr * nc))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(nr):
        for c in range(nc):
            if c + 1 < nc and not _drawn(v_mask, xs[c + 1], ys[r], ys[r + 1], vertical=True):
                parent[find(r * nc + c)] = find(r * nc + c + 1)
            if r + 1 < nr and not _drawn(h_mask, ys[r + 1], xs[c], xs[c + 1], vertical=False):
                parent[find(r * nc + c)] = find((r + 1) * nc + c)
    members: dict[int, list[tuple[int, int]]] = {}
    for r in range(nr):
        for c in range(nc):
            members.setdefault(find(r * nc + c), []).append((r, c))
    cells = []
    for positions in members.values():
        r0 = min(p[0] for p in positions)
        c0 = min(p[1] for p in positions)
        r1 = max(p[0] for p in positions) + 1
        c1 = max(p[1] for p in positions) + 1
        cells.append(Cell(r0, c0, r1 - r0, c1 - c0, (xs[c0], ys[r0], xs[c1], ys[r1])))
    cells.sort(key=lambda cell: (cell.r, cell.c))
    return Grid(xs, ys, cells)


def _drawn(mask: np.ndarray, at: int, start: int, end: int, *, vertical: bool) -> bool:
    """Is the line at `at` drawn between `start` and `end` (the middle part, away from the
    crossing lines)?"""
    margin = min(2 * JOIN, (end - start) // 4)
    lo, hi = start + margin, end - margin
    if hi <= lo:
        return True
    band = slice(max(0, at - JOIN), at + JOIN + 1)
    strip = mask[lo:hi, band] if vertical else mask[band, lo:hi].T
    return strip.any(axis=1).mean() >= DRAWN
