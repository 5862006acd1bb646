"""The three tables of a report laid out as the national form prints them (国办公开办函〔2019〕60号
and 〔2021〕30号), for the report page: pure functions from the long rows of the catalog to
rows of cells with their spans, every label from `parsers.vocabulary`.

A cell is a dict: `text`, `rowspan`, `colspan`, `head` (a label, not a figure) and `blank`
(a figure the report left blank: shown empty, never as 0). A row the form has and the report
does not print is a row of blank cells; a value the form of the report's template has no
place for is listed in `extra`, so nothing stored is hidden.
"""
from __future__ import annotations

from parsers.vocabulary import (APPLICANTS_HEADING, BALANCE_NOTE, CONTENT_HEADING,
                                ITEM_HEADINGS, RESULTS_HEADING, TABLE2_CATEGORIES,
                                TABLE2_LAYOUT, TABLE2_MEASURES, TABLE3_COLUMNS, TABLE3_ROWS,
                                TABLE4_GROUPS, TABLE4_MEASURES)

ACTIVE = TABLE2_LAYOUT  # 二, as each form prints it
# （六）其他处理 in three lines (2021) or one (2019, and many 2021 reports)
OTHER_SPLIT = ("other_no_correction", "other_no_fee", "other_other")
OUTSIDE_RESULTS = ("new_received", "carried_over", "carried_forward")


def fmt(value, unit: str | None = None) -> str:
    """A figure as printed: blank for None, integers without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} {unit}" if unit else str(value)


def head(text: str, rowspan: int = 1, colspan: int = 1) -> dict:
    return {"text": text, "rowspan": rowspan, "colspan": colspan, "head": True, "blank": False}


def figure(value, unit: str | None = None, colspan: int = 1) -> dict:
    return {"text": fmt(value, unit), "rowspan": 1, "colspan": colspan, "head": False,
            "blank": value is None}


def form_of(template: str | None, measures: set[str]) -> str:
    """The form to lay section 二 out by: the report's template, else the one its measures
    belong to."""
    if template in ACTIVE:
        return template
    only_2019 = {t.key for t in TABLE2_MEASURES.terms if t.template == "2019"}
    return "2019" if measures & only_2019 else "2021"


def active_table(rows: list[dict], template: str | None) -> dict:
    """Section 二 from `active_disclosure` rows (category, measure, value, unit)."""
    cells = {(r["category"], r["measure"]): r for r in rows}
    form = form_of(template, {r["measure"] for r in rows})
    out, used = [], set()
    for item, measures, categories in ACTIVE[form]:
        out.append([head(ITEM_HEADINGS[item], colspan=4)])
        out.append([head(CONTENT_HEADING)] + [
            head(TABLE2_MEASURES[m].label_in(form) or TABLE2_MEASURES[m].label, colspan=span)
            for m, span in measures])
        for category in categories:
            term = TABLE2_CATEGORIES[category]
            row = [head(term.label_in(form) or term.label)]
            for measure, span in measures:
                cell = cells.get((category, measure)) or {}
                used.add((category, measure))
                row.append(figure(cell.get("value"), cell.get("unit"), span))
            out.append(row)
    extra = [{"label": f"{_label(TABLE2_CATEGORIES, c)} · {_label(TABLE2_MEASURES, m)}",
              "text": fmt(r["value"], r["unit"])}
             for (c, m), r in cells.items() if (c, m) not in used and r["value"] is not None]
    return {"form": form, "rows": out, "extra": extra}


def _label(vocabulary, key: str) -> str:
    try:
        return vocabulary[key].display
    except StopIteration:  # a key this vocabulary does not know (an older parser's)
        return key


def _shown_rows(values: dict, template: str | None) -> list:
    form = template if template in ("2019", "2021") else "2021"
    shown = []
    for term in TABLE3_ROWS.terms:
        if term.key in values:
            shown.append(term)
        elif term.key == "other_processing":
            if form == "2019":
                shown.append(term)
        elif term.key in OTHER_SPLIT:
            if form == "2021" and "other_processing" not in values:
                shown.append(term)
        elif term.label_in(form) is not None:
            shown.append(term)
    return shown


def applications_table(rows: list[dict], template: str | None) -> dict:
    """Section 三 from `applications` rows (row, column, value): the header of applicant
    columns and one row per line of the form, the result lines under 三、本年度办理结果 and
    each group's lines under its heading, as the form spans them."""
    values: dict[str, dict[str, object]] = {}
    for r in rows:
        values.setdefault(r["row"], {})[r["column"]] = r["value"]
    columns = TABLE3_COLUMNS.keys()
    org = [t for t in TABLE3_COLUMNS.terms if t.group]
    header = [
        [head(BALANCE_NOTE, rowspan=3, colspan=3), head(APPLICANTS_HEADING, colspan=len(columns))],
        [head(TABLE3_COLUMNS["natural_person"].label, rowspan=2),
         head(org[0].group, colspan=len(org)), head(TABLE3_COLUMNS["total"].label, rowspan=2)],
        [head(t.label) for t in org],
    ]
    shown = _shown_rows(values, template)
    results = [t for t in shown if t.key not in OUTSIDE_RESULTS]
    body = []
    for term in shown:
        row = []
        if term.key in OUTSIDE_RESULTS:
            row.append(head(term.label, colspan=3))
        else:
            if term is results[0]:
                row.append(head(RESULTS_HEADING, rowspan=len(results)))
            if term.group:
                group = [t for t in results if t.group == term.group]
                if term is group[0]:
                    row.append(head(term.group, rowspan=len(group)))
                row.append(head(term.display))
            else:
                row.append(head(term.display, colspan=2))
        cells = values.get(term.key, {})
        row.extend(figure(cells.get(c)) for c in columns)
        body.append({"key": term.key, "cells": row})
    known = set(TABLE3_ROWS.keys())
    extra = [{"label": f"{key} · {col}", "text": fmt(v)}
             for key, cols in values.items() if key not in known
             for col, v in cols.items() if v is not None]
    return {"header": header, "rows": body, "extra": extra}


def review_table(rows: list[dict]) -> dict:
    """Section 四 from `review_litigation` rows (review_group, measure, value)."""
    values = {(r["review_group"], r["measure"]): r["value"] for r in rows}
    measures = TABLE4_MEASURES.keys()
    review, direct, after = (TABLE4_GROUPS[k] for k in TABLE4_GROUPS.keys())
    header = [
        [head(review.label, rowspan=2, colspan=len(measures)),
         head(direct.group, colspan=2 * len(measures))],
        [head(direct.label, colspan=len(measures)), head(after.label, colspan=len(measures))],
        [head(TABLE4_MEASURES[m].label) for _ in range(3) for m in measures],
    ]
    body = [figure(values.get((g, m))) for g in TABLE4_GROUPS.keys() for m in measures]
    return {"header": header, "rows": [body]}
