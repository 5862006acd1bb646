"""LibreOffice conversions with the real soffice: DOC round trip, parallel conversions with
private profiles, an enforced timeout, and clear errors, raised by read_doc and read_wps too
(never an empty document). NIANBAO_SOFFICE and NIANBAO_SOFFICE_TIMEOUT, with a stand-in."""
from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import pytest

from parsers import office_convert
from parsers.office_convert import ConversionError, convert, convert_to_docx, read_doc, read_wps
from parsers.sniff import sniff_format

pytestmark = pytest.mark.libreoffice


def report_docx(name: str) -> bytes:
    d = docx.Document()
    d.add_paragraph(f"{name}2023年政府信息公开工作年度报告")
    t = d.add_table(rows=3, cols=3)
    t.style = "Table Grid"
    t.cell(0, 0).merge(t.cell(0, 2)).text = "第二十条第（一）项"
    for j, text in enumerate(["规章", "5", "6"]):
        t.cell(1, j).text = text
    t.cell(1, 0).merge(t.cell(2, 0))
    t.cell(2, 1).text, t.cell(2, 2).text = "7", "8"
    # Word always ends a document with a paragraph; LibreOffice's DOC export flattens a
    # table that ends the document into one line of text
    d.add_paragraph("二〇二四年一月")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def doc_bytes() -> bytes:
    return convert(report_docx("甲乡"), "docx", to="doc")


def processes_using(path: str) -> list[str]:
    """Command lines of running processes that mention `path`."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode()
            except OSError:
                continue
            if path in cmd:
                found.append(cmd)
    return found


def test_doc_made_from_docx_converts_back(doc_bytes):
    assert sniff_format(doc_bytes) == "doc"
    back = convert_to_docx(doc_bytes, "doc")
    assert sniff_format(back) == "docx"
    doc = read_doc(doc_bytes)
    assert doc.format == "doc" and doc.warnings == []
    assert doc.paragraphs[0].text == "甲乡2023年政府信息公开工作年度报告"
    [table] = doc.tables
    assert table.rows == [["第二十条第（一）项"] * 3, ["规章", "5", "6"], ["规章", "7", "8"]]
    assert table.origin[2][0] == (1, 0)


def test_wps_named_word_binary_reads_like_doc(doc_bytes):
    doc = read_wps(doc_bytes)
    assert doc.format == "wps" and doc.tables[0].rows[1] == ["规章", "5", "6"]


def test_two_conversions_in_parallel_both_succeed():
    inputs = [report_docx("甲乡"), report_docx("乙镇")]
    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(lambda d: convert(d, "docx", to="pdf"), inputs))
    assert all(o.startswith(b"%PDF") for o in outputs)
    from parsers.pdf_reader import read_pdf
    titles = [read_pdf(o).paragraphs[0].text for o in outputs]
    assert titles == ["甲乡2023年政府信息公开工作年度报告", "乙镇2023年政府信息公开工作年度报告"]


@pytest.mark.timeout(60)
def test_timeout_is_enforced_and_kills_soffice(monkeypatch):
    made = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    with pytest.raises(ConversionError, match="timed out"):
        convert(report_docx("丙村"), "docx", to="pdf", timeout=0.01)
    assert len(made) == 1 and not Path(made[0]).exists()
    assert processes_using(made[0]) == []


def test_timeout_in_read_doc_raises(doc_bytes):
    with pytest.raises(ConversionError, match=r"^LibreOffice timed out after 0\.01 s$"):
        read_doc(doc_bytes, timeout=0.01)
    with pytest.raises(ConversionError, match="timed out"):
        read_wps(doc_bytes, timeout=0.01)


def test_missing_soffice_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(office_convert, "find_soffice", lambda: None)
    with pytest.raises(ConversionError, match="not installed"):
        convert(b"x", "doc")
    with pytest.raises(ConversionError, match="not installed"):
        read_wps(b"x")


def test_unreadable_input_is_a_clear_error():
    # a truncated .docx is not a package LibreOffice can load: no output, no hang
    with pytest.raises(ConversionError, match="no pdf output"):
        convert(report_docx("丁")[:500], "docx", to="pdf", timeout=60)
    with pytest.raises(ConversionError, match="no docx output for the .doc file"):
        read_doc(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))


def test_unknown_target_is_a_programming_error():
    with pytest.raises(ValueError):
        convert(b"x", "doc", to="odt")


def test_private_directories_are_removed(doc_bytes, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    convert_to_docx(doc_bytes, "doc")
    with pytest.raises(ConversionError):
        convert_to_docx(doc_bytes, "doc", timeout=0.01)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def hanging_soffice(tmp_path, monkeypatch):
    """NIANBAO_SOFFICE: a stand-in that never finishes (as some .wps files make soffice)."""
    script = tmp_path / "hanging-soffice"
    script.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(600)\n")
    script.chmod(0o755)
    monkeypatch.setenv("NIANBAO_SOFFICE", str(script))
    return script


@pytest.mark.timeout(60)
def test_nianbao_soffice_and_its_timeout(hanging_soffice, monkeypatch):
    assert office_convert.find_soffice() == str(hanging_soffice)
    monkeypatch.setenv("NIANBAO_SOFFICE_TIMEOUT", "0.3")
    assert office_convert.default_timeout() == 0.3
    with pytest.raises(ConversionError, match=r"^LibreOffice timed out after 0\.3 s$"):
        read_doc(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert processes_using(str(hanging_soffice)) == []  # killed with its process group
    # a timeout the caller gives wins
    with pytest.raises(ConversionError, match=r"after 0\.1 s"):
        convert(b"x", "doc", timeout=0.1)


def test_nianbao_soffice_naming_nothing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_SOFFICE", str(tmp_path / "no-such-soffice"))
    assert office_convert.find_soffice() is None
    with pytest.raises(ConversionError, match="NIANBAO_SOFFICE=.*no-such-soffice.* is not an "
                                              "executable"):
        read_doc(b"x")
    monkeypatch.setenv("NIANBAO_SOFFICE", "soffice")  # a name is looked up on PATH
    assert office_convert.find_soffice() == shutil.which("soffice")


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_bad_nianbao_soffice_timeout_is_named(value, monkeypatch):
    monkeypatch.delenv("NIANBAO_SOFFICE_TIMEOUT", raising=False)
    assert office_convert.default_timeout() == office_convert.DEFAULT_TIMEOUT == 60
    monkeypatch.setenv("NIANBAO_SOFFICE_TIMEOUT", value)
    with pytest.raises(ValueError, match=f"NIANBAO_SOFFICE_TIMEOUT must be a number of "
                                         f"seconds, not '{value}'"):
        convert(b"x", "doc")
