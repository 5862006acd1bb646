"""Broken bytes never hang or crash the parser: truncated PDFs, random and malicious HTML,
empty and random files, a 50 MB file. Each gives a report with warnings within the test's
time limit (pytest-timeout), seeded so a failure can be replayed. And what is intact
survives: a file cut short keeps the tables before the cut, exactly, and never reports a
value that is not in the original; its warnings say why it is short."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from parsers import parse_bytes
from parsers.model import table_values

EXAMPLES = Path(__file__).parent / "examples"
PDF = (EXAMPLES / "real_huaian_2024.pdf").read_bytes()
HTML = (EXAMPLES / "real_pingtan_2020.html").read_bytes()
PDF_VALUES = json.loads((EXAMPLES / "real_huaian_2024.expected.json").read_text("utf-8"))["values"]
HTML_VALUES = json.loads((EXAMPLES / "real_pingtan_2020.expected.json").read_text("utf-8"))["values"]
TEXT = (EXAMPLES / "000_26e4c39d6db4dceb.txt").read_bytes()


def _assert_report(report: dict) -> None:
    assert report["schema_version"] == 1 and report["source"]["format"]
    assert isinstance(report["warnings"], list)
    assert isinstance(report["checks"], list)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999])
def test_truncated_pdf(fraction):
    report = parse_bytes(PDF[: int(len(PDF) * fraction)], filename="r.pdf")
    _assert_report(report)
    assert report["warnings"], "a truncated PDF must say so"


def _never_wrong(report: dict, expected: dict) -> dict:
    """The report's flat values, each checked against the original's: a value may be
    missing, never different."""
    flat = table_values(report)
    wrong = {k: (v, expected.get(k, "absent")) for k, v in flat.items() if expected.get(k, "absent") != v}
    assert not wrong, f"values the original does not hold: {wrong}"
    return flat


def _tables_exact(flat: dict, expected: dict, tables: tuple[str, ...]) -> None:
    for table in tables:
        want = {k: v for k, v in expected.items() if k.startswith(table + ".")}
        assert {k: flat.get(k, "absent") for k in want} == want, f"{table} lost"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fraction", [0.9, 0.99, 0.999])
def test_truncated_pdf_keeps_what_it_holds(fraction):
    """WPS writes the cross-reference stream (and fonts) last: a cut file has no way in, but
    its pages are there. qpdf rebuilds the file; what is read is exact."""
    report = parse_bytes(PDF[: int(len(PDF) * fraction)], filename="r.pdf")
    flat = _never_wrong(report, PDF_VALUES)
    assert any("repaired" in w and "pages" in w for w in report["warnings"]), report["warnings"]
    _tables_exact(flat, PDF_VALUES, ("active_disclosure",))  # on page 3, before every cut
    if fraction == 0.999:  # only the end of the cross-reference stream is lost
        _tables_exact(flat, PDF_VALUES, ("applications", "review_litigation"))


def _end_of(html: bytes, heading: str) -> int:
    """The offset just past the first </table> after `heading`."""
    at = html.find(heading.encode("utf-8"))
    return html.lower().find(b"</table>", at) + len(b"</table>")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", range(6))
def test_html_cut_short_keeps_the_tables_before_the_cut(seed):
    rng = random.Random(seed)
    cut = rng.randrange(len(HTML) // 10, len(HTML))
    report = parse_bytes(HTML[:cut], filename="x.html")
    flat = _never_wrong(report, HTML_VALUES)
    done = [t for t, heading in (("active_disclosure", "二、主动公开"), ("applications", "三、收到和处理"),
                                 ("review_litigation", "四、政府信息公开行政复议"))
            if _end_of(HTML, heading) <= cut]
    _tables_exact(flat, HTML_VALUES, tuple(done))
    if len(done) < 3:
        assert any("cut short" in w or "was not found" in w for w in report["warnings"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", range(6))
def test_pdf_with_flipped_bytes(seed):
    rng = random.Random(seed)
    data = bytearray(PDF)
    for _ in range(200):
        data[rng.randrange(len(data))] = rng.randrange(256)
    _assert_report(parse_bytes(bytes(data), filename="r.pdf"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", range(8))
def test_cut_and_shuffled_html(seed):
    rng = random.Random(seed)
    pieces = [HTML[i:i + 2000] for i in range(0, len(HTML), 2000)]
    rng.shuffle(pieces)
    _assert_report(parse_bytes(b"".join(pieces[: rng.randrange(1, len(pieces))]), filename="x.html"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_and_random_text(seed):
    rng = random.Random(seed)
    _assert_report(parse_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 50_000)))))
    lines = TEXT.decode("utf-8").split("\n")
    rng.shuffle(lines)
    _assert_report(parse_bytes("\n".join(lines).encode("utf-8"), filename="r.txt"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("page", [
    b"",
    b"<html>",
    b"<table>" * 5000,
    b"<div>" * 20000 + "一、总体情况".encode() + b"</div>" * 20000,
    ('<table><tr><td rowspan="99999999" colspan="99999999">信息内容</td><td>1</td></tr>'
     '<tr><td colspan="-3">自然人</td><td rowspan="abc">2</td></tr></table>').encode(),
    '<meta charset="x-unknown-charset"><p>某县2021年政府信息公开工作年度报告</p>'.encode("gbk"),
    b"\xef\xbb\xbf<html><body>\x00\x00\x00</body></html>",
])
def test_malicious_html(page):
    _assert_report(parse_bytes(page, filename="x.html"))


@pytest.mark.timeout(120)
def test_a_50_mb_file():
    row = "<tr><td>行政许可</td><td>1</td><td>2</td></tr>".encode()
    page = b"<html><body><p>\xe4\xbf\xa1\xe6\x81\xaf\xe5\x86\x85\xe5\xae\xb9</p><table>"
    page += row * (50_000_000 // len(row)) + b"</table></body></html>"
    report = parse_bytes(page, filename="big.html")
    _assert_report(report)
