"""The same report, rendered as a portal's HTML page, as DOCX (python-docx, real merged
cells), and as PDF and DOC (LibreOffice from that DOCX), and as the text other tools
extract from those files (Apache Tika's shape, tab rows with spans undone, PDF-to-Markdown
pipe rows, LibreOffice's text export, poppler's pdftotext), parses to the same flat values: exactly the example's.
Label typos the real report had (本年度止件数) are rendered too.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "farm"))
from render_docx import render_docx, render_formats  # noqa: E402
from report_layout import layout_tables, narrative_from_text, render_html  # noqa: E402
from text_shapes import markdown_text, tab_rows_text, tika_text  # noqa: E402

from parsers import parse_bytes  # noqa: E402
from parsers.office_convert import convert  # noqa: E402
from parsers.model import table_values  # noqa: E402

# The text examples (narrative and values), and 淮安's real values (thousands of requests,
# a fee in 万元 with a decimal) under a short narrative: zeros alone cannot show a value
# landing in the wrong cell.
CASES = sorted(p.name[: -len(".txt")] for p in (HERE / "examples").glob("*.txt")) + [
    "real_huaian_2024", "sparse_huaian_2024"]
FORMATS = ["html", "html-word-pasted", "docx", "doc", "pdf", "pdf-no-rules"]
# text shapes made from the DOCX without LibreOffice, and from the PDF with poppler
TEXT_SHAPES = {"txt-tika": tika_text, "txt-tabs": tab_rows_text, "txt-markdown": markdown_text}
PDFTOTEXT = {"txt-pdftotext-layout": ["-layout"], "txt-pdftotext-raw": ["-raw"]}
HUAIAN_BODY = ("淮安市人民政府2024年政府信息公开工作年度报告", [
    ("p", "本报告所列统计期限自2024年1月1日至2024年12月31日。"),
    ("h", "一、总体情况"), ("p", "全年主动公开政府信息5500余条。"),
    ("h", "二、主动公开政府信息情况"), ("table", 0),
    ("h", "三、收到和处理政府信息公开申请情况"), ("table", 1),
    ("h", "四、政府信息公开行政复议、行政诉讼情况"), ("table", 2),
    ("h", "五、存在的主要问题及改进情况"), ("p", "政策解读质量仍需提升。"),
    ("h", "六、其他需要报告的事项"), ("p", "无。")])
TYPOS = {"000_26e4c39d6db4dceb": {"本年废止件数": "本年度止件数"},
         "004_1583c84d3300f656": {"社会公益组织": "社会组织"}}


def _sparse(expected: dict) -> dict:
    """淮安's values with blank cells as offices leave them: a row with only 总计 filled, one
    with only 自然人 and 总计, rows with only the first two columns filled and 总计 blank (a
    tool that strips a line drops those trailing blanks, and counting from the right then
    misplaces every value)."""
    values = dict(expected["values"])
    columns = ["natural_person", "commercial", "research", "social_welfare", "legal_services",
               "other_org", "total"]
    blank = {"granted": columns[:-1], "new_received": columns[2:],
             "unable_not_held": columns[2:], "denied_third_party": columns[1:-1]}
    for row, cols in blank.items():
        for c in cols:
            values[f"applications.{row}.{c}"] = None
    values["applications.denied_third_party.natural_person"] = 3
    values["applications.denied_third_party.total"] = 3
    return {**expected, "values": values}


def _render(name: str, cache: Path) -> tuple[dict, dict[str, bytes]]:
    base = name.replace("sparse_", "real_")
    expected = json.loads((HERE / "examples" / f"{base}.expected.json").read_text("utf-8"))
    if name != base:
        expected = _sparse(expected)
    tables = layout_tables(expected["values"], expected["meta"]["template"],
                           labels=TYPOS.get(name))
    text = HERE / "examples" / f"{name}.txt"
    title, body = narrative_from_text(text.read_text("utf-8")) if text.exists() else HUAIAN_BODY
    docx_bytes = render_docx(title=title, body=body, tables=tables)
    files = render_formats(docx_bytes, cache_dir=cache)
    for shape, write in TEXT_SHAPES.items():
        files[shape] = write(docx_bytes).encode("utf-8")
    text_export = cache / f"{name}.libreoffice.txt"  # LibreOffice's own text export
    if not text_export.exists():
        text_export.write_bytes(convert(docx_bytes, "docx", to="txt",
                                        filter="txt:Text (encoded):UTF8", timeout=120))
    files["txt-libreoffice"] = text_export.read_bytes()
    pdf = cache / f"{name}.pdf"
    pdf.write_bytes(files["pdf"])
    for shape, options in PDFTOTEXT.items():
        files[shape] = subprocess.run(["pdftotext", *options, str(pdf), "-"], check=True,
                                      capture_output=True, timeout=60).stdout
    # Tables without ruling lines: pdfplumber finds no table, the parser reads the text lines.
    files["pdf-no-rules"] = render_formats(
        render_docx(title=title, body=body, tables=tables, borders=False), formats=("pdf",),
        cache_dir=cache)["pdf"]
    for variant, pasted in (("html", False), ("html-word-pasted", True)):
        files[variant] = render_html(title=title, body=body, tables=tables, site_name="示范县人民政府",
                                     column_name="政府信息公开年报", column_href="./",
                                     pub_date="2022-01-20", word_pasted=pasted).encode("utf-8")
    return expected, files


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "formats"
    return {name: _render(name, cache) for name in CASES}


def test_cases_exist():
    assert len(CASES) >= 3


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", FORMATS + list(TEXT_SHAPES) + ["txt-libreoffice"] + list(PDFTOTEXT))
@pytest.mark.parametrize("name", CASES)
def test_same_values_in_every_format(rendered, name, fmt):
    expected, files = rendered[name]
    report = parse_bytes(files[fmt], filename=f"report.{fmt.split('-')[0]}")
    assert report["source"]["format"] == fmt.split("-")[0]
    flat = table_values(report)
    assert flat == expected["values"]
    assert report["year"] == expected["meta"]["year"]
    assert report["template"] == expected["meta"]["template"]
    assert expected["meta"]["agency_contains"] in (report["agency"] or "")
    assert report["sections"]["overview"], "section 一 text lost"
