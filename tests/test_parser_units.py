"""The builder's pieces on the ways real offices print the national tables: cells, labels,
text table shapes, HTML encodings and spans, year and template, region, sections, checks."""
from __future__ import annotations

import pytest

from parsers import parse_bytes
from parsers.labels import match_application_row, match_item_heading, match_measure
from parsers.model import flatten
from parsers.numbers import parse_cell
from parsers.region import find_region


@pytest.mark.parametrize("raw,value,unit", [
    ("552.91 万元", 552.91, "万元"), ("251000元", 251000, "元"), ("１２３", 123, None),
    ("1,234", 1234, None), ("  0\u00a0\u00a0", 0, None), ("-18", -18, None), ("－15", -15, None),
    ("5件", 5, None), ("73802895.90元", 73802895.9, "元"), ("", None, None), ("—", None, None),
    ("/", None, None), ("-", None, None), ("2 0", 20, None),
])
def test_parse_cell(raw, value, unit):
    cell = parse_cell(raw)
    assert cell.value == value and cell.unit == unit
    assert type(cell.value) is type(value)


def test_words_are_null_and_unreadable_not_zero():
    cell = parse_cell("无")
    assert cell.value is None and not cell.readable
    assert parse_cell("1.").value is None  # a list marker is not a number


@pytest.mark.parametrize("label,key", [
    ("（三）不予公开 1.属于国家秘密", "denied_state_secret"),
    ("2. 其他法律法规禁止公开", "denied_prohibited"),
    ("3.危及“三安全一稳定”", "denied_three_safeties"),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "partially_granted"),
    ("3.其他", "other_other"),
    ("（六）其他处理", "other_processing"),
    ("2、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "other_no_fee"),
    ("（七）总计", "results_total"),
    ("四、结转下年度继续办理", "carried_forward"),
    ("三、本年度办理结果", None),
])
def test_application_row_labels(label, key):
    assert match_application_row(label) == key


def test_label_typos():
    assert match_measure("本年度止件数") == "repealed"  # typo for 本年废止件数
    assert match_item_heading("第二十六条第（六）项") == "20.6"  # misprint for 第二十条
    assert match_item_heading("第二十条 第（八）项") == "20.8"


def _tsv(rows: list[list]) -> str:
    return "\n".join("\t".join(str(c) for c in row) for row in rows)


APP_HEADER = [["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "", "申请人情况"],
              ["", "", "自然人", "法人或其他组织", "", "", "", "", "总计"],
              ["", "", "", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", ""]]


def _report_text(app_rows: list[list], extra: str = "") -> bytes:
    text = ("某县某镇人民政府2022年政府信息公开工作年度报告\n"
            "本报告所列数据统计期限自2022年1月1日起至2022年12月31日止。\n"
            "一、总体情况\n本镇认真落实条例。\n三、收到和处理政府信息公开申请情况\n"
            + _tsv(APP_HEADER + app_rows) + "\n" + extra)
    return text.encode("utf-8")


def test_only_total_column_filled_keeps_blanks_null():
    rows = [["一、本年新收政府信息公开申请数量", "", "", "", "", "", "", "", "5"],
            ["二、上年结转政府信息公开申请数量", "", "", "", "", "", "", "", "0"],
            ["三、本年度办理结果", "（一）予以公开", "", "", "", "", "", "", "5"],
            ["", "（七）总计", "", "", "", "", "", "", "5"],
            ["四、结转下年度继续办理", "", "", "", "", "", "", "", "0"]]
    report = parse_bytes(_report_text(rows), filename="r.txt")
    flat = flatten(report)
    assert flat["applications.new_received.total"] == 5
    assert flat["applications.new_received.natural_person"] is None
    assert flat["applications.granted.commercial"] is None
    assert flat["applications.results_total.total"] == 5
    assert {c["rule"]: c["ok"] for c in report["checks"]}["applications.balance.total"] is True
    # Columns with nothing filled cannot be checked, and are left out.
    assert "applications.balance.natural_person" not in {c["rule"] for c in report["checks"]}


def test_label_broken_over_two_lines_and_unreadable_label_by_row_order():
    rows = [["一、本年新收政府信息公开申请数量", "", 3, 0, 0, 0, 0, 0, 3],
            ["二、上年结转政府信息公开申请数量", "", 0, 0, 0, 0, 0, 0, 0],
            ["三、本年度办理结果", "（一）予以公开", 1, 0, 0, 0, 0, 0, 1],
            ["", "（二）部分公开（区分处理的，只计这一情"],
            ["", "形，不计其他情形）", 1, 0, 0, 0, 0, 0, 1],
            ["", "（三）不予公开", "1.属于国家秘密", 0, 0, 0, 0, 0, 0, 0],
            ["", "", "2.###", 1, 0, 0, 0, 0, 0, 1],
            ["", "", "3.危及“三安全一稳定”", 0, 0, 0, 0, 0, 0, 0],
            ["", "（七）总计", 3, 0, 0, 0, 0, 0, 3],
            ["四、结转下年度继续办理", "", 0, 0, 0, 0, 0, 0, 0]]
    report = parse_bytes(_report_text(rows), filename="r.txt")
    apps = report["applications"]
    assert apps["partially_granted"]["total"] == 1
    assert apps["denied_prohibited"]["natural_person"] == 1  # by the fixed row order
    assert any("row order" in w for w in report["warnings"])


def test_one_cell_per_line_table():
    lines = ["一、本年新收政府信息公开申请数量"] + ["2", "0", "0", "0", "0", "1", "3"]
    lines += ["二、上年结转政府信息公开申请数量"] + ["0"] * 7
    lines += ["（七）总计"] + ["2", "0", "0", "0", "0", "1", "3"]
    lines += ["四、结转下年度继续办理"] + ["0"] * 7
    text = ("某乡人民政府2021年政府信息公开工作年度报告\n三、收到和处理政府信息公开申请情况\n"
            + "\n".join(lines) + "\n四、政府信息公开行政复议、行政诉讼情况\n")
    report = parse_bytes(text.encode(), filename="r.txt")
    assert report["applications"]["new_received"] == {
        "natural_person": 2, "commercial": 0, "research": 0, "social_welfare": 0,
        "legal_services": 0, "other_org": 1, "total": 3}
    assert report["applications"]["results_total"]["total"] == 3


def _html_report(body_rows: str, charset: str | None = "utf-8", title="某县人民政府2021年政府信息公开工作年度报告") -> str:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if charset else ""
    return f"""<html><head>{meta}<title>{title}_年报</title></head><body>
<div class="nav">首页 &gt; 政务公开</div>
<div class="article"><p>{title}</p><p>一、总体情况</p><p>本县依法公开。镕</p>
<p>三、收到和处理政府信息公开申请情况</p>
<table border="1">
<tr><td rowspan="3" colspan="3">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td><td colspan="7">申请人情况</td></tr>
<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>
<tr><td>商业企业</td><td>科研机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>
{body_rows}
</table></div><div class="footer">版权所有</div></body></html>"""


def _html_row(label_cells: str, values: list[str]) -> str:
    return "<tr>" + label_cells + "".join(f"<td>{v}</td>" for v in values) + "</tr>"


def test_html_gbk_declared_gb2312_spans_and_split_numbers():
    rows = (_html_row('<td colspan="3">一、本年新收政府信息公开申请数量</td>',
                      ["<span>2</span><span>0</span>", "0", "0", "0", "0", "1&nbsp;", "<p>2</p><p>1</p>"])
            + _html_row('<td colspan="3">二、上年结转政府信息公开申请数量</td>', ["0"] * 7)
            + _html_row('<td rowspan="20">三、本年度办理结果</td><td colspan="2">（一）予以公开</td>',
                        ["20", "0", "0", "0", "0", "1", "21"])
            + _html_row('<td colspan="2">（七）总计</td>', ["20", "0", "0", "0", "0", "1", "21"])
            + _html_row('<td colspan="3">四、结转下年度继续办理</td>', ["0"] * 7))
    page = _html_report(rows, charset="gb2312").encode("gbk")  # 镕 is GBK, not GB2312
    report = parse_bytes(page, filename="t.shtml")
    assert report["source"]["format"] == "html"
    assert report["applications"]["new_received"]["natural_person"] == 20
    assert report["applications"]["new_received"]["total"] == 21
    assert report["applications"]["granted"]["other_org"] == 1
    assert "镕" in report["sections"]["overview"]
    assert report["year"] == 2021 and report["agency"] == "某县人民政府"
    undeclared = _html_report(rows, charset=None).encode("gb18030")
    assert parse_bytes(undeclared)["applications"]["results_total"]["total"] == 21


def test_template_from_the_tables_not_the_title():
    text = ("某局2021年政府信息公开工作年度报告\n二、主动公开政府信息情况\n"
            "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量\n规章\t0\t0\t0\n"
            "规范性文件\t2\t2\t9\n")
    report = parse_bytes(text.encode(), filename="r.txt")
    assert report["template"] == "2019" and report["year"] == 2021
    assert flatten(report)["active_disclosure.20.1.normative_documents.total_public"] == 9


def test_failing_totals_are_kept_and_flagged():
    text = ("某镇人民政府2022年政府信息公开工作年度报告\n四、政府信息公开行政复议、行政诉讼情况\n"
            + "行政复议\t\t\t\t\t行政诉讼\n结果维持\t结果纠正\t其他结果\t尚未审结\t总计\n"
            + "\t".join(["1", "1", "0", "0", "3"] + ["0"] * 10) + "\n")
    report = parse_bytes(text.encode(), filename="r.txt")
    assert report["review_litigation"]["review"]["total"] == 3  # as printed, not corrected
    failed = [c for c in report["checks"] if not c["ok"]]
    assert [c["rule"] for c in failed] == ["review_litigation.total.review"]
    assert "3 vs 2" in failed[0]["detail"]


def test_region_of_same_named_county_needs_a_parent():
    assert find_region("铁东区人民政府", None, "")["county"] is None
    region = find_region("铁东区人民政府", None, "鞍山市铁东区人民政府办公室")
    assert region["city"] == "鞍山市" and region["adcode"] == "210302"


@pytest.mark.parametrize("data,fmt,words", [
    (b"", "unknown", "empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image", "OCR"),
    (b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF", "pdf", "pdf"),
])
def test_unparseable_inputs_say_why(data, fmt, words):
    report = parse_bytes(data, filename="x.bin")
    assert report["source"]["format"] == fmt
    assert report["applications"] == {} and report["warnings"]
    assert any(words.lower() in w.lower() for w in report["warnings"]), report["warnings"]


def test_page_that_only_links_its_pdf():
    page = """<html><head><meta charset="utf-8"><title>政府信息公开年报_某市人民政府</title></head><body>
<div class="nav">首页 &gt; 政府信息公开年报</div>
<div class="info">发布时间：2025-01-20 来源：某市人民政府</div>
<div class="content"><p>某市人民政府2024年政府信息公开工作年度报告</p>
<p>现将某市人民政府2024年政府信息公开工作年度报告予以公布，全文详见附件。</p>
<p><a href="P020250120.pdf">附件：某市人民政府2024年政府信息公开工作年度报告.pdf</a></p></div>
</body></html>""".encode()
    report = parse_bytes(page, filename="t20250120.html")
    assert report["title"] == "某市人民政府2024年政府信息公开工作年度报告"
    assert report["agency"] == "某市人民政府" and report["year"] == 2024
    assert report["published_at"] == "2025-01-20"
    assert any("attachment" in w for w in report["warnings"])


def test_word_single_file_web_page_served_as_doc():
    """MHT: Word's "save as single file web page", which portals publish as .doc."""
    import quopri

    page = _html_report(
        _html_row('<td colspan="3">一、本年新收政府信息公开申请数量</td>', ["1", "0", "0", "0", "0", "0", "1"])
        + _html_row('<td colspan="3">二、上年结转政府信息公开申请数量</td>', ["0"] * 7)
        + _html_row('<td colspan="3">（七）总计</td>', ["1", "0", "0", "0", "0", "0", "1"]), charset=None)
    body = quopri.encodestring(page.encode("gb18030")).decode("ascii")
    mht = ("MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"----=_NextPart_01\"\r\n\r\n"
           "------=_NextPart_01\r\nContent-Location: file:///C:/report.htm\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=\"gb2312\"\r\n\r\n"
           + body + "\r\n------=_NextPart_01--\r\n").encode("ascii")
    report = parse_bytes(mht, filename="report.doc")
    assert report["source"]["format"] == "html"
    assert report["applications"]["new_received"]["total"] == 1
    assert report["agency"] == "某县人民政府"


@pytest.mark.parametrize("signature,date", [("2022年1月20日", "2022-01-20"),
                                            ("二〇二二年一月二十日", "2022-01-20"),
                                            ("2022-01-20", "2022-01-20")])
def test_published_date_from_the_signature(signature, date):
    text = f"某镇人民政府2021年政府信息公开工作年度报告\n一、总体情况\n正文。\n某镇人民政府\n{signature}\n"
    assert parse_bytes(text.encode(), filename="r.txt")["published_at"] == date


def test_subtotal_rows_are_not_read_as_reasons():
    """Some offices print （三）不予公开 and （六）其他处理 with their own sums above the
    sub-rows: those sums are not rows of the model, and (七)总计 still adds up."""
    rows = [["一、本年新收政府信息公开申请数量", "", 3, 0, 0, 0, 0, 0, 3],
            ["二、上年结转政府信息公开申请数量", "", 0, 0, 0, 0, 0, 0, 0],
            ["三、本年度办理结果", "（一）予以公开", 1, 0, 0, 0, 0, 0, 1],
            ["", "（三）不予公开", 1, 0, 0, 0, 0, 0, 1],
            ["", "", "1.属于国家秘密", 1, 0, 0, 0, 0, 0, 1],
            ["", "（六）其他处理", 1, 0, 0, 0, 0, 0, 1],
            ["", "", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", 1, 0, 0, 0, 0, 0, 1],
            ["", "", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", 0, 0, 0, 0, 0, 0, 0],
            ["", "", "3.其他", 0, 0, 0, 0, 0, 0, 0],
            ["", "（七）总计", 3, 0, 0, 0, 0, 0, 3],
            ["四、结转下年度继续办理", "", 0, 0, 0, 0, 0, 0, 0]]
    report = parse_bytes(_report_text(rows), filename="r.txt")
    apps = report["applications"]
    assert "other_processing" not in apps and apps["other_no_correction"]["total"] == 1
    assert apps["denied_state_secret"]["total"] == 1
    assert not [c for c in report["checks"] if not c["ok"]]
    assert not [w for w in report["warnings"] if "not recognised" in w]


def test_title_naming_only_the_place():
    text = "友谊县2022年政府信息公开工作年度报告\n一、总体情况\n正文。\n"
    report = parse_bytes(text.encode(), filename="r.txt")
    assert report["agency"] == "友谊县" and report["region"]["county"] == "友谊县"


def test_region_hint_never_overrides_the_report():
    hint = {"province": "黑龙江省", "city": "双鸭山市", "county": "友谊县"}
    assert find_region("金凤区良田镇人民政府", None, "", hint)["county"] == "金凤区"
    assert find_region("淮安市人民政府", None, "", hint)["county"] is None
    narrowed = find_region("某镇人民政府", None, "双鸭山市", hint)  # names only the city
    assert narrowed["county"] == "友谊县" and narrowed["adcode"] == "230522"
    settled = find_region("铁东区人民政府", None, "", {"city": "鞍山市", "county": "铁东区"})
    assert settled["adcode"] == "210302"


def test_html_body_found_without_the_usual_first_heading():
    """The report block is found from its tables even when part one is not called 总体情况;
    the portal's menus around it stay out."""
    rows = (_html_row('<td colspan="3">一、本年新收政府信息公开申请数量</td>', ["2", "0", "0", "0", "0", "0", "2"])
            + _html_row('<td colspan="3">二、上年结转政府信息公开申请数量</td>', ["0"] * 7)
            + _html_row('<td colspan="3">（七）总计</td>', ["2", "0", "0", "0", "0", "0", "2"]))
    page = _html_report(rows).replace("一、总体情况", "一、概述").replace(
        "<p>本县依法公开。镕</p>", "<p>" + "本县依法公开政府信息，回应社会关切。" * 20 + "</p>")
    page = page.replace('<div class="nav">首页 &gt; 政务公开</div>',
                        '<div class="nav">首页 &gt; 政务公开 &gt; 政府信息公开年度报告栏目</div>')
    report = parse_bytes(page.encode("utf-8"), filename="t.html")
    assert report["applications"]["new_received"]["total"] == 2
    assert report["title"] == "某县人民政府2021年政府信息公开工作年度报告"
    assert report["sections"]["overview"].startswith("本县依法公开")
    assert "首页" not in (report["sections"]["overview"] or "")


OPENING = "根据《中华人民共和国政府信息公开条例》（以下简称《条例》）规定，现公布本年度报告。\n"


def test_title_wrapped_over_two_lines_and_the_book_title_in_the_opening():
    text = ("2025 年上海市人民政府办公厅政府信息公开\n工作年度报告\n" + OPENING
            + "一、总体情况\n2025年，本机关认真贯彻落实《条例》。\n")
    report = parse_bytes(text.encode(), filename="r.txt")
    assert report["title"] == "2025 年上海市人民政府办公厅政府信息公开工作年度报告"
    assert report["agency"] == "上海市人民政府办公厅" and report["year"] == 2025
    assert report["region"]["province"] == "上海市" and report["region"]["county"] is None


def test_a_sentence_citing_the_regulation_is_no_title_and_no_place():
    text = OPENING + "一、总体情况\n本机关认真贯彻落实《条例》。\n"
    report = parse_bytes(text.encode(), filename="r.txt")
    assert report["title"] is None and report["agency"] != "中华人民共和国"
    assert report["region"]["adcode"] is None  # not 共和县 from 人民共和国


@pytest.mark.parametrize("title, agency", [
    ("关于印发《民权县2023年政府信息公开工作年度报告》的通知", "民权县"),
    ("2023年度淮安市生态环境局政府信息公开工作年度报告", "淮安市生态环境局"),
])
def test_agency_from_titles_with_and_without_book_titles(title, agency):
    from parsers.metadata import agency_from_title

    assert agency_from_title(title) == agency


def test_a_place_name_inside_another_word_is_no_place():
    assert find_region(None, "中华人民共和国", "")["adcode"] is None
    assert find_region(None, "共和县2023年政府信息公开工作年度报告", "")["county"] == "共和县"
    assert find_region(None, "平潭2020年度政府信息公开工作年度报告", "")["county"] == "平潭县"


@pytest.mark.parametrize("label, key", [
    ("截至本年度止现行有效件数", "in_force"),   # holds 度止, the typo rule's key, too
    ("现行有效件数", "in_force"),
    ("本年废止件数", "repealed"),
    ("本年度止件数", "repealed"),              # the typo itself
    ("本年制发件数", "issued"),
])
def test_table_two_measures_do_not_shadow_each_other(label, key):
    assert match_measure(label) == key
