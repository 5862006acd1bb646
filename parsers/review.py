"""Table 四 (政府信息公开行政复议、行政诉讼情况) -> `review_litigation[group][measure]`.

Two or three header rows (行政复议 / 行政诉讼, 未经复议直接起诉 / 复议后起诉, then 结果维持 …
总计 under each) over one row of fifteen numbers. In a grid each column's header cells name
its group and measure; in text the header lines do not line up with the numbers, so the
fifteen values are read in the national format's fixed order.
"""
from __future__ import annotations

from parsers.document import Table
from parsers.labels import (REVIEW_GROUPS, REVIEW_MEASURES, match_review_group,
                            match_review_measure)
from parsers.normalize import norm
from parsers.numbers import looks_numeric, parse_cell
from parsers.rows import fit_values, split_text_row

_WIDTH = len(REVIEW_GROUPS) * len(REVIEW_MEASURES)
_ORDER = [(g, m) for g in REVIEW_GROUPS for m in REVIEW_MEASURES]


def is_review_table(table: Table) -> bool:
    text = norm("".join("".join(row) for row in table.rows[:6]))
    return "行政复议" in text and ("行政诉讼" in text or "维持" in text)


def extract_review(tables: list[Table], warnings: list[str]) -> dict:
    for table in tables:
        if not is_review_table(table):
            continue
        start = _header_end(table)
        if start is None:
            continue
        if table.aligned:
            result = _from_grid(table, start, warnings)
        else:
            result = _from_text(table, start, warnings)
        if result:
            return result
    return {}


def _header_end(table: Table) -> int | None:
    """Index of the first row holding numbers (the data row), None if there is none."""
    for r, row in enumerate(table.rows):
        if sum(looks_numeric(c) for c in row) >= 3:
            return r
    return None


def _store(pairs: list[tuple[tuple[str, str], str]], warnings: list[str]) -> dict:
    result: dict[str, dict] = {g: {} for g in REVIEW_GROUPS}
    for (group, measure), raw in pairs:
        cell = parse_cell(raw)
        if not cell.readable:
            warnings.append(f"table 四 {group} {measure}: unreadable cell {raw!r}")
        result[group][measure] = cell.value
    return {g: {m: result[g][m] for m in REVIEW_MEASURES if m in result[g]}
            for g in REVIEW_GROUPS if result[g]}


def _from_grid(table: Table, data_row: int, warnings: list[str]) -> dict:
    mapping: dict[tuple[str, str], int] = {}
    for c in range(table.width):
        header = [table.rows[r][c] for r in range(data_row)]
        group = next(filter(None, (match_review_group(h) for h in reversed(header))), None)
        measure = next(filter(None, (match_review_measure(h) for h in reversed(header))), None)
        if group and measure and (group, measure) not in mapping:
            mapping[(group, measure)] = c
    row = table.rows[data_row]
    if len(mapping) == _WIDTH:
        return _store([(key, row[c]) for key, c in mapping.items()], warnings)
    # Headers not readable: the value cells in the fixed order.
    cells = [row[c] for c in range(table.width)
             if c == 0 or table.origin[data_row][c] != table.origin[data_row][c - 1]]
    cells, notes = fit_values(_after_labels(cells), _WIDTH)
    warnings.append("table 四: column headers not recognised; read the values in the "
                    "national format's order")
    warnings.extend(f"table 四: {n}" for n in notes)
    return _store(list(zip(_ORDER, cells)), warnings)


def _from_text(table: Table, data_row: int, warnings: list[str]) -> dict:
    cells, notes = fit_values(_after_labels(table.rows[data_row]), _WIDTH)
    warnings.extend(f"table 四: {n}" for n in notes)
    return _store(list(zip(_ORDER, cells)), warnings)


def _after_labels(cells: list[str]) -> list[str]:
    return split_text_row(list(cells))[1]
