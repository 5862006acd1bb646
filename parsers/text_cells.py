"""Tables written one cell per line, each cell's line starting with a tab: the text Apache
Tika (and tools built on it) extracts from Word and WPS files.

Tika's rule is to put a tab before every table cell and a line break after every paragraph
and every table row, so a row is its cells' lines followed by a blank line. A cell holding
several paragraphs or line breaks (a label typed into a narrow cell: `（三）不予` / `以公` /
`开`) continues on lines without the tab. A cell covered by a vertical merge is not written
at all, so a row under a spanning label holds fewer cells than the rows around it; the
table builder reads text rows by their labels and the order of their values, which that
does not disturb.
"""
from __future__ import annotations

from parsers.reader_text import join_pieces

_MIN_CELLS = 6  # a run shorter than this is not worth calling a table


def _is_cell_line(line: str) -> bool:
    return line.startswith("\t") and "\t" not in line[1:]


def cell_line_runs(lines: list[str]) -> list[tuple[int, int]]:
    """(begin, end) line ranges of the tab-per-cell tables in `lines`.

    A run starts at a cell line, goes on through cell lines, the continuation lines right
    after a cell line, and the blank lines between rows; it ends at a line without a tab
    after a blank line (the paragraph after the table), or at a line holding tabs elsewhere.
    """
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not _is_cell_line(lines[i]):
            i += 1
            continue
        begin, cells, j = i, 0, i
        last_was_cell_or_text = False
        end = i
        while j < len(lines):
            line = lines[j]
            if _is_cell_line(line):
                cells += 1
                last_was_cell_or_text = True
                end = j + 1
            elif not line.strip():
                last_was_cell_or_text = False
            elif last_was_cell_or_text and "\t" not in line:
                end = j + 1  # the rest of a cell's text
            else:
                break
            j += 1
        if cells >= _MIN_CELLS and _has_rows(lines[begin:end]):
            runs.append((begin, end))
        i = max(end, i + 1)
    return runs


def _has_rows(lines: list[str]) -> bool:
    """A real run has rows: blank lines between groups of cells."""
    return any(not line.strip() for line in lines)


def cell_line_rows(lines: list[str]) -> list[list[str]]:
    """The rows of one run: a blank line closes a row, a cell line opens a cell, any other
    line continues the cell before it."""
    rows: list[list[str]] = []
    row: list[list[str]] = []
    for line in lines:
        if _is_cell_line(line):
            row.append([line[1:]])
        elif not line.strip():
            if row:
                rows.append([join_pieces(cell) for cell in row])
                row = []
        elif row:
            row[-1].append(line)
    if row:
        rows.append([join_pieces(cell) for cell in row])
    return rows
