"""Table 三 (收到和处理政府信息公开申请情况) -> `applications[row][column]`.

Rows are found by their labels (see `labels.match_application_row`), in grids and in text.
What real reports do to this table, and how it is handled here:
- a label split over two lines or two rows: a row with words and no values is joined to
  the row after it (or to the unmatched row before it) and matched again;
- a nested label (（三）不予公开 over eight sub-rows): each label part is tried from the
  most specific one, the sub-row's own words, outwards;
- an unreadable label between two readable ones: the fixed row order of the national format
  names it, with a warning;
- blank cells are null, never 0.
"""
from __future__ import annotations

import re

from parsers.document import Table
from parsers.labels import (APPLICANT_COLUMNS, APPLICATION_ROWS, match_applicant_column,
                            match_application_row)
from parsers.normalize import norm, strip_numbering
from parsers.numbers import looks_numeric, parse_cell
from parsers.rows import RowView, fit_values, view_grid_row, view_text_row

_WIDTH = len(APPLICANT_COLUMNS)


def is_applications_table(table: Table) -> bool:
    """True when the table holds (part of) table 三: several of its row labels appear."""
    seen = set()
    for row in table.rows:
        for cell in row:
            if cell and len(cell) < 80 and not looks_numeric(cell):
                key = match_application_row(cell)
                if key:
                    seen.add(key)
    return len(seen) >= 3 or ("new_received" in seen and "carried_over" in seen)


def extract_applications(tables: list[Table], warnings: list[str]) -> dict:
    """Read table 三 from the document's tables (in document order)."""
    views: list[RowView] = []
    for table in tables:
        if is_applications_table(table):
            views.extend(_grid_views(table, warnings) if table.aligned else _text_views(table))
    return _assign(views, warnings)


def _is_header_cells(cells: list[str]) -> bool:
    if any(looks_numeric(c) for c in cells):
        return False
    texts = [norm(c) for c in cells if c.strip()]
    return any("申请人情况" in t or "勾稽" in t or "自然人" in t or "商业企业" in t
               or t in ("其他", "总计") for t in texts)


def _text_views(table: Table) -> list[RowView]:
    positions = _header_positions(table)
    views = []
    for r in range(len(table.rows)):
        if _is_header_cells(table.rows[r]):
            continue
        view = view_text_row(table, r)
        view.positions = positions
        views.append(view)
    return views


def _header_positions(table: Table) -> list[int] | None:
    """The cell index of each applicant column in a text table whose header rows name them
    all, in order, at distinct indices (tab-separated text of a header with its spans
    undone: 自然人 and 总计 on one line, 商业企业 … 其他 under 法人或其他组织 on the next), else
    None."""
    found: dict[str, int] = {}
    for row in table.rows:
        if not _is_header_cells(row):
            if found:
                break
            continue
        for i, cell in enumerate(row):
            key = match_applicant_column(cell) if cell.strip() else None
            if key:
                found[key] = i  # a lower header row names a column more precisely
    positions = [found.get(k) for k in APPLICANT_COLUMNS]
    if None not in positions and positions == sorted(set(positions)):
        return positions
    return None


def _grid_views(table: Table, warnings: list[str]) -> list[RowView]:
    header_end = 0
    while header_end < len(table.rows) and _is_header_cells(table.rows[header_end]):
        header_end += 1
    columns = _column_map(table, header_end)
    if len(columns) < _WIDTH:
        fallback = _numeric_columns(table, header_end)
        if len(fallback) >= _WIDTH:
            if header_end:
                warnings.append("table 三: column headers not recognised; "
                                "took the last seven columns as 自然人…总计")
            columns = dict(zip(APPLICANT_COLUMNS, fallback[-_WIDTH:]))
    label_stop = min(columns.values(), default=table.width)
    return [view_grid_row(table, r, label_stop,
                          [table.rows[r][columns[k]] if k in columns else "" for k in APPLICANT_COLUMNS])
            for r in range(header_end, len(table.rows))]


def _column_map(table: Table, header_end: int) -> dict[str, int]:
    """Column key -> grid column, from the header cells, lowest (most specific) first."""
    found: dict[str, list[int]] = {}
    for c in range(table.width):
        for r in range(header_end - 1, -1, -1):
            text = table.rows[r][c]
            key = match_applicant_column(text) if norm(text) not in ("申请人情况",) else None
            if key:
                found.setdefault(key, []).append(c)
                break
    columns = {}
    for key, cols in found.items():
        # A header spanning two columns (one of them a stray empty one): keep the column
        # that holds numbers.
        columns[key] = max(cols, key=lambda c: (_count_numeric(table, c, header_end), -c))
    return columns


def _count_numeric(table: Table, c: int, start: int) -> int:
    return sum(1 for r in range(start, len(table.rows)) if looks_numeric(table.rows[r][c]))


def _numeric_columns(table: Table, start: int) -> list[int]:
    cols = [c for c in range(table.width) if _count_numeric(table, c, start)]
    # A spanned value cell repeats across columns: keep the first column of each span.
    return [c for c in cols if not any(
        table.origin[r][c] != (r, c) and table.origin[r][c][1] < c
        for r in range(start, len(table.rows)) if looks_numeric(table.rows[r][c]))]


_SUB_ITEM = re.compile(r"^[0-9]{1,2}[.,)]")  # 1. 2、 3) after `norm`


def _match(parts: list[str]) -> str | None:
    """The row key of a row's label parts, the most specific part first. A numbered sub-row
    (1.申请人…) is named by its own words only: its parent （六）其他处理 says nothing about
    which of the three it is."""
    if len(parts) > 1 and _SUB_ITEM.match(norm(parts[-1])):
        return match_application_row(parts[-1])
    for part in reversed(parts):
        key = match_application_row(part)
        if key:
            return key
    return None


def _is_valued(view: RowView) -> bool:
    if view.table.aligned:
        return view.has_numbers or any(v.strip() for v in view.values) or bool(_match(view.labels))
    return view.has_numbers


def _assign(views: list[RowView], warnings: list[str]) -> dict:
    rows: dict[str, dict] = {}
    matched: list[tuple[int, str]] = []  # (position among valued rows, key)
    unmatched: list[tuple[int, RowView]] = []
    fragments: list[list[str]] = []  # label parts of the rows without values since the last
    open_row: tuple[int, RowView, list[str]] | None = None  # an unmatched row being completed
    valued_count = 0

    def accept(position: int, key: str, view: RowView) -> None:
        _store(rows, key, view, warnings)
        matched.append((position, key))

    for view in views:
        if "carried_forward" in rows:
            break
        if not _is_valued(view):
            if not view.labels:
                continue
            fragments.append(view.labels)
            if open_row is not None:
                # A wrapped label under the numbers' line (narrow columns in a PDF).
                position, row, labels = open_row
                labels = _continue(labels, view.labels)
                open_row = (position, row, labels)
                key = _match(labels)
                if key and key not in rows:
                    unmatched.remove((position, row))
                    accept(position, key, row)
                    open_row, fragments = None, []
            continue
        position = valued_count
        valued_count += 1
        key = _match(view.labels)
        labels = list(view.labels)
        if key is None and fragments and open_row is None and not _SUB_ITEM.match(
                norm(view.labels[0]) if view.labels else ""):
            # A label begun on the lines above its numbers' line.
            labels = ["".join(sum(fragments, [])) + "".join(view.labels[:1])] + view.labels[1:]
            key = _match(labels)
            key = None if key in rows else key
        fragments, open_row = [], None
        if key is None:
            if _is_subtotal(view.labels):
                continue  # （三）不予公开 printed with its own sum above its eight reasons
            unmatched.append((position, view))
            # the label may go on below the numbers' line (3.危及“三安 / 0 0 0 … / 全一稳定”)
            open_row = (position, view, labels if view.labels or not fragments else [labels[0]])
            continue
        if key in rows:
            warnings.append(f"table 三: row '{view.label}' read as {key} twice; kept the first")
            continue
        accept(position, key, view)
    _by_row_order(rows, matched, unmatched, warnings)
    if "other_processing" in rows and any(k in rows for k in _OTHER_SUBROWS):
        # （六）其他处理 printed with its own sum above the 2021 sub-rows: a subtotal.
        del rows["other_processing"]
    return {key: rows[key] for key in APPLICATION_ROWS if key in rows}


def _continue(labels: list[str], more: list[str]) -> list[str]:
    """Append a continuation line's label parts to a row's, column by column from the
    right: ['（三）不', '1.属于国'] + ['予公开', '家秘密'] -> ['（三）不予公开', '1.属于国家秘密']."""
    if not labels:
        return list(more)
    if len(more) > len(labels):
        more = more[: len(labels) - 1] + ["".join(more[len(labels) - 1:])]
    head = labels[: len(labels) - len(more)]
    return head + [a + b for a, b in zip(labels[len(labels) - len(more):], more)]


_OTHER_SUBROWS = ("other_no_correction", "other_no_fee", "other_other")
_SUBTOTALS = ("不予公开", "无法提供", "不予处理")


def _is_subtotal(labels: list[str]) -> bool:
    return bool(labels) and strip_numbering(labels[-1]) in _SUBTOTALS


def _store(rows: dict, key: str, view: RowView, warnings: list[str]) -> None:
    cells = view.values
    if not view.table.aligned:
        cells = _text_cells(key, view, warnings)
    values = {}
    for column, raw in zip(APPLICANT_COLUMNS, cells):
        cell = parse_cell(raw)
        if not cell.readable:
            warnings.append(f"table 三 row {key} column {column}: unreadable cell {raw!r}")
        values[column] = cell.value
    rows[key] = values


def _text_cells(key: str, view: RowView, warnings: list[str]) -> list[str]:
    """A text row's seven value cells. Its cells only keep their order, so there can be
    several readings: the header row's column positions (when the row's labels end before
    them), and the value cells after the labels fitted to seven columns. A reading whose
    总计 is the sum of the other six is trusted over one whose is not; otherwise the header
    positions win, then the fitted cells."""
    if view.index in view.table.packed_rows:
        packed = _packed_cells(view.values)
        if packed is not None:
            cells, note = packed
            warnings.append(f"table 三 row {key}: {note}")
            return cells
    fitted, notes = fit_values(view.values, _WIDTH)
    readings = [(fitted, notes)]
    row = view.table.rows[view.index]
    positions = view.positions
    if positions and len(row) - len(view.values) <= positions[0]:
        by_header = [row[p] if p < len(row) else "" for p in positions]
        readings.insert(0, (by_header, ["read by the header row's column positions"]))
    if len(view.values) < _WIDTH and any(v.strip() for v in view.values):
        # a line that lost its trailing blank cells: the values start at 自然人
        left = (list(view.values) + [""] * _WIDTH)[:_WIDTH]
        readings.append((left, [f"{len(view.values)} values for {_WIDTH} columns; "
                                f"aligned them to the left, where the row sums hold"]))
    checked = [r for r in readings if _adds_up(r[0])]
    cells, chosen = (checked or readings)[0]
    if cells != fitted:
        warnings.extend(f"table 三 row {key}: {n}" for n in chosen)
    elif not checked or not _adds_up(fitted):
        warnings.extend(f"table 三 row {key}: {n}" for n in notes)
    return cells


def _packed_cells(values: list[str]) -> tuple[list[str], str] | None:
    """A row of fewer than seven numbers in text that drops blank cells (numbers separated by
    spaces): which columns they belong to is not written, so read it the way offices fill
    the table, check the row sum where it can be checked, and say so. None for a full row."""
    filled = [v for v in values if v.strip()]
    k = len(filled)
    if k == 0 or k >= _WIDTH:
        return None
    if k == 1:
        return [""] * (_WIDTH - 1) + filled, "one value for seven columns, blank cells not " \
            "written in this text; read it as 总计 (offices that fill one column fill 总计)"
    ends = filled[:-1] + [""] * (_WIDTH - k) + filled[-1:]
    if _adds_up([c or "0" for c in ends]):
        return ends, (f"{k} values for seven columns, blank cells not written in this text; "
                      f"the last is the sum of the others, so read it as 总计 and the others "
                      f"from 自然人")
    left = filled + [""] * (_WIDTH - k)
    return left, (f"{k} values for seven columns, blank cells not written in this text, and "
                  f"the last is not the sum of the others; read them from 自然人, 总计 blank: "
                  f"check against the original")


def _adds_up(cells: list[str]) -> bool:
    """Whether 总计 is the sum of the six applicant columns (all seven cells numbers)."""
    values = [parse_cell(c).value for c in cells]
    if any(v is None for v in values):
        return False
    return abs(sum(values[:-1]) - values[-1]) < 1e-6


def _by_row_order(rows: dict, matched: list[tuple[int, str]],
                  unmatched: list[tuple[int, RowView]], warnings: list[str]) -> None:
    """Name unreadable rows by the national format's fixed order: the unmatched rows
    between two matched rows get the canonical keys missing between them, when the counts
    agree; otherwise they are reported and left out."""
    order = list(APPLICATION_ROWS)
    if "other_processing" in rows:
        order = [k for k in order if k not in _OTHER_SUBROWS]
    elif any(k in rows for k in _OTHER_SUBROWS):
        order.remove("other_processing")
    # an anchor outside the order in force (a stray 其他 read as other_other beside a
    # single （六）其他处理 row) says nothing about where the rows between belong
    anchors = sorted((p, k) for p, k in matched if k in order)
    assigned: list[tuple[str, RowView]] = []
    for position, view in unmatched:
        prev = [(p, k) for p, k in anchors if p < position][-1:]
        nxt = [(p, k) for p, k in anchors if p > position][:1]
        lo = order.index(prev[0][1]) + 1 if prev else 0
        hi = order.index(nxt[0][1]) if nxt else len(order)
        gap = [k for k in order[lo:hi] if k not in rows]
        between = [p for p, _ in unmatched
                   if (not prev or p > prev[0][0]) and (not nxt or p < nxt[0][0])]
        if gap and len(gap) == len(between):
            assigned.append((gap[between.index(position)], view))
        elif view.has_numbers:
            warnings.append(f"table 三: row {view.label!r} not recognised; its values were not used")
    for key, view in assigned:
        warnings.append(f"table 三: row label {view.label!r} not recognised; "
                        f"read as {key} by the national format's row order")
        _store(rows, key, view, warnings)
