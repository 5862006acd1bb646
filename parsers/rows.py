"""Table rows as the builder sees them: the distinct label cells on the left, the value
cells on the right.

Aligned grids (HTML, DOCX, PDF) keep their columns: spanned positions repeat a cell, which
`distinct_cells` folds back to one. Text tables (`Table.aligned` False) only keep the order
of cells on a line, so their label/value boundary is found per row: values are the cells
after the last cell that holds words.
"""
from __future__ import annotations

from dataclasses import dataclass

from parsers.document import Table
from parsers.numbers import is_blank, looks_numeric


@dataclass
class RowView:
    """One table row: its label parts (left to right, spans folded) and value cells."""

    table: Table
    index: int
    labels: list[str]
    values: list[str]
    # text rows: the cell index of each column from the table's header row, when it has one
    positions: list[int] | None = None

    @property
    def label(self) -> str:
        return " ".join(self.labels)

    @property
    def has_numbers(self) -> bool:
        return any(looks_numeric(v) for v in self.values)


def distinct_cells(table: Table, r: int, start: int = 0, stop: int | None = None) -> list[str]:
    """Row r's cells from column `start` to `stop`, a cell spanning several columns once."""
    row = table.rows[r]
    stop = len(row) if stop is None else stop
    out = []
    for c in range(start, stop):
        if c > start and table.origin[r][c] == table.origin[r][c - 1]:
            continue
        out.append(row[c])
    return out


def label_parts(cells: list[str]) -> list[str]:
    """Non-empty label texts, a text repeated by a vertical span kept once."""
    parts: list[str] = []
    for text in cells:
        text = text.strip()
        if text and (not parts or parts[-1] != text):
            parts.append(text)
    return parts


def split_text_row(cells: list[str]) -> tuple[list[str], list[str]]:
    """For a text table line: (label parts, value cells after the last worded cell)."""
    last_label = -1
    for i, cell in enumerate(cells):
        if cell.strip() and not looks_numeric(cell) and not is_blank(cell):
            last_label = i
    return label_parts(cells[: last_label + 1]), list(cells[last_label + 1:])


def view_text_row(table: Table, r: int) -> RowView:
    labels, values = split_text_row(table.rows[r])
    return RowView(table, r, labels, values)


def view_grid_row(table: Table, r: int, label_stop: int, values: list[str]) -> RowView:
    """A row of an aligned grid: labels left of column `label_stop`, the given values.
    A label cell spanning rows appears in each row it covers: that is what gives a sub-row
    (1.属于国家秘密) its parent (（三）不予公开)."""
    return RowView(table, r, label_parts(distinct_cells(table, r, 0, label_stop)), values)


def fit_values(cells: list[str], width: int) -> tuple[list[str], list[str]]:
    """Fit a text row's value cells to `width` columns.

    Extra cells are dropped, trailing blanks first, then leading ones (a label spanning two
    columns leaves an empty cell before the values); a short row is aligned to the right,
    because offices that fill one column fill 总计. Returns (cells, notes on what was done).
    """
    cells = list(cells)
    notes: list[str] = []
    while len(cells) > width and not cells[-1].strip():
        cells.pop()
    while len(cells) > width and not cells[0].strip():
        cells.pop(0)
    if len(cells) > width:
        dropped = cells[: len(cells) - width]
        notes.append(f"{len(cells)} values for {width} columns; kept the last {width}, "
                     f"dropped {dropped}")
        cells = cells[len(cells) - width:]
    if len(cells) < width:
        if any(c.strip() for c in cells):
            notes.append(f"{len(cells)} values for {width} columns; aligned them to the right")
        cells = [""] * (width - len(cells)) + cells
    return cells, notes
