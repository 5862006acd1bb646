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


@dataclass(frozen=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    label: bool = False  # a heading/label cell (renderers may shade or bold it)


Table = list[list[Cell]]

APPLICANT_COLUMNS = ["natural_person", "commercial", "research", "social_welfare",
                     "legal_services", "other_org", "total"]
REVIEW_GROUPS = ["review", "litigation_direct", "litigation_after_review"]
REVIEW_MEASURES = ["maintained", "corrected", "other", "pending", "total"]
REVIEW_LABELS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]

# 二: per item, (heading, [(measure, column label, colspan)], [(category, row label)])
ACTIVE_2021 = [
    ("20.1", "第二十条第（一）项",
     [("issued", "本年制发件数", 1), ("repealed", "本年废止件数", 1), ("in_force", "现行有效件数", 1)],
     [("regulations", "规章"), ("normative_documents", "行政规范性文件")]),
    ("20.5", "第二十条第（五）项", [("decisions", "本年处理决定数量", 3)], [("licensing", "行政许可")]),
    ("20.6", "第二十条第（六）项", [("decisions", "本年处理决定数量", 3)],
     [("punishment", "行政处罚"), ("coercion", "行政强制")]),
    ("20.8", "第二十条第（八）项", [("fee_amount", "本年收费金额（单位：万元）", 3)],
     [("fees", "行政事业性收费")]),
]
_PRIOR_CHANGE = [("prior_items", "上一年项目数量", 1), ("change", "本年增/减", 1)]
ACTIVE_2019 = [
    ("20.1", "第二十条第（一）项",
     [("made", "本年新制作数量", 1), ("published", "本年新公开数量", 1), ("total_public", "对外公开总数量", 1)],
     [("regulations", "规章"), ("normative_documents", "规范性文件")]),
    ("20.5", "第二十条第（五）项", _PRIOR_CHANGE + [("decisions", "处理决定数量", 1)],
     [("licensing", "行政许可"), ("other_management_services", "其他对外管理服务事项")]),
    ("20.6", "第二十条第（六）项", _PRIOR_CHANGE + [("decisions", "处理决定数量", 1)],
     [("punishment", "行政处罚"), ("coercion", "行政强制")]),
    ("20.8", "第二十条第（八）项", [("prior_items", "上一年项目数量", 1), ("change", "本年增/减", 2)],
     [("fees", "行政事业性收费")]),
    ("20.9", "第二十条第（九）项",
     [("procurement_items", "采购项目数量", 1), ("procurement_amount", "采购总金额", 2)],
     [("procurement", "政府集中采购")]),
]

# 三: result rows under 三、本年度办理结果: (group label or None, [(row key, label)])
_DENIED = [("denied_state_secret", "1.属于国家秘密"), ("denied_prohibited", "2.其他法律行政法规禁止公开"),
           ("denied_three_safeties", "3.危及“三安全一稳定”"), ("denied_third_party", "4.保护第三方合法权益"),
           ("denied_internal_affairs", "5.属于三类内部事务信息"), ("denied_process_info", "6.属于四类过程性信息"),
           ("denied_enforcement_files", "7.属于行政执法案卷"), ("denied_query_matters", "8.属于行政查询事项")]
_UNABLE = [("unable_not_held", "1.本机关不掌握相关政府信息"), ("unable_needs_creation", "2.没有现成信息需要另行制作"),
           ("unable_unclear", "3.补正后申请内容仍不明确")]
_NOT_PROCESSED = [("not_processed_petition", "1.信访举报投诉类申请"), ("not_processed_repeat", "2.重复申请"),
                  ("not_processed_publication", "3.要求提供公开出版物"),
                  ("not_processed_mass_repeat", "4.无正当理由大量反复申请"),
                  ("not_processed_confirmation", "5.要求行政机关确认或重新出具已获取信息")]
_OTHER_THREE = [("other_no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
                ("other_no_fee", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
                ("other_other", "3.其他")]


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
        _active_table(values, ACTIVE_2021 if template == "2021" else ACTIVE_2019, lab, val),
        _applications_table(other_rows, lab, val),
        _review_table(lab, val),
    ]


def _active_table(values, items, lab, val) -> Table:
    rows: Table = []
    for item, heading, measures, categories in items:
        rows.append([lab(heading, colspan=4)])
        rows.append([lab("信息内容")] + [lab(text, colspan=span) for _, text, span in measures])
        for category, row_label in categories:
            rows.append([lab(row_label)] + [val(f"active_disclosure.{item}.{category}.{m}", span)
                                             for m, _, span in measures])
    return rows


def _applications_table(other_rows, lab, val) -> Table:
    def data(row_key: str) -> list[Cell]:
        return [val(f"applications.{row_key}.{c}") for c in APPLICANT_COLUMNS]

    groups: list[tuple[str | None, list[tuple[str, str]]]] = [
        (None, [("granted", "（一）予以公开")]),
        (None, [("partially_granted", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）")]),
        ("（三）不予公开", _DENIED), ("（四）无法提供", _UNABLE), ("（五）不予处理", _NOT_PROCESSED),
        ("（六）其他处理", _OTHER_THREE) if other_rows == "three" else (None, [("other_processing", "（六）其他处理")]),
        (None, [("results_total", "（七）总计")]),
    ]
    result_rows = sum(len(rows) for _, rows in groups)
    rows: Table = [
        [lab("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", rowspan=3, colspan=3),
         lab("申请人情况", colspan=7)],
        [lab("自然人", rowspan=2), lab("法人或其他组织", colspan=5), lab("总计", rowspan=2)],
        [lab("商业企业"), lab("科研机构"), lab("社会公益组织"), lab("法律服务机构"), lab("其他")],
        [lab("一、本年新收政府信息公开申请数量", colspan=3)] + data("new_received"),
        [lab("二、上年结转政府信息公开申请数量", colspan=3)] + data("carried_over"),
    ]
    first = True
    for group, members in groups:
        for i, (key, text) in enumerate(members):
            row: list[Cell] = []
            if first:
                row.append(lab("三、本年度办理结果", rowspan=result_rows))
                first = False
            if group is None:
                row.append(lab(text, colspan=2))
            else:
                if i == 0:
                    row.append(lab(group, rowspan=len(members)))
                row.append(lab(text))
            rows.append(row + data(key))
    rows.append([lab("四、结转下年度继续办理", colspan=3)] + data("carried_forward"))
    return rows


def _review_table(lab, val) -> Table:
    return [
        [lab("行政复议", colspan=5), lab("行政诉讼", colspan=10)],
        [lab(t, rowspan=2) for t in REVIEW_LABELS]
        + [lab("未经复议直接起诉", colspan=5), lab("复议后起诉", colspan=5)],
        [lab(t) for t in REVIEW_LABELS] * 2,
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
