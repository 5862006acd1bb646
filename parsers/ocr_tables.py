"""OCR'd ruled tables -> Tables: a table that runs over a page break joined into one (the
column edges of both parts put together, a header row the next page repeats dropped, a row
the break cut in two glued back), then spans expanded as the Document wants them.

Edges are in page pixels; both parts come from pages rendered at the same scale, and a
scanner's shift of the page is taken out by lining up the tables' left edges.
"""
from __future__ import annotations

from dataclasses import dataclass

from .document import Table
from .ocr_page import Page, PageGrid
from .pdf_tables import Cell, glue_split_row
from .reader_text import squeeze_grid

EDGE_TOL = 0.012  # of the page width: column edges of one table on two pages agree this well


@dataclass
class Span:
    """A table on its way to a Table: cells on column edges `xs`, maybe over pages."""

    xs: list[float]
    cells: list[Cell]
    nrows: int
    page: int
    last_page: int
    top: float  # of the first part, as a fraction of its page's height
    bottom: float  # of the last part, as a fraction of its page's height
    width: int  # page width in pixels

    def continues_on(self, nxt: Span) -> bool:
        """Could `nxt` be this table carried over to the next page?"""
        return nxt.page == self.last_page + 1 and self.bottom > 0.6 and nxt.top < 0.4


def span(pg: PageGrid, page: Page) -> Span:
    grid = pg.grid
    cells = [Cell(c.r, c.c, c.rs, c.cs, text) for c, text in zip(grid.cells, pg.texts)]
    return Span(list(grid.xs), cells, len(grid.ys) - 1, page.number, page.number,
                grid.ys[0] / page.height, grid.ys[-1] / page.height, page.width)


def join(a: Span, b: Span) -> Span | None:
    """`b` continuing `a` when their outer edges agree, else None."""
    tol = EDGE_TOL * a.width
    shift = a.xs[0] - b.xs[0]
    bxs = [x + shift for x in b.xs]
    if abs(bxs[-1] - a.xs[-1]) > tol:
        return None
    xs = list(a.xs)
    for x in bxs:
        if min(abs(x - e) for e in xs) > tol:
            xs.append(x)
    xs.sort()
    upper = _regrid(a.cells, a.xs, xs)
    lower = _drop_repeated_header(upper, _regrid(b.cells, bxs, xs))
    first = min((c.r for c in lower), default=0)
    for c in lower:
        c.r += a.nrows - first
    glue_split_row(upper, lower, a.nrows)  # the PDF reader's rule, on OCR's cells
    cells = upper + lower
    return _squeeze_rows(Span(xs, cells, a.nrows + b.nrows - first, a.page, b.last_page, a.top,
                              b.bottom, a.width))


def _regrid(cells: list[Cell], edges: list[float], xs: list[float]) -> list[Cell]:
    def index(x: float) -> int:
        return min(range(len(xs)), key=lambda k: abs(xs[k] - x))

    out = []
    for c in cells:
        c0, c1 = index(edges[c.c]), index(edges[c.c + c.cs])
        out.append(Cell(c.r, c0, c.rs, max(1, c1 - c0), c.text))
    return out


def _row(cells: list[Cell], r: int) -> list[tuple[int, str]]:
    return sorted((c.c, c.text) for c in cells if c.r == r)


def _drop_repeated_header(upper: list[Cell], lower: list[Cell]) -> list[Cell]:
    """Leading rows of `lower` that repeat the first rows of `upper` (a header printed again
    on the next page), if no cell reaches below them."""
    n = 0
    while n < 4 and _row(lower, n) and _row(lower, n) == _row(upper, n) and any(
            t for _, t in _row(upper, n)):
        n += 1
    if not n or any(c.r < n < c.r + c.rs for c in lower):
        return lower
    return [c for c in lower if c.r >= n]


def _squeeze_rows(s: Span) -> Span:
    """Drop rows no cell starts in any more (a row glued to the one above)."""
    keep = sorted({c.r for c in s.cells})
    if len(keep) == s.nrows:
        return s
    index = {r: i for i, r in enumerate(keep)}
    for c in s.cells:
        c.rs = sum(1 for r in keep if c.r <= r < c.r + c.rs)
        c.r = index[c.r]
    s.nrows = len(keep)
    return s


def to_table(s: Span) -> Table:
    """Expand spans: every covered position repeats its cell's text, with its origin."""
    ncols = len(s.xs) - 1
    rows = [[""] * ncols for _ in range(s.nrows)]
    origin = [[(r, c) for c in range(ncols)] for r in range(s.nrows)]
    for cell in sorted(s.cells, key=lambda c: (c.r, c.c)):
        for r in range(cell.r, min(cell.r + cell.rs, s.nrows)):
            for c in range(cell.c, min(cell.c + cell.cs, ncols)):
                rows[r][c] = cell.text
                origin[r][c] = (cell.r, cell.c)
    rows, origin = squeeze_grid(rows, origin, [b - a for a, b in zip(s.xs, s.xs[1:])])
    return Table(rows=rows, origin=origin, page=s.page)
