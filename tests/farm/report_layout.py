"""The national report tables (国办公开办函〔2019〕60号 and 〔2021〕30号) as a format-neutral layout.

A *layout* is a list of tables (二、主动公开, 三、依申请, 四、复议诉讼, in that order); a table is a
list of rows; a row is a list of `Cell(text, rowspan, colspan, label)`. Spans follow HTML: a
cell covered by a span from above or from the left is not repeated in later rows. The layout
mirrors the official blank template (tests/reference/template-2021-blank.docx) row for row, so
an HTML, DOCX or PDF renderer only has to turn cells into its own markup.

`layout_tables(values, template)` takes flat values as in `tests/examples/*.expected.json`
(`applications.granted.total: 0`, missing path or None = blank cell) and returns the layout;
`narrative_from_text(text)` splits an example `.txt` into title, headings, paragraphs and
table slots; `render_html(...)` makes a TRS-style article page of both.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from parsers.vocabulary import (APPLICANTS_HEADING, BALANCE_NOTE, CONTENT_HEADING, ITEM_HEADINGS,
                                RESULTS_HEADING, TABLE2_CATEGORIES, TABLE2_LAYOUT, TABLE2_MEASURES,
                                TABLE3_COLUMNS, TABLE3_ROWS, TABLE4_GROUPS, TABLE4_MEASURES)


@dataclass(frozen=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    label: bool = False  # a heading/label cell (renderers may shade or bold it)


Table = list[list[Cell]]

# Every label comes from parsers.vocabulary; this module only lays them out.
APPLICANT_COLUMNS = TABLE3_COLUMNS.keys()
REVIEW_GROUPS = TABLE4_GROUPS.keys()
REVIEW_MEASURES = TABLE4_MEASURES.keys()

ACTIVE = TABLE2_LAYOUT  # 二, as each form prints it


def fmt_value(value) -> str:
    """A cell's printed text: blank for None, integers without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def layout_tables(values: dict, template: str, *, other_rows: str | None = None,
                  labels: dict[str, str] | None = None,
                  units: dict[str, str] | None = None) -> list[Table]:
    """The three tables of a report, filled with `values`.

    :param values: flat path -> number or None (REPORT_MODEL.md); a missing path is a blank cell.
    :param template: "2019" or "2021" (which national format to lay out).
    :param other_rows: "single" for one （六）其他处理 row, "three" for the 2021 sub-rows;
        default: "three" if any `applications.other_no_*`/`other_other` value is given.
    :param labels: label text replacements, e.g. {"本年废止件数": "本年度止件数"} (a real typo).
    :param units: flat path -> unit appended to the printed value, e.g. {"...procurement_amount": "元"}.
    """
    if template not in ("2019", "2021"):
        raise ValueError(f"template must be '2019' or '2021', not {template!r}")
    if other_rows is None:
        other_rows = "three" if any(k.startswith(("applications.other_no_", "applications.other_other"))
                                    for k in values) else "single"
    labels = labels or {}
    units = units or {}

    def lab(text: str, rowspan: int = 1, colspan: int = 1) -> Cell:
        return Cell(labels.get(text, text), rowspan, colspan, label=True)

    def val(path: str, colspan: int = 1) -> Cell:
        text = fmt_value(values.get(path))
        if text and path in units:
            text += units[path]
        return Cell(text, 1, colspan)

    return [
        _active_table(template, lab, val),
        _applications_table(other_rows, lab, val),
        _review_table(lab, val),
    ]


def _active_table(template, lab, val) -> Table:
    rows: Table = []
    for item, measures, categories in ACTIVE[template]:
        rows.append([lab(ITEM_HEADINGS[item], colspan=4)])
        rows.append([lab(CONTENT_HEADING)] + [lab(TABLE2_MEASURES[m].label_in(template), colspan=span)
                                             for m, span in measures])
        for category in categories:
            rows.append([lab(TABLE2_CATEGORIES[category].label_in(template))]
                        + [val(f"active_disclosure.{item}.{category}.{m}", span) for m, span in measures])
    return rows


def _applications_table(other_rows, lab, val) -> Table:
    def data(row_key: str) -> list[Cell]:
        return [val(f"applications.{row_key}.{c}") for c in APPLICANT_COLUMNS]

    new, carried, forward = (TABLE3_ROWS[k] for k in ("new_received", "carried_over", "carried_forward"))
    skip = {new.key, carried.key, forward.key}
    skip |= {"other_processing"} if other_rows == "three" else {"other_no_correction", "other_no_fee",
                                                                 "other_other"}
    # the rows under 三、本年度办理结果, as (group label or None, [(row key, label)])
    groups: list[tuple[str | None, list[tuple[str, str]]]] = []
    for term in TABLE3_ROWS.terms:
        if term.key in skip:
            continue
        if term.group is None or not groups or groups[-1][0] != term.group:
            groups.append((term.group, []))
        groups[-1][1].append((term.key, term.label))
    columns = TABLE3_COLUMNS.terms
    orgs = [t for t in columns if t.group]
    result_rows = sum(len(rows) for _, rows in groups)
    rows: Table = [
        [lab(BALANCE_NOTE, rowspan=3, colspan=3), lab(APPLICANTS_HEADING, colspan=len(columns))],
        [lab(columns[0].label, rowspan=2), lab(orgs[0].group, colspan=len(orgs)),
         lab(columns[-1].label, rowspan=2)],
        [lab(t.label) for t in orgs],
        [lab(new.label, colspan=3)] + data(new.key),
        [lab(carried.label, colspan=3)] + data(carried.key),
    ]
    first = True
    for group, members in groups:
        for i, (key, text) in enumerate(members):
            row: list[Cell] = []
            if first:
                row.append(lab(RESULTS_HEADING, rowspan=result_rows))
                first = False
            if group is None:
                row.append(lab(text, colspan=2))
            else:
                if i == 0:
                    row.append(lab(group, rowspan=len(members)))
                row.append(lab(text))
            rows.append(row + data(key))
    rows.append([lab(forward.label, colspan=3)] + data(forward.key))
    return rows


def _review_table(lab, val) -> Table:
    measures = [t.label for t in TABLE4_MEASURES.terms]
    review, direct, after = TABLE4_GROUPS.terms
    return [
        [lab(review.label, colspan=len(measures)), lab(direct.group, colspan=2 * len(measures))],
        [lab(t, rowspan=2) for t in measures]
        + [lab(direct.label, colspan=len(measures)), lab(after.label, colspan=len(measures))],
        [lab(t) for t in measures] * 2,
        [val(f"review_litigation.{g}.{m}") for g in REVIEW_GROUPS for m in REVIEW_MEASURES],
    ]


def expand_grid(table: Table) -> list[list[str]]:
    """The table as a rectangular grid of texts, spans repeated (the way the parser sees it).

    Raises ValueError if the spans do not tile a rectangle (a layout bug)."""
    grid: dict[tuple[int, int], str] = {}
    width = None
    for r, row in enumerate(table):
        c = 0
        for cell in row:
            while (r, c) in grid:
                c += 1
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    if (r + dr, c + dc) in grid:
                        raise ValueError(f"overlapping spans at row {r + dr}, column {c + dc}")
                    grid[(r + dr, c + dc)] = cell.text
            c += cell.colspan
        while (r, c) in grid:
            c += 1
        if width is None:
            width = c
        elif c != width:
            raise ValueError(f"row {r} is {c} columns wide, not {width}")
    if len(grid) != width * len(table):
        raise ValueError("spans reach below the last row")
    return [[grid[(r, c)] for c in range(width)] for r in range(len(table))]


# --- narrative -----------------------------------------------------------------------------

_SECTION = re.compile(r"^[一二三四五六]、")
_TABLE_SLOT = {"二": 0, "三": 1, "四": 2}


def narrative_from_text(text: str) -> tuple[str, list[tuple[str, object]]]:
    """Split an example report's text into its title and body blocks.

    Blocks are ("h", heading), ("p", paragraph) and ("table", index into the layout). Table
    lines of the text (tab-separated rows, 第二十条 item headings) are dropped, and each table is
    put where the text first showed it, so the page reads as the report did."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    title = lines[0].lstrip("#").strip()
    body: list[tuple[str, object]] = []
    section = None
    placed: set[int] = set()
    for raw in lines[1:]:
        is_table_line = "\t" in raw or raw.startswith("第二十条第")
        line = raw.lstrip("#").strip()
        if is_table_line:
            slot = _TABLE_SLOT.get(section)
            if slot is not None and slot not in placed:
                body.append(("table", slot))
                placed.add(slot)
            continue
        if _SECTION.match(line) and len(line) < 40:
            section = line[0]
            body.append(("h", line))
        elif raw.startswith("#"):
            body.append(("h", line))
        else:
            body.append(("p", line.lstrip("- ").strip() if line.startswith("- ") else line))
    # a table the text never showed still belongs at the end of its section
    for slot in (0, 1, 2):
        if slot not in placed:
            heading = "二三四"[slot]
            idx = next((i for i, (k, v) in enumerate(body) if k == "h" and str(v).startswith(heading)),
                       len(body) - 1)
            body.insert(idx + 1, ("table", slot))
    return title, body


# --- HTML ------------------------------------------------------------------------------------

def _word_pasted(text: str) -> str:
    """Cell text as Word pastes it: digits split over spans, &nbsp; padding."""
    if not text:
        return '<p class="MsoNormal"><span>&nbsp;</span></p>'
    parts = "".join(f"<span lang=\"EN-US\">{html.escape(ch)}</span>" for ch in text) \
        if re.fullmatch(r"-?\d+(\.\d+)?", text) else f"<span>{html.escape(text)}</span>"
    return f'<p class="MsoNormal" align="center">{parts}<span>&nbsp;</span></p>'


def render_table_html(table: Table, *, word_pasted: bool = False) -> str:
    """One table as HTML with real rowspan/colspan attributes."""
    out = ['<table border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse">', "<tbody>"]
    for row in table:
        out.append("<tr>")
        for cell in row:
            attrs = ""
            if cell.rowspan > 1:
                attrs += f' rowspan="{cell.rowspan}"'
            if cell.colspan > 1:
                attrs += f' colspan="{cell.colspan}"'
            if cell.label:
                attrs += ' style="background:#f2f2f2"'
            inner = _word_pasted(cell.text) if word_pasted else html.escape(cell.text)
            out.append(f"<td{attrs}>{inner}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def render_html(*, title: str, body: list[tuple[str, object]], tables: list[Table],
                site_name: str, column_name: str, column_href: str, pub_date: str,
                home_href: str = "/", source: str = "", charset: str = "utf-8",
                word_pasted: bool = False,
                attachments: list[tuple[str, str]] = ()) -> str:
    """A TRS-style article page: portal chrome, then the report in `<div class="TRS_Editor">`.

    :param body: blocks from `narrative_from_text` (or hand-made).
    :param attachments: (href, link text) pairs listed under the article, as portals do.
    """
    esc = html.escape
    parts = []
    for kind, content in body:
        if kind == "h":
            parts.append(f'<p style="text-indent:2em"><strong>{esc(str(content))}</strong></p>')
        elif kind == "p":
            parts.append(f'<p style="text-indent:2em">{esc(str(content))}</p>')
        elif kind == "table":
            parts.append(render_table_html(tables[int(content)], word_pasted=word_pasted))
    links = "".join(f'<li><a href="{esc(href)}">{esc(text)}</a></li>' for href, text in attachments)
    attach_html = f'<div class="fj"><p>附件：</p><ul>{links}</ul></div>' if attachments else ""
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<meta name="SiteName" content="{esc(site_name)}" />
<meta name="ColumnName" content="{esc(column_name)}" />
<meta name="ArticleTitle" content="{esc(title)}" />
<meta name="PubDate" content="{esc(pub_date)}" />
<title>{esc(title)}_{esc(column_name)}_{esc(site_name)}</title>
<link rel="stylesheet" href="/css/style.css" />
</head>
<body>
<div class="header"><a href="{esc(home_href)}">{esc(site_name)}</a></div>
<div class="nav"><a href="{esc(home_href)}">首页</a> &gt; <a href="{esc(column_href)}">{esc(column_name)}</a></div>
<div class="article">
<h1 class="title">{esc(title)}</h1>
<div class="info">发布时间：{esc(pub_date)}　来源：{esc(source or site_name)}</div>
<div class="TRS_Editor">
<p align="center"><strong>{esc(title)}</strong></p>
{chr(10).join(parts)}
</div>
{attach_html}
</div>
<div class="footer">主办：{esc(site_name)}　<a href="{esc(home_href)}">网站首页</a></div>
</body>
</html>
"""
