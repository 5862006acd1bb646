"""read_pdf on the real 淮安 2024 report (WPS export: page-border boxes, table 三 split over a
page break mid-label), on LibreOffice-made PDFs, and on broken input; the pages read with
pypdfium2 match pdfplumber's own reading, and the caps that replace a time budget."""
from __future__ import annotations

import io
import random
import re
import time
from pathlib import Path

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Cm
import pdfplumber
import pypdfium2 as pdfium
import pytest
from PIL import Image

from parsers import pdf_pages, pdf_reader
from parsers.document import Paragraph, Table
from parsers.office_convert import convert
from parsers.pdf_reader import read_pdf


HUAIAN = Path(__file__).resolve().parent / "examples" / "real_huaian_2024.pdf"


@pytest.fixture(scope="module")
def huaian_bytes() -> bytes:
    return HUAIAN.read_bytes()


@pytest.fixture(scope="module")
def huaian(huaian_bytes):
    return read_pdf(huaian_bytes)


def find_row(doc, *words):
    for table in doc.tables:
        for row in table.rows:
            joined = "".join(row)
            if all(w in joined for w in words):
                return table, row
    return None, None


def test_table_three_joined_across_the_page_break(huaian):
    table, row = find_row(huaian, "无法提供", "本机关不掌握")
    assert row is not None
    assert row[-7:] == ["746", "12", "0", "0", "10", "1", "769"]
    # the rows after the break are in the same grid and carry the re-glued label
    _, row2 = find_row(huaian, "没有现成信息需要另行制作")
    assert row2[1] == "（四）无法提供" and row2[-7:] == ["11", "0", "0", "0", "0", "0", "11"]
    assert table.page == 4
    labels = [r[0] for r in table.rows]
    assert labels[3].startswith("一、本年新收") and labels[-1] == "四、结转下年度继续办理"
    assert len(table.rows) == 28 and table.width == 10
    # the label column spans every result row, across the page break, as one cell
    results = [r for r in range(len(table.rows)) if table.rows[r][0] == "三、本年度办理结果"]
    assert len(results) == 22
    assert {table.origin[r][0] for r in results} == {(results[0], 0)}
    unable = [r for r in range(len(table.rows)) if table.rows[r][1] == "（四）无法提供"]
    assert len(unable) == 3 and {table.origin[r][1] for r in unable} == {(unable[0], 1)}


def test_table_two_joined_onto_the_finer_columns(huaian):
    table, row = find_row(huaian, "行政处罚")
    assert row == ["行政处罚", "3985758", "3985758", "3985758"]
    assert table is find_row(huaian, "规章")[0]
    assert table.origin[[r[0] for r in table.rows].index("行政处罚")][1:] == [
        (table.rows.index(row), 1)] * 3
    assert find_row(huaian, "行政事业性收费")[1][1] == "96171.6"


def test_three_tables_in_reading_order(huaian):
    kinds = []
    for block in huaian.blocks:
        if isinstance(block, Table):
            kinds.append("T")
        elif block.text.startswith(("二、", "三、", "四、", "五、")):
            kinds.append(block.text[:2])
    assert kinds == ["二、", "T", "三、", "T", "四、", "T", "五、"]
    review = huaian.tables[2]
    assert review.rows[-1] == ["72", "64", "178", "37", "351", "13", "4", "8", "1", "26",
                               "12", "1", "1", "6", "20"]
    assert review.rows[0][4:6] == ["行政复议", "行政诉讼"]


def test_page_border_box_is_text_not_a_table(huaian):
    assert all(t.width > 1 for t in huaian.tables)
    intro = [p for p in huaian.paragraphs if p.text.startswith("本报告由淮安市人民政府办公室")]
    assert len(intro) == 1
    # lines wrapped inside the box are one paragraph, with the 。 that stuck out of the box
    assert "规定编制。报告所列统计期限自 2024 年 1 月 1 日至 2024 年 12 月 31 日。如对本报告" in intro[0].text
    assert intro[0].text.endswith("hazwgkc@163.com）。")
    assert intro[0].page == 1
    boxed = [p for p in huaian.paragraphs if p.text.startswith("（五）政府信息公开监督保障情况")]
    assert len(boxed) == 1 and boxed[0].text.endswith("工作能力和水平。")


def test_no_page_numbers_and_paragraphs_span_pages(huaian):
    texts = [p.text for p in huaian.paragraphs]
    assert not any(re.fullmatch(r"-?\s*\d+\s*-?", t) for t in texts)
    assert not any(re.search(r"- \d -", t) for t in texts)
    first = next(p for p in huaian.paragraphs if p.text.startswith("（一）主动公开情况"))
    assert first.page == 1 and first.text.endswith("回应舆论关切。")
    assert next(p for p in huaian.paragraphs if p.text.startswith("（二）依申请公开")).page == 2


def test_title_lines_and_headings(huaian):
    paras = huaian.paragraphs
    assert [p.text for p in paras[:2]] == ["淮安市人民政府", "2024 年政府信息公开工作年度报告"]
    assert paras[0].heading and paras[1].heading
    headings = [p.text for p in paras if p.heading]
    assert "一、总体情况" in headings and "六、其他需要报告的事项" in headings
    assert not any(len(h) > 40 for h in headings)
    assert huaian.paragraphs[-1].text.endswith("3940 元。")


def test_metadata_title_decoded_from_utf16le(huaian):
    assert huaian.title == "政府信息公开工作年度报告"
    assert huaian.published_at is None
    assert huaian.format == "pdf" and huaian.warnings == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_copy_gives_warnings(huaian_bytes, cut):
    doc = read_pdf(huaian_bytes[: int(len(huaian_bytes) * cut)])
    assert doc.format == "pdf" and doc.warnings
    assert "truncated" in doc.warnings[0] or "cannot open" in doc.warnings[0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n", random.Random(3).randbytes(100_000),
                                  b"%PDF-1.4\n" + random.Random(4).randbytes(50_000)])
def test_garbage_gives_warnings(data):
    doc = read_pdf(data)
    assert doc.blocks == [] and doc.warnings


@pytest.mark.timeout(60)
def test_damaged_streams_do_not_raise(huaian_bytes):
    rnd = random.Random(11)
    data = bytearray(huaian_bytes)
    for _ in range(300):
        data[rnd.randrange(2000, len(data))] = rnd.randrange(256)
    doc = read_pdf(bytes(data))
    assert doc.format == "pdf"


def test_page_cap(huaian_bytes, monkeypatch):
    monkeypatch.setattr(pdf_reader, "MAX_PAGES", 2)
    doc = read_pdf(huaian_bytes)
    assert any("only the first 2" in w for w in doc.warnings)
    assert {b.page for b in doc.blocks} == {1, 2}


def test_image_only_pdf_is_reported_as_scanned():
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), (255, 255, 255)).save(buf, "PDF")
    doc = read_pdf(buf.getvalue())
    assert doc.format == "pdf" and doc.blocks == []
    assert any("scanned" in w for w in doc.warnings)


def test_glyphs_without_a_unicode_map_are_read_as_pdfium_decodes_them(huaian_bytes, huaian,
                                                                       monkeypatch):
    # every glyph unmapped, as in fonts without a ToUnicode map (pdfplumber shows (cid:N)):
    # pdfium's own decoding of the glyphs, here the real text, is read, with a warning
    monkeypatch.setattr(pdf_pages, "_map_error", lambda textpage, index: 1)
    doc = read_pdf(huaian_bytes)
    assert doc.warnings and all("pypdfium2" in w for w in doc.warnings)
    assert [b.text for b in doc.paragraphs] == [b.text for b in huaian.paragraphs]
    assert find_row(doc, "无法提供", "本机关不掌握")[1][-7:] == ["746", "12", "0", "0", "10", "1", "769"]
    assert doc.tables[2].rows[-1] == huaian.tables[2].rows[-1]


def test_a_few_unmapped_glyphs_are_left_out(huaian_bytes, monkeypatch):
    # under 2% of a page: those glyphs are dropped from the text, never guessed
    at = ord("@")
    monkeypatch.setattr(pdf_pages, "_map_error",
                        lambda textpage, index: pdf_pages._get_unicode(textpage, index) == at)
    doc = read_pdf(huaian_bytes)
    intro = next(p for p in doc.paragraphs if p.text.startswith("本报告由淮安市人民政府办公室"))
    assert intro.text.endswith("hazwgkc163.com）。") and "cid" not in doc.text()
    assert doc.warnings == []


def test_chars_and_rules_are_pdfplumbers(huaian_bytes):
    """pdf_pages gives pdfplumber's characters (same text and x positions) and edges that
    make pdfplumber's table finder find the same cells."""
    from pdfplumber.table import TableFinder

    class Edges:
        def __init__(self, edges):
            self.edges = edges

    content = pdfium.PdfDocument(huaian_bytes)
    with pdfplumber.open(io.BytesIO(huaian_bytes)) as pdf:
        for index, page in enumerate(pdf.pages):
            ours = pdf_pages.read_page(content, index, page, max_chars=10_000)
            theirs = {}
            for c in page.chars:
                theirs.setdefault(c["text"], []).append(c)
            assert len(ours.chars) == len(page.chars)
            for a in ours.chars:
                # pdfminer puts the bottom at the font's descent, pdf_pages at the baseline
                b = next(b for b in theirs[a["text"]] if abs(a["x0"] - b["x0"]) < 0.1
                         and 0 <= b["bottom"] - a["bottom"] < 0.35 * a["size"])
                theirs[a["text"]].remove(b)
                # x1 is pdfium's loose box, which also covers ink past the glyph's advance
                assert -0.1 < a["x1"] - b["x1"] < 0.5 and abs(a["size"] - b["size"]) < 0.01
                assert a["upright"] == b["upright"] and a["fontname"] in b["fontname"]
            assert ours.rules == len(page.rects) + len(page.lines) + len(page.curves)
            assert ours.images == len(page.images) == 0
            found = [sorted(t.cells) for t in TableFinder(Edges(ours.edges)).tables]
            expected = [sorted(t.cells) for t in page.find_tables()]
            assert len(found) == len(expected)
            for cells, want in zip(found, expected):
                assert len(cells) == len(want)
                assert all(abs(p - q) < 0.1 for a, b in zip(cells, want) for p, q in zip(a, b))
    content.close()


def test_cell_text_shortcut_is_pdfplumbers(huaian_bytes, libreoffice_pdf, monkeypatch):
    from pdfplumber.utils import extract_text

    from parsers import pdf_tables

    shortcut, seen = pdf_tables._text, []

    def both(chars):
        seen.append((shortcut(chars), extract_text(chars)))
        return seen[-1][0]

    monkeypatch.setattr(pdf_tables, "_text", both)
    read_pdf(huaian_bytes)
    read_pdf(libreoffice_pdf)
    assert len(seen) > 250 and all(ours == theirs for ours, theirs in seen)


def test_character_cap(huaian_bytes, monkeypatch):
    content = pdfium.PdfDocument(huaian_bytes)
    counts = [page.get_textpage().count_chars() for page in content]
    content.close()
    cap = counts[0] + counts[1] + counts[2] // 2
    monkeypatch.setattr(pdf_reader, "MAX_CHARS", cap)
    doc = read_pdf(huaian_bytes)
    assert f"pdf: stopped after 2 pages (more than {cap} characters)" in doc.warnings
    assert {b.page for b in doc.blocks} == {1, 2}
    monkeypatch.setattr(pdf_reader, "MAX_CHARS", 10**6)
    monkeypatch.setattr(pdf_reader, "MAX_PAGE_CHARS", counts[1] - 1)
    doc = read_pdf(huaian_bytes)
    assert (f"pdf: page 2 has {counts[1]} characters, more than {counts[1] - 1}; page skipped"
            in doc.warnings)
    assert 2 not in {b.page for b in doc.blocks}


def test_table_search_is_capped(huaian_bytes, monkeypatch):
    monkeypatch.setattr(pdf_reader, "MAX_CROSSINGS", 100)
    doc = read_pdf(huaian_bytes)
    assert any("crossing in more than 100 places" in w for w in doc.warnings)
    assert len(doc.tables) < 3


def test_the_result_depends_on_the_bytes_alone(huaian_bytes, huaian, monkeypatch):
    # no clock inside the reader: a slow machine reads the same document as a fast one
    clock = iter(range(0, 10**9, 1000))
    for name in ("monotonic", "perf_counter", "time"):
        monkeypatch.setattr(time, name, lambda: float(next(clock)))
    assert read_pdf(huaian_bytes) == huaian


@pytest.fixture(scope="module")
def libreoffice_pdf() -> bytes:
    d = docx.Document()
    d.add_paragraph("某某乡人民政府2023年政府信息公开工作年度报告")
    d.add_paragraph("一、总体情况")
    d.add_paragraph("本年度我乡认真贯彻落实条例要求。" * 12)
    t = d.add_table(rows=3, cols=3)
    t.style = "Table Grid"
    t.cell(0, 0).merge(t.cell(0, 2)).text = "第二十条第（一）项"
    for j, text in enumerate(["规章", "12", "7"]):
        t.cell(1, j).text = text
    t.cell(1, 0).merge(t.cell(2, 0))
    t.cell(2, 1).text, t.cell(2, 2).text = "3", "4"
    buf = io.BytesIO()
    d.save(buf)
    return convert(buf.getvalue(), "docx", to="pdf")


@pytest.mark.libreoffice
def test_libreoffice_pdf_merged_cells(libreoffice_pdf):
    doc = read_pdf(libreoffice_pdf)
    assert doc.warnings == []
    [table] = doc.tables
    assert table.rows == [["第二十条第（一）项"] * 3, ["规章", "12", "7"], ["规章", "3", "4"]]
    assert table.origin == [[(0, 0)] * 3, [(1, 0), (1, 1), (1, 2)], [(1, 0), (2, 1), (2, 2)]]
    assert isinstance(doc.blocks[-1], Table)
    assert doc.paragraphs[2].text == "本年度我乡认真贯彻落实条例要求。" * 12


@pytest.mark.libreoffice
def test_unmapped_glyphs_are_a_warning_not_data(libreoffice_pdf):
    # same-length rename keeps the xref offsets valid: the fonts lose their Unicode maps
    broken = libreoffice_pdf.replace(b"/ToUnicode", b"/ToUnicodX")
    assert broken != libreoffice_pdf
    doc = read_pdf(broken)
    assert any("cid" in w for w in doc.warnings)
    assert "cid" not in doc.text()
    assert not any(re.search(r"\d", cell) for t in doc.tables for row in t.rows for cell in row)


@pytest.mark.libreoffice
def test_encrypted_pdf_is_a_warning(libreoffice_pdf):
    src = docx.Document()
    src.add_paragraph("保密")
    buf = io.BytesIO()
    src.save(buf)
    options = ('pdf:writer_pdf_Export:{"EncryptFile":{"type":"boolean","value":"true"},'
               '"DocumentOpenPassword":{"type":"string","value":"secret"}}')
    data = convert(buf.getvalue(), "docx", to="pdf", filter=options)
    doc = read_pdf(data)
    assert doc.blocks == [] and "encrypted" in doc.warnings[0]


def test_junk_before_the_header(huaian_bytes, huaian):
    doc = read_pdf(b"\r\n\xef\xbb\xbf" + huaian_bytes)
    assert [t.rows for t in doc.tables] == [t.rows for t in huaian.tables]


def test_paragraph_type_and_pages(huaian):
    assert all(isinstance(p, Paragraph) and p.page for p in huaian.paragraphs)
    assert [t.page for t in huaian.tables] == [3, 4, 5]


def long_table_pdf(*, repeat_header: bool = False, long_row: int | None = None) -> bytes:
    """Three pages of filler text, then a 41-row table that LibreOffice breaks over a page."""
    d = docx.Document()
    for i in range(3):
        d.add_paragraph(f"第{i}段。" + "填充文字。" * 30)
    t = d.add_table(rows=1, cols=3)
    t.style = "Table Grid"
    for j, text in enumerate(["项目", "数量", "备注"]):
        t.cell(0, j).text = text
    if repeat_header:
        t.rows[0]._tr.get_or_add_trPr().append(parse_xml(f'<w:tblHeader {nsdecls("w")}/>'))
    for i in range(40):
        cells = t.add_row().cells
        cells[0].text = f"{i + 1}.项目{i}" + ("很长的标签" + "续写文字" * 40 if i == long_row else "")
        cells[1].text, cells[2].text = str(i * 3), "无"
    d.add_paragraph("结尾。")
    buf = io.BytesIO()
    d.save(buf)
    return convert(buf.getvalue(), "docx", to="pdf")


def pieces(data: bytes) -> list[int]:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [len(t.rows) for page in pdf.pages for t in page.find_tables()]


@pytest.mark.libreoffice
def test_repeated_header_rows_are_dropped_when_joining():
    data = long_table_pdf(repeat_header=True)
    assert len(pieces(data)) == 2 and sum(pieces(data)) == 42  # the header printed twice
    [table] = read_pdf(data).tables
    assert len(table.rows) == 41 and [r[0] for r in table.rows].count("项目") == 1
    assert table.rows[-1] == ["40.项目39", "117", "无"]


@pytest.mark.libreoffice
def test_row_split_by_the_page_break_is_glued_back():
    data = long_table_pdf(long_row=25)
    assert sum(pieces(data)) == 42  # one row drawn in two parts
    [table] = read_pdf(data).tables
    assert len(table.rows) == 41
    assert table.rows[26] == ["26.项目25很长的标签" + "续写文字" * 40, "75", "无"]
    assert table.rows[27] == ["27.项目26", "78", "无"]


def _docx_pdf(build) -> bytes:
    d = docx.Document()
    build(d)
    buf = io.BytesIO()
    d.save(buf)
    return convert(buf.getvalue(), "docx", to="pdf")


@pytest.mark.libreoffice
def test_scan_with_a_stamped_page_number_is_still_a_scan(tmp_path):
    png = tmp_path / "scan.png"
    Image.new("RGB", (800, 1000), (250, 250, 245)).save(png)
    data = _docx_pdf(lambda d: (d.add_picture(str(png), width=Cm(12)), d.add_paragraph("- 1 -")))
    doc = read_pdf(data)
    assert any("scanned" in w for w in doc.warnings) and doc.paragraphs == []


@pytest.mark.libreoffice
def test_a_short_last_page_is_kept():
    from docx.enum.text import WD_BREAK

    def build(d):
        d.add_paragraph("一、总体情况")
        d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        d.add_paragraph("2025年1月20日")

    doc = read_pdf(_docx_pdf(build))
    assert [(p.text, p.page) for p in doc.paragraphs] == [("一、总体情况", 1), ("2025年1月20日", 2)]
    assert doc.warnings == []
