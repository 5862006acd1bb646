"""read_docx on DOCX files built with python-docx (merged cells, nested and layout tables,
content controls, text boxes, headings) and on the official blank 2021 template."""
from __future__ import annotations

import copy
import io
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from parsers.document import Table
from parsers.docx_reader import read_docx
from parsers.reader_text import squeeze_grid

TEMPLATE = Path(__file__).resolve().parent / "reference" / "template-2021-blank.docx"


def save(d) -> bytes:
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def built():
    d = docx.Document()
    d.core_properties.title = "Microsoft Word - 某某镇2022年政府信息公开工作年度报告.doc"
    d.add_heading("某某镇人民政府", level=1)
    bold = d.add_paragraph()
    bold.add_run("一、总体情况").bold = True
    d.add_paragraph().add_run("这是一个很长的加粗段落，" * 6 + "不是标题。").bold = True
    d.add_paragraph("第一行\n第二行")
    t = d.add_table(rows=5, cols=4)
    t.cell(0, 0).merge(t.cell(0, 3)).text = "第二十条第（一）项"
    for j, text in enumerate(["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]):
        t.cell(1, j).text = text
    t.cell(2, 0).merge(t.cell(4, 0)).text = "规章"
    for r in (2, 3, 4):
        for j in (1, 2, 3):
            t.cell(r, j).text = str(r * 10 + j)
    t.cell(3, 2).merge(t.cell(3, 3)).text = "合并"
    cell = t.cell(1, 0)
    cell.add_paragraph("第二段")  # a second paragraph inside a cell joins without a space
    # a table nested in a cell is flattened into a block after its table
    inner = t.cell(4, 3).add_table(rows=2, cols=2)
    for r in range(2):
        for j in range(2):
            inner.cell(r, j).text = f"内{r}{j}"
    # a one-column layout table (a frame around text) is unwrapped
    frame = d.add_table(rows=1, cols=1)
    frame.cell(0, 0).text = "框内文字"
    frame.cell(0, 0).add_paragraph("二、主动公开政府信息情况")
    # a paragraph inside a content control
    sdt = parse_xml(f'<w:sdt {nsdecls("w")}><w:sdtContent><w:p><w:r><w:t>控件里的段落</w:t></w:r>'
                    "</w:p></w:sdtContent></w:sdt>")
    d.element.body.insert(len(d.element.body) - 1, sdt)
    # a deleted run (tracked change) is not text
    p = d.add_paragraph("保留")
    deleted = parse_xml(f'<w:del {nsdecls("w")} w:id="1" w:author="a"><w:r><w:delText>删掉</w:delText>'
                        "</w:r></w:del>")
    p._p.append(deleted)
    return read_docx(save(d))


def test_body_order_and_headings(built):
    kinds = [("T" if isinstance(b, Table) else b.text) for b in built.blocks]
    assert kinds == ["某某镇人民政府", "一、总体情况", "这是一个很长的加粗段落，" * 6 + "不是标题。",
                     "第一行", "第二行", "T", "T", "框内文字", "二、主动公开政府信息情况",
                     "控件里的段落", "保留"]
    heads = {b.text: b.heading for b in built.paragraphs}
    assert heads["某某镇人民政府"] and heads["一、总体情况"]
    assert not heads["这是一个很长的加粗段落，" * 6 + "不是标题。"] and not heads["保留"]


def test_merged_cells_expand_with_origins(built):
    table = built.tables[0]
    assert table.rows[0] == ["第二十条第（一）项"] * 4
    assert table.origin[0] == [(0, 0)] * 4
    assert table.rows[1] == ["信息内容第二段", "本年制发件数", "本年废止件数", "现行有效件数"]
    assert [r[0] for r in table.rows[2:]] == ["规章"] * 3
    assert [table.origin[r][0] for r in (2, 3, 4)] == [(2, 0)] * 3
    assert table.rows[3] == ["规章", "31", "合并", "合并"]
    assert table.origin[3] == [(2, 0), (3, 1), (3, 2), (3, 2)]
    assert table.is_continuation(3, 3) and not table.is_continuation(3, 2)


def test_nested_table_follows_its_table(built):
    nested = built.tables[1]
    assert nested.rows == [["内00", "内01"], ["内10", "内11"]]
    assert built.tables[0].rows[4][3] == "43"


def test_title_from_core_properties(built):
    assert built.title == "某某镇2022年政府信息公开工作年度报告"
    assert built.format == "docx" and built.warnings == []


@pytest.fixture(scope="module")
def template():
    return read_docx(TEMPLATE.read_bytes())


def test_template_grid_shapes(template):
    assert [(len(t.rows), t.width) for t in template.tables] == [(14, 4), (28, 10), (4, 15)]


def test_template_active_disclosure_labels(template):
    t = template.tables[0]
    assert t.rows[0] == ["第二十条第（一）项"] * 4 and t.origin[0] == [(0, 0)] * 4
    assert t.rows[1] == ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]
    assert [r[0] for r in t.rows] == [
        "第二十条第（一）项", "信息内容", "规章", "行政规范性文件",
        "第二十条第（五）项", "信息内容", "行政许可",
        "第二十条第（六）项", "信息内容", "行政处罚", "行政强制",
        "第二十条第（八）项", "信息内容", "行政事业性收费"]
    assert t.rows[2][1:] == ["", "", ""]  # ideographic-space padding is blank
    assert t.rows[12][1:] == ["本年收费金额（单位：万元）"] * 3


def test_template_applications_labels(template):
    t = template.tables[1]
    assert t.rows[0][:4] == ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"] * 3 + ["申请人情况"]
    assert {t.origin[r][c] for r in range(3) for c in range(3)} == {(0, 0)}
    assert t.rows[2][3:] == ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    assert t.origin[2][3] == (1, 3) and t.origin[2][9] == (1, 9)
    assert t.rows[3][:3] == ["一、本年新收政府信息公开申请数量"] * 3
    assert {t.origin[r][0] for r in range(5, 27)} == {(5, 0)}
    assert t.rows[15][1:3] == ["（四）无法提供", "1.本机关不掌握相关政府信息"]
    assert t.rows[25][2] == "3.其他" and t.rows[26][1] == "（七）总计"
    assert t.rows[27][:3] == ["四、结转下年度继续办理"] * 3
    assert all(cell == "" for row in t.rows[3:] for cell in row[3:])


def test_template_review_labels(template):
    t = template.tables[2]
    assert t.rows[0] == ["行政复议"] * 5 + ["行政诉讼"] * 10
    assert t.rows[1][:6] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉"]
    assert t.rows[2][5:] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2
    assert t.origin[2][0] == (1, 0)


def test_template_headings(template):
    heads = [p.text for p in template.paragraphs if p.heading]
    assert heads[:2] == ["政府信息公开工作年度报告格式模板", "一、总体情况"]
    assert "六、其他需要报告的事项" in heads and "（文字描述）" not in heads


def test_sliver_grid_columns_are_squeezed():
    # LibreOffice writes a 1-twip gridCol that the header spans rightwards, the body leftwards
    doc = docx.Document()
    t = doc.add_table(rows=2, cols=4)
    t.cell(0, 0).merge(t.cell(0, 1)).text = "A"
    t.cell(0, 2).merge(t.cell(0, 3)).text = "B"
    t.cell(1, 0).text = "a"
    t.cell(1, 1).merge(t.cell(1, 2)).text = "b"
    t.cell(1, 3).text = "c"
    widths = ["2000", "2000", "1", "2000"]
    for col, w in zip(t._tbl.tblGrid.findall(qn("w:gridCol")), widths):
        col.set(qn("w:w"), w)
    out = read_docx(save(doc)).tables[0]
    assert out.rows == [["A", "A", "B"], ["a", "b", "c"]]
    assert out.origin == [[(0, 0), (0, 0), (0, 2)], [(1, 0), (1, 1), (1, 2)]]


def test_squeeze_keeps_every_cell():
    rows = [["A", "A", "B"], ["x", "y", "y"]]
    origin = [[(0, 0), (0, 0), (0, 2)], [(1, 0), (1, 1), (1, 1)]]
    assert squeeze_grid(rows, origin) == (rows, origin)  # staggered, no widths: kept
    rows = [["A", "A"], ["b", "b"]]
    origin = [[(0, 0), (0, 0)], [(1, 0), (1, 0)]]
    assert squeeze_grid(rows, origin) == ([["A"], ["b"]], [[(0, 0)], [(1, 0)]])


def test_text_box_content_is_read_once():
    d = docx.Document()
    p = d.add_paragraph("正文")
    box = copy.deepcopy(parse_xml(
        f'<w:r {nsdecls("w")} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        "<mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><w:txbxContent><w:p><w:r>"
        "<w:t>框里</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict>"
        "<w:txbxContent><w:p><w:r><w:t>框里</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r>"))
    p._p.append(box)
    assert [b.text for b in read_docx(save(d)).blocks] == ["正文", "框里"]


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04broken", b"not a docx at all"])
def test_broken_package_is_a_warning(data):
    doc = read_docx(data)
    assert doc.blocks == [] and doc.warnings and doc.format == "docx"


def test_format_label_for_converted_files():
    d = docx.Document()
    d.add_paragraph("x")
    assert read_docx(save(d), fmt="wps").format == "wps"
