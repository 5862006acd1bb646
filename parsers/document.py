"""The intermediate form every reader produces and the report builder consumes.

A `Document` is the report's content in reading order: paragraphs (with a hint whether
they look like headings) and tables as rectangular cell grids with row and column spans
expanded. Readers (HTML, PDF, DOCX, text) only build Documents; they know nothing of the
report's tables. The builder only reads Documents; it knows nothing of file formats.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass
class Paragraph:
    """One paragraph or line of running text."""

    text: str
    heading: bool = False  # the reader saw heading markup (h1-h6, '#', bold title line)
    page: int | None = None


@dataclass
class Table:
    """A cell grid. `rows` is rectangular after span expansion: a cell spanning several rows
    or columns has its text repeated in every position it covers, and `origin[r][c]` gives the
    (row, col) of the cell that position belongs to, so a consumer can tell a repeated
    spanned cell from two cells that merely hold the same text. Blank cells are ''."""

    rows: list[list[str]]
    origin: list[list[tuple[int, int]]] | None = None
    page: int | None = None  # first page the table is on (PDF), else None
    # True when columns line up across rows (HTML, DOCX, PDF grids). Plain text tables are
    # not aligned: each line's cells are only in order, a label spanning two columns may be
    # one cell on one line and two on the next.
    aligned: bool = True
    # Text tables: the rows whose blank cells the text lost (numbers separated by spaces), so
    # fewer values than columns does not say which columns are blank.
    packed_rows: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        width = max((len(r) for r in self.rows), default=0)
        self.rows = [list(r) + [""] * (width - len(r)) for r in self.rows]
        if self.origin is None:
            self.origin = [[(i, j) for j in range(width)] for i in range(len(self.rows))]

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0

    def is_continuation(self, r: int, c: int) -> bool:
        """True where position (r, c) repeats a spanned cell that starts elsewhere."""
        return self.origin[r][c] != (r, c)


Block = Union[Paragraph, Table]


@dataclass
class Document:
    """A report's content in reading order, plus what the reader learned on the way."""

    blocks: list[Block] = field(default_factory=list)
    format: str = "txt"  # html, pdf, docx, doc, wps, txt, xls, image, unknown
    title: str | None = None  # a title from metadata (<title>, PDF info), not the body
    published_at: str | None = None  # YYYY-MM-DD from page or document metadata
    warnings: list[str] = field(default_factory=list)

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [b for b in self.blocks if isinstance(b, Paragraph)]

    def text(self) -> str:
        """All text in reading order, table rows as tab-separated lines."""
        out = []
        for b in self.blocks:
            if isinstance(b, Paragraph):
                out.append(b.text)
            else:
                out.extend("\t".join(row) for row in b.rows)
        return "\n".join(out)
