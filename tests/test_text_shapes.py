"""The table shapes of extracted text, one at a time, each in a small fragment written the
way the tool writes it: Tika's tab-per-cell lines, tab rows that lose or keep trailing
cells, table 四 under run-together header words, PDF-to-Markdown pipe rows. The whole
reports in every shape are in test_parser_formats.py."""
from __future__ import annotations

from parsers import parse_bytes
from parsers.text_cells import cell_line_rows, cell_line_runs

COLUMNS = ["natural_person", "commercial", "research", "social_welfare", "legal_services",
           "other_org", "total"]


def _parse(text: str) -> dict:
    return parse_bytes(text.encode("utf-8"), filename="report.txt")


def _row(*values):
    return dict(zip(COLUMNS, values))


def _tika_cells(*cells: str) -> str:
    return "".join(f"\t{c}\n" for c in cells) + "\n"


TIKA = ("三、收到和处理政府信息公开申请情况\n"
        + _tika_cells("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况")
        + _tika_cells("自然\n人", "法人或其他组织", "总计")  # a spanning header: fewer cells
        + _tika_cells("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")
        + _tika_cells("一、本年新收政府信息公开申请数量", "5", "1", "0", "0", "0", "0", "6")
        + _tika_cells("二、上年结转政府信息公开申请数量", "0", "0", "0", "0", "0", "0", "0")
        + _tika_cells("三、本年度办理结果", "（一）予以公开", "3", "1", "0", "0", "0", "0", "4")
        + _tika_cells("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "1", "0", "0", "0", "0", "0", "1")
        # the group label typed into a narrow cell: its lines go on without the tab
        + _tika_cells("（三）不予\n以公\n开", "1.属于国家秘密", "1", "0", "0", "0", "0", "0", "1")
        # a row under the vertically merged group label: that cell is not written at all
        + _tika_cells("2.其他法律行政法规禁止公开", "0", "0", "0", "0", "0", "0", "0")
        + _tika_cells("（七）总计", "5", "1", "0", "0", "0", "0", "6")
        + _tika_cells("四、结转下年度继续办理", "0", "0", "0", "0", "0", "0", "0")
        + "\n四、政府信息公开行政复议、行政诉讼情况[bookmark: _GoBack]\n")


def test_tika_cell_lines_are_one_table_of_rows():
    lines = TIKA.split("\n")
    runs = cell_line_runs(lines)
    assert len(runs) == 1
    rows = cell_line_rows(lines[runs[0][0]:runs[0][1]])
    assert rows[1] == ["自然人", "法人或其他组织", "总计"]
    assert rows[7][0] == "（三）不予以公开"  # the wrapped cell joined
    assert rows[8][0] == "2.其他法律行政法规禁止公开"


def test_tika_table_gives_every_row():
    report = _parse(TIKA)
    apps = report["applications"]
    assert apps["new_received"] == _row(5, 1, 0, 0, 0, 0, 6)
    assert apps["granted"] == _row(3, 1, 0, 0, 0, 0, 4)
    assert apps["partially_granted"] == _row(1, 0, 0, 0, 0, 0, 1)
    assert apps["denied_state_secret"] == _row(1, 0, 0, 0, 0, 0, 1)
    assert apps["denied_prohibited"] == _row(0, 0, 0, 0, 0, 0, 0)
    assert apps["results_total"] == _row(5, 1, 0, 0, 0, 0, 6)
    assert not any("bookmark" in (p or "") for p in report["sections"].values())


# Tab rows of a grid with its spans undone: 自然人 and 总计 on the header's second line,
# the five organisations on its third; the label spans three grid columns.
RAGGED = "\n".join([
    "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）\t\t\t申请人情况\t\t\t\t\t\t",
    "\t\t\t自然人\t法人或其他组织\t\t\t\t\t总计",
    "\t\t\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t\t",
    "一、本年新收政府信息公开申请数量\t\t\t7\t2",  # 科研机构 … 总计 blank: the line was stripped
    "二、上年结转政府信息公开申请数量\t\t\t0\t0\t0\t0\t0\t0\t0\t",  # this one ends in a tab
    "三、本年度办理结果\t（一）予以公开\t\t\t\t\t\t\t\t4",
    "\t（二）部分公开\t\t1\t0\t0\t0\t0\t0\t1\t",
    "\t（七）总计\t\t5\t0\t0\t0\t0\t0\t5",
    "四、结转下年度继续办理\t\t\t0\t0\t0\t0\t0\t0\t0",
])


def test_ragged_tab_rows_use_the_header_positions():
    apps = _parse("三、收到和处理政府信息公开申请情况\n" + RAGGED + "\n")["applications"]
    assert apps["new_received"] == _row(7, 2, None, None, None, None, None)
    assert apps["carried_over"] == _row(0, 0, 0, 0, 0, 0, 0)
    assert apps["granted"] == _row(None, None, None, None, None, None, 4)
    assert apps["partially_granted"] == _row(1, 0, 0, 0, 0, 0, 1)
    assert apps["results_total"] == _row(5, 0, 0, 0, 0, 0, 5)


def test_a_row_that_lost_its_trailing_cells_is_read_from_the_left_when_it_adds_up():
    # no header row: the reading whose 总计 is the sum of the others is the one trusted
    text = ("三、收到和处理政府信息公开申请情况\n"
            "一、本年新收政府信息公开申请数量\t2\t0\t0\t0\t0\t0\t2\n"
            "二、上年结转政府信息公开申请数量\t0\t0\t0\t0\t0\t0\t0\n"
            "（一）予以公开\t\t2\t0\t0\t0\t0\t0\t2\t\n"
            "（七）总计\t2\t0\t0\t0\t0\t0\t2\n"
            "四、结转下年度继续办理\t0\t0\t0\t0\t0\t0\t0\n")
    apps = _parse(text)["applications"]
    assert apps["granted"] == _row(2, 0, 0, 0, 0, 0, 2)


def test_space_separated_short_rows_follow_the_row_sums_and_warn():
    text = ("三、收到和处理政府信息公开申请情况\n"
            "一、本年新收政府信息公开申请数量 9 1 10\n"
            "二、上年结转政府信息公开申请数量 0 0 0 0 0 0 0\n"
            "（一）予以公开 6\n"
            "（二）部分公开 3 1\n"
            "（七）总计 9 1 10\n"
            "四、结转下年度继续办理 0 0 0 0 0 0 0\n")
    report = _parse(text)
    apps = report["applications"]
    assert apps["new_received"] == _row(9, 1, None, None, None, None, 10)  # 9 + 1 = 10
    assert apps["granted"] == _row(None, None, None, None, None, None, 6)  # one value: 总计
    assert apps["partially_granted"] == _row(3, 1, None, None, None, None, None)  # 3 + 1 != 1
    notes = [w for w in report["warnings"] if "blank cells not written" in w]
    assert len(notes) == 4 and any("check against the original" in w for w in notes)


def test_table_four_under_run_together_header_words():
    text = ("四、政府信息公开行政复议、行政诉讼情况\n"
            "行政复议行政诉讼\n"
            "结果结果其他尚未未经复议直接起诉复议后起诉\n"
            "维持纠正结果审结总计结果结果其他尚未结果结果其他尚未\n"
            "总计总计\n"
            "维持纠正结果审结维持纠正结果审结\n"
            "1\t0\t0\t0\t1\t0\t0\t0\t0\t0\t0\t2\t0\t0\t2\n"
            "五、存在的主要问题及改进情况\n无。\n")
    review = _parse(text)["review_litigation"]
    assert review["review"] == {"maintained": 1, "corrected": 0, "other": 0, "pending": 0, "total": 1}
    assert review["litigation_after_review"]["corrected"] == 2
    assert review["litigation_after_review"]["total"] == 2


MARKDOWN = "\n".join([
    "三、收到和处理政府信息公开申请情况",
    "| （本列数据的勾稽关系） | 自然人 | 商业企业 | 科研机构 | 社会公益组织 | 法律服务机构 | 其他 | 总计 |",
    "|---|---|---|---|---|---|---|---|",
    "一、本年新收政府信息公开申请数量",  # the label left outside the table
    "| 4 | 0 | 0 | 0 | 0 | 0 | 4 |",
    "| 二、上年结转政府信息公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
    "| 三、本年度办理结果 | （一）予以公开 | 1 | 0 | 0 | 0 | 0 | 0 | 1 |",
    "| （三）不 | 1.属于国家秘密 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
    "| 予公开 | 2.其他法律行政法规禁止公开 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
    "",
    "— 5 —",
    "",
    "| | 3.危及“三安全一稳定” | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
    "| | 4.保护第三方合法权益 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |",
    "| （七）总计 | 3 | 0 | 0 | 0 | 0 | 0 | 3 |",
    "四、结转下年度继续办理",
    "| 1 | 0 | 0 | 0 | 0 | 0 | 1 |",
    "",
    "四、政府信息公开行政复议、行政诉讼情况",
])


def test_markdown_rows_with_labels_outside_split_labels_and_a_page_footer():
    report = _parse(MARKDOWN)
    apps = report["applications"]
    assert apps["new_received"] == _row(4, 0, 0, 0, 0, 0, 4)
    assert apps["granted"] == _row(1, 0, 0, 0, 0, 0, 1)
    assert apps["denied_state_secret"] == _row(0, 0, 0, 0, 0, 0, 0)
    assert apps["denied_third_party"] == _row(2, 0, 0, 0, 0, 0, 2)
    assert apps["results_total"] == _row(3, 0, 0, 0, 0, 0, 3)
    assert apps["carried_forward"] == _row(1, 0, 0, 0, 0, 0, 1)
    assert "— 5 —" not in " ".join(p or "" for p in report["sections"].values())


def test_a_stray_other_row_beside_a_single_other_processing_row_does_not_crash():
    # 其他 (the 2021 sub-row) read beside a 2019-style （六）其他处理 row, then a row that
    # names nothing: the row order has no place for other_other
    text = ("三、收到和处理政府信息公开申请情况\n"
            "一、本年新收政府信息公开申请数量 0 0 0 0 0 0 0\n"
            "（六）其他处理 0 0 0 0 0 0 0\n"
            "其他 0 0 0 0 0 0 0\n"
            "甲乙丙丁戊 0 0 0 0 0 0 0\n"
            "四、结转下年度继续办理 0 0 0 0 0 0 0\n")
    report = _parse(text)
    assert report["applications"]["carried_forward"] == _row(0, 0, 0, 0, 0, 0, 0)
    assert any("甲乙丙丁戊" in w and "row order" in w for w in report["warnings"])


def test_markdown_cells_with_line_breaks_and_bold():
    text = "\n".join([
        "三、收到和处理政府信息公开申请情况",
        "| **（本列数据的勾稽关系）** | 自然人 | 商业<br>企业 | 科研<br>机构 | 社会公益<br>组织 | 法律服务<br>机构 | 其他 | 总计 |",
        "|---|---|---|---|---|---|---|---|",
        "| 一、本年新收政府信息<br>公开申请数量 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |",
        "| 二、上年结转政府信息<br/>公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| 三、本年<br>度办理结<br>果 | （一）予以<br>公开 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |",
        "| （七）总计 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |",
        "| 四、结转下年度<br>继续办理 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
    ])
    apps = _parse(text)["applications"]
    assert apps["new_received"] == _row(2, 0, 0, 0, 0, 0, 2)
    assert apps["granted"] == _row(2, 0, 0, 0, 0, 0, 2)
    assert apps["carried_forward"] == _row(0, 0, 0, 0, 0, 0, 0)
