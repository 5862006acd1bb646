"""The farm's DOCX renderer and its LibreOffice PDF and DOC copies read back, by the DOCX,
DOC and PDF readers, as exactly the layout's grids (tables over page breaks included)."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pdfplumber
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "farm"))
from render_docx import render_docx, render_formats  # noqa: E402
from report_layout import expand_grid, layout_tables, narrative_from_text  # noqa: E402

from parsers.docx_reader import read_docx  # noqa: E402
from parsers.office_convert import read_doc  # noqa: E402
from parsers.pdf_reader import read_pdf  # noqa: E402

READERS = {"docx": read_docx, "doc": read_doc, "pdf": read_pdf}
CASES = ["004_1583c84d3300f656", "real_huaian_2024"]


def case_files(name: str, cache: Path):
    expected = json.loads((HERE / "examples" / f"{name}.expected.json").read_text("utf-8"))
    tables = layout_tables(expected["values"], expected["meta"]["template"])
    text = HERE / "examples" / f"{name}.txt"
    if text.exists():
        title, body = narrative_from_text(text.read_text("utf-8"))
    else:
        title = "淮安市人民政府2024年政府信息公开工作年度报告"
        body = [("h", "一、总体情况"), ("p", "全年主动公开政府信息。" * 60),
                ("h", "二、主动公开政府信息情况"), ("table", 0),
                ("h", "三、收到和处理政府信息公开申请情况"), ("table", 1),
                ("h", "四、政府信息公开行政复议、行政诉讼情况"), ("table", 2)]
    data = render_docx(title=title, body=body, tables=tables, agency="某某人民政府",
                       date="2025年1月20日", core_title=title)
    return title, tables, render_formats(data, cache_dir=cache)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "rendered"
    return {name: case_files(name, cache) for name in CASES}


def test_render_is_deterministic():
    tables = layout_tables({"applications.granted.total": 3}, "2021")
    body = [("table", 0), ("table", 1), ("table", 2)]
    assert render_docx(title="t", body=body, tables=tables) == render_docx(title="t", body=body, tables=tables)


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["docx", "doc", "pdf"])
@pytest.mark.parametrize("name", CASES)
def test_every_format_gives_the_layout_grids(rendered, name, fmt):
    title, tables, files = rendered[name]
    doc = READERS[fmt](files[fmt])
    assert doc.format == fmt and doc.warnings == []
    assert [t.rows for t in doc.tables] == [expand_grid(t) for t in tables]
    assert doc.paragraphs[0].text.replace(" ", "") == title.replace(" ", "")
    assert doc.paragraphs[-1].text == "2025年1月20日"


@pytest.mark.libreoffice
def test_pdf_tables_really_cross_page_breaks(rendered):
    data = rendered["004_1583c84d3300f656"][2]["pdf"]
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pieces = sum(len(p.find_tables()) for p in pdf.pages)
    assert pieces > len(read_pdf(data).tables) == 3
