"""Table grids for the PDF reader: rebuild real row and column spans from pdfplumber's cell
boxes (pdfplumber leaves None where a merged cell covers a position), read each cell's text
as pdfplumber's Table.extract would from the page's chars (indexed once per page), tell
page-border boxes from tables, and join a table that runs across a page break, re-gluing a
row label that the break split in two."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from pdfplumber.utils import DEFAULT_X_TOLERANCE, DEFAULT_Y_TOLERANCE, extract_text
from pdfplumber.utils.text import LIGATURES

from .document import Table
from .reader_text import is_numeric, join_pieces, squeeze_grid, starts_with_marker

TOL = 4.0  # points: column edges of one table drawn on two pages differ by a few points


@dataclass
class Cell:
    r: int
    c: int
    rs: int
    cs: int
    text: str


@dataclass
class Grid:
    """A table before span expansion: cells on a grid of column edges `xs`."""

    cells: list[Cell]
    nrows: int
    xs: list[float]
    page: int
    top: float
    bottom: float
    pages: list[int] = field(default_factory=list)

    @property
    def ncols(self) -> int:
        return len(self.xs) - 1


def grid_from_pdfplumber(table, page_number: int, chars: CharIndex) -> Grid | None:
    """Build a Grid from a pdfplumber Table found on the page of these chars: a cell's text
    is pdfplumber's text of the chars centred in it."""
    boxes = [c for c in table.cells if c[2] - c[0] > 0.5 and c[3] - c[1] > 0.5]
    if not boxes:
        return None
    xs = sorted({round(b[0], 1) for b in boxes})
    xs.append(round(max(b[2] for b in boxes), 1))
    tops = sorted({round(b[1], 1) for b in boxes})
    lefts = xs[:-1]  # a cell spans the column edges that start inside it
    cells = []
    for b in boxes:
        x0, top, x1, bottom = (round(v, 1) for v in b)
        c = bisect.bisect_left(lefts, x0)
        r = bisect.bisect_left(tops, top)
        cs = max(1, bisect.bisect_left(lefts, x1 - 0.5) - bisect.bisect_left(lefts, x0 - 0.5))
        rs = max(1, bisect.bisect_left(tops, bottom - 0.5) - bisect.bisect_left(tops, top - 0.5))
        cells.append(Cell(r, c, rs, cs, clean_cell(chars.text_in(b))))
    return Grid(cells, len(tops), xs, page_number, table.bbox[1], table.bbox[3], [page_number])


class CharIndex:
    """A page's chars (pdfplumber char dicts) by the position of their centres."""

    def __init__(self, chars: list[dict]) -> None:
        self.chars = chars
        self.entries = sorted(((c["top"] + c["bottom"]) / 2, (c["x0"] + c["x1"]) / 2, i)
                              for i, c in enumerate(chars))
        self.vs = [v for v, _, _ in self.entries]

    def text_in(self, box) -> str:
        """pdfplumber's `Table.extract` text of a cell: the chars centred in the box (left
        and top edges in, right and bottom out), in page order, through `extract_text`."""
        x0, top, x1, bottom = box
        lo, hi = bisect.bisect_left(self.vs, top), bisect.bisect_left(self.vs, bottom)
        picked = sorted(i for _, h, i in self.entries[lo:hi] if x0 <= h < x1)
        return _text([self.chars[i] for i in picked]) if picked else ""

    def outside(self, boxes: list) -> list[dict]:
        """The chars whose centre is in none of the boxes (edges included)."""
        inside = set()
        for x0, top, x1, bottom in boxes:
            lo, hi = bisect.bisect_left(self.vs, top), bisect.bisect_right(self.vs, bottom)
            inside.update(i for _, h, i in self.entries[lo:hi] if x0 <= h <= x1)
        return [c for i, c in enumerate(self.chars) if i not in inside]


def _text(chars: list[dict]) -> str:
    """`pdfplumber.utils.extract_text(chars)`, shortcut for the usual cell: upright chars
    whose tops lie within the 3-point line tolerance form one line, so the text is the chars
    left to right with a space at each blank char or gap wider than 3 points, the words
    pdfplumber's WordExtractor makes there."""
    tops = [c["top"] for c in chars]
    if max(tops) - min(tops) > DEFAULT_Y_TOLERANCE or not all(c["upright"] for c in chars):
        return extract_text(chars)
    words, word, prev = [], [], None
    for c in sorted(chars, key=lambda c: c["x0"]):
        t = c["text"]
        if t.isspace():
            if word:
                words.append("".join(word))
            word, prev = [], None
            continue
        if prev is not None and c["x0"] > prev["x1"] + DEFAULT_X_TOLERANCE:
            words.append("".join(word))
            word = []
        word.append(LIGATURES.get(t, t))
        prev = c
    if word:
        words.append("".join(word))
    return " ".join(words)


def clean_cell(text: str) -> str:
    """In-cell line breaks joined without a separator (Chinese wraps mid-word)."""
    return join_pieces(text.replace("\r", "\n").split("\n")) if text else ""


def is_layout_box(grid: Grid) -> bool:
    """A one-column 'table' is a frame drawn around running text (WPS page borders, text
    boxes), not a data table: its text belongs to the paragraphs."""
    return grid.ncols <= 1


def _map_edges(src: list[float], dst: list[float]) -> list[int] | None:
    """Index in dst of each edge of src, or None unless every edge has a partner."""
    out = []
    for x in src:
        j = min(range(len(dst)), key=lambda k: abs(dst[k] - x))
        if abs(dst[j] - x) > TOL or (out and j <= out[-1]):
            return None
        out.append(j)
    return out if out[0] == 0 and out[-1] == len(dst) - 1 else None


def _regrid(grid: Grid, edges: list[float], mapping: list[int]) -> Grid:
    cells = [Cell(c.r, mapping[c.c], c.rs, mapping[c.c + c.cs] - mapping[c.c], c.text)
             for c in grid.cells]
    return Grid(cells, grid.nrows, list(edges), grid.page, grid.top, grid.bottom, grid.pages)


def join_grids(a: Grid, b: Grid) -> Grid | None:
    """`b` continued from `a` on the next page, or None if their columns do not line up.
    The finer of the two column edge sets wins; repeated header rows are dropped and a
    label split by the page break is glued back together."""
    if a.ncols >= b.ncols:
        m = _map_edges(b.xs, a.xs)
        if m is None:
            return None
        b = _regrid(b, a.xs, m)
    else:
        m = _map_edges(a.xs, b.xs)
        if m is None:
            return None
        a = _regrid(a, b.xs, m)
    b = _drop_repeated_header(a, b)
    if not b.cells:
        return a
    cells = [Cell(c.r, c.c, c.rs, c.cs, c.text) for c in a.cells]
    moved = [Cell(c.r + a.nrows, c.c, c.rs, c.cs, c.text) for c in b.cells]
    glue_split_row(cells, moved, a.nrows)
    grid = Grid(cells + moved, a.nrows + b.nrows, a.xs, a.page, a.top, b.bottom, a.pages + b.pages)
    return _drop_empty_rows(grid)


def _row_texts(grid: Grid, r: int) -> list[str]:
    row = [""] * grid.ncols
    for c in grid.cells:
        if c.r == r:
            row[c.c] = c.text
    return row


def _drop_repeated_header(a: Grid, b: Grid) -> Grid:
    n = 0
    while n < min(a.nrows, b.nrows, 4) and any(_row_texts(a, n)) and _row_texts(a, n) == _row_texts(b, n):
        n += 1
    if not n or any(c.r < n <= c.r + c.rs - 1 for c in b.cells):
        return b
    cells = [Cell(c.r - n, c.c, c.rs, c.cs, c.text) for c in b.cells if c.r >= n]
    return Grid(cells, b.nrows - n, b.xs, b.page, b.top, b.bottom, b.pages)


def _is_fragment(text: str) -> bool:
    """Text that continues a label rather than starting one: words without a row marker."""
    t = text.strip()
    return bool(t) and not is_numeric(t) and not starts_with_marker(t) and bool(
        re.search(r"[\u4e00-\u9fffA-Za-z]", t))


def _is_label(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fffA-Za-z]", text)) and not is_numeric(text)


def glue_split_row(above_cells: list, below: list, boundary: int) -> None:
    """Merge the continuation's first-row cells into the cells above the page break (cells
    with r, c, rs, cs and a settable text: this module's `Cell`, OCR's `Piece`):
    leading empty cells under a label continue its span (the '三、本年度办理结果' column),
    the first label fragment continues the label above ('（四）无' + '法提供'); when everything
    after that fragment is empty, the whole row was split and is merged."""
    above = {(c.c, c.cs): c for c in above_cells if c.r + c.rs == boundary}
    first = sorted((c for c in below if c.r == boundary), key=lambda c: c.c)
    merged = []
    for i, cell in enumerate(first):
        up = above.get((cell.c, cell.cs))
        if up is None:
            break
        if not cell.text:
            if not _is_label(up.text):
                break
            merged.append((up, cell))
            continue
        if _is_fragment(cell.text) and _is_label(up.text):
            merged.append((up, cell))
            rest = first[i + 1:]
            if rest and all(not c.text for c in rest) and all((c.c, c.cs) in above for c in rest):
                merged.extend((above[(c.c, c.cs)], c) for c in rest)
        break
    for up, cell in merged:
        up.text = join_pieces([up.text, cell.text])
        up.rs += cell.rs
        below[:] = [c for c in below if c is not cell]


def _drop_empty_rows(grid: Grid) -> Grid:
    """Squeeze out rows no cell starts in any more (a row glued to the one above)."""
    keep = sorted({c.r for c in grid.cells})
    if len(keep) == grid.nrows:
        return grid
    index = {r: i for i, r in enumerate(keep)}
    cells = [Cell(index[c.r], c.c, sum(1 for r in keep if c.r <= r < c.r + c.rs), c.cs, c.text)
             for c in grid.cells]
    return Grid(cells, len(keep), grid.xs, grid.page, grid.top, grid.bottom, grid.pages)


def to_table(grid: Grid) -> Table:
    """Expand spans: every covered position repeats its cell's text with its origin."""
    rows = [[""] * grid.ncols for _ in range(grid.nrows)]
    origin = [[(r, c) for c in range(grid.ncols)] for r in range(grid.nrows)]
    taken = set()
    for cell in sorted(grid.cells, key=lambda c: (c.r, c.c)):
        for r in range(cell.r, min(cell.r + cell.rs, grid.nrows)):
            for c in range(cell.c, min(cell.c + cell.cs, grid.ncols)):
                if (r, c) in taken:
                    continue
                taken.add((r, c))
                rows[r][c] = cell.text
                origin[r][c] = (cell.r, cell.c)
    rows, origin = squeeze_grid(rows, origin, [b - a for a, b in zip(grid.xs, grid.xs[1:])])
    return Table(rows=rows, origin=origin, page=grid.page)
