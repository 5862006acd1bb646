"""Broken bytes never hang or crash the parser: truncated PDFs, random and malicious HTML,
empty and random files, a 50 MB file. Each gives a report with warnings within the test's
time limit (pytest-timeout), seeded so a failure can be replayed."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from parsers import parse_bytes

EXAMPLES = Path(__file__).parent / "examples"
PDF = (EXAMPLES / "real_huaian_2024.pdf").read_bytes()
HTML = (EXAMPLES / "real_pingtan_2020.html").read_bytes()
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
