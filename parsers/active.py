"""Table 二 (主动公开政府信息情况) -> `active_disclosure` entries.

The table is a run of blocks, one per 第二十条 item: an item heading row, a header row
(信息内容 | measure | measure ...) and category rows (规章 | 0 | 0 | 0). Offices print it as
one table, as one table per item, or (in text) with the headings between tables, so rows are
read in document order with the last header row in force. The item comes from the
category (行政处罚 is always 20.6): a misprinted heading cannot move a row.
"""
from __future__ import annotations

from parsers.document import Table
from parsers.labels import (CATEGORY_ITEMS, MONEY_MEASURES, match_category, match_item_heading,
                            match_measure, unit_in)
from parsers.normalize import norm
from parsers.numbers import parse_cell
from parsers.rows import distinct_cells

# When a block has no header row: the national format's columns, by template and item.
_DEFAULT_MEASURES = {
    "2021": {"20.1": ["issued", "repealed", "in_force"], "20.5": ["decisions"],
             "20.6": ["decisions"], "20.8": ["fee_amount"]},
    "2019": {"20.1": ["made", "published", "total_public"],
             "20.5": ["prior_items", "change", "decisions"],
             "20.6": ["prior_items", "change", "decisions"], "20.8": ["prior_items", "change"],
             "20.9": ["procurement_items", "procurement_amount"]},
}


def _cells(table: Table, r: int) -> list[str]:
    cells = distinct_cells(table, r) if table.aligned else list(table.rows[r])
    # Leading empty cells (a stray first column) carry nothing; nor do the trailing ones a
    # text line is padded with.
    while cells and not cells[0].strip():
        cells.pop(0)
    while not table.aligned and cells and not cells[-1].strip():
        cells.pop()
    return cells


def extract_active(tables: list[Table], warnings: list[str]) -> list[dict]:
    entries: list[dict] = []
    seen: set[tuple[str, str]] = set()
    measures: list[str | None] = []
    units: dict[str, str] = {}
    in_table = False  # a 第二十条 heading or 信息内容 header has been seen
    in_header = False  # the previous row was (part of) a header: one cell per line continues it
    for table in tables:
        for r in range(len(table.rows)):
            cells = _cells(table, r)
            if not cells:
                continue
            category = match_category(cells[0])
            heading = next(filter(None, map(match_item_heading, cells)), None)
            if heading and not category:
                in_table, in_header, measures, units = True, False, [], {}
                continue
            if _is_header(cells, category, in_table):
                names = cells[1:] if norm(cells[0]).startswith("信息内容") else cells
                if not in_header:
                    measures, units = [], {}
                in_table = in_header = True
                for name in filter(str.strip, names):
                    measure = match_measure(name)
                    measures.append(measure)
                    if measure and unit_in(name):
                        units[measure] = unit_in(name)
                    if measure is None and name.strip():
                        warnings.append(f"table 二: column header {name!r} not recognised")
                continue
            in_header = False
            if not category or not in_table:
                continue
            item = CATEGORY_ITEMS[category]
            values = cells[1:]
            row_measures = measures or _guess_measures(item, values, warnings)
            for i, measure in enumerate(row_measures):
                if measure is None or (category, measure) in seen:
                    continue
                raw = values[i] if i < len(values) else ""
                cell = parse_cell(raw)
                if not cell.readable:
                    warnings.append(f"table 二 {category} {measure}: unreadable cell {raw!r}")
                unit = (cell.unit or units.get(measure)) if measure in MONEY_MEASURES else None
                seen.add((category, measure))
                entries.append({"item": item, "category": category, "measure": measure,
                                "value": cell.value,
                                "unit": unit,
                                "raw": raw.strip()})
    return entries


def _is_header(cells: list[str], category: str | None, in_table: bool) -> bool:
    """信息内容 | 本年制发件数 | ...: or, inside the table, a row of measure names only."""
    if norm(cells[0]).startswith("信息内容"):
        return True
    return (in_table and not category and any(match_measure(c) for c in cells)
            and all(parse_cell(c).value is None for c in cells))


def _guess_measures(item: str, values: list[str], warnings: list[str]) -> list[str]:
    filled = len([v for v in values if v.strip()])
    for template in ("2021", "2019"):
        guess = _DEFAULT_MEASURES[template].get(item)
        if guess and len(guess) == filled:
            warnings.append(f"table 二 {item}: no header row; read the columns as {guess}")
            return guess
    return []
