"""sniff_format on real bytes of every format, under wrong or missing file names."""
from __future__ import annotations

import io
import random
import zipfile

import docx
import pytest
from PIL import Image

from parsers.office_convert import convert
from parsers.sniff import sniff_format

HTML = """<!DOCTYPE html><html><head><meta charset="{cs}"><title>年度报告</title></head>
<body><div class="TRS_Editor"><p>淮安市人民政府2024年政府信息公开工作年度报告</p>
<table><tr><td>规章</td><td>1</td></tr></table></div></body></html>"""
TEXT = "友谊县新镇乡人民政府2021年政府信息公开工作年度报告\n一、总体情况\n本年新收申请 0 件。\n" * 20


def make_docx() -> bytes:
    d = docx.Document()
    d.add_paragraph("政府信息公开工作年度报告")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).merge(t.cell(0, 1)).text = "第二十条第（一）项"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    return make_docx()


@pytest.fixture(scope="module")
def office_files(docx_bytes) -> dict[str, bytes]:
    return {to: convert(docx_bytes, "docx", to=to) for to in ("pdf", "doc")}


def image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, fmt)
    return buf.getvalue()


def test_docx_under_a_pdf_name(docx_bytes):
    assert sniff_format(docx_bytes, "report.pdf") == "docx"
    assert sniff_format(docx_bytes) == "docx"


@pytest.mark.libreoffice
def test_pdf_served_as_jsp_and_after_junk(office_files):
    pdf = office_files["pdf"]
    assert pdf.startswith(b"%PDF")
    assert sniff_format(pdf, "download.jsp?id=3") == "pdf"
    assert sniff_format(b"\r\n\xef\xbb\xbf  " + pdf, "a.html") == "pdf"


@pytest.mark.libreoffice
def test_doc_and_its_wps_name(office_files):
    doc = office_files["doc"]
    assert doc.startswith(b"\xd0\xcf\x11\xe0")
    assert sniff_format(doc) == "doc"
    assert sniff_format(doc, "report.pdf") == "doc"
    # a Word-binary compound file named .wps is what Kingsoft WPS writes: the name breaks the tie
    assert sniff_format(doc, "2023年报.WPS") == "wps"


@pytest.mark.libreoffice
def test_xls_by_its_workbook_stream(office_files):
    # rename the doc's 'WordDocument' stream to 'Workbook' (names are UTF-16 directory entries
    # with a byte length at offset 64 of the 128-byte entry)
    data = bytearray(office_files["doc"])
    old = "WordDocument".encode("utf-16-le")
    at = data.find(old)
    assert at > 0
    data[at:at + 64] = "Workbook".encode("utf-16-le").ljust(64, b"\x00")
    data[at + 64:at + 66] = (len("Workbook") * 2 + 2).to_bytes(2, "little")
    assert sniff_format(bytes(data), "report.doc") == "xls"


def test_xlsx_and_other_zips():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    assert sniff_format(buf.getvalue(), "a.docx") == "xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("报告.pdf", b"%PDF-1.4")
    assert sniff_format(buf.getvalue(), "a.docx") == "zip"


def test_truncated_docx_is_still_docx(docx_bytes):
    assert sniff_format(docx_bytes[: len(docx_bytes) // 2]) in ("docx", "zip")
    at = docx_bytes.find(b"word/document.xml")
    assert sniff_format(docx_bytes[: at + 200]) == "docx"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "BMP"])
def test_images(fmt):
    assert sniff_format(image(fmt), "report.pdf") == "image"


@pytest.mark.parametrize("encoding,name", [("gbk", "report.pdf"), ("utf-8", "x.doc"),
                                           ("utf-8-sig", None), ("gb18030", "index.shtml")])
def test_html_in_any_encoding_under_any_name(encoding, name):
    data = HTML.format(cs="gb2312" if encoding.startswith("gb") else "utf-8").encode(encoding)
    assert sniff_format(data, name) == "html"


def test_html_fragment_and_utf16():
    assert sniff_format("<p>报告</p><p>一、总体情况</p><br><span>0</span>".encode("gbk")) == "html"
    assert sniff_format(HTML.format(cs="utf-16").encode("utf-16")) == "html"


def test_text_in_gbk_and_utf8_even_named_html():
    assert sniff_format(TEXT.encode("gbk"), "report.html") == "txt"
    assert sniff_format(TEXT.encode("utf-8")) == "txt"


def test_one_stray_tag_follows_the_name():
    data = (TEXT + "<br>").encode("utf-8")
    assert sniff_format(data, "a.htm") == "html"
    assert sniff_format(data, "a.txt") == "txt"


def test_rtf_is_read_as_doc():
    assert sniff_format(b"{\\rtf1\\ansi\\ansicpg936 {\\fonttbl} hello}", "a.doc") == "doc"


def test_empty_and_random_bytes():
    assert sniff_format(b"") == "unknown"
    assert sniff_format(b"", "report.pdf") == "unknown"
    noise = random.Random(7).randbytes(20000)
    assert sniff_format(noise) == "unknown"
    assert sniff_format(noise, "report.html") == "unknown"


def test_damaged_ole_falls_back_to_stream_names():
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    assert sniff_format(head + "WordDocument".encode("utf-16-le")) == "doc"
    assert sniff_format(head + "Workbook".encode("utf-16-le")) == "xls"
    assert sniff_format(head, "a.wps") == "wps"
