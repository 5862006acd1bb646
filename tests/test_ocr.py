"""Scanned reports are read by OCR, as exactly as the other formats.

A scan is made from a real case the way a scanner would: each page rasterised at 200 dpi
in grey (pdftoppm), the images put back together as a PDF without any text layer
(Pillow). The real 淮安 report, one rendered example (LibreOffice, with and without ruling
lines) and one page as an image (PNG; JPEG of a sheet fed askew) all give exactly the
expected values. Only the pages that are needed are OCR'd, each once.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from parsers import ocr, parse_bytes
from parsers.model import table_values
from parsers.ocr_grid import dark_pixels, find_grids
from parsers.ocr_skew import skew_angle

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
HUAIAN = EXAMPLES / "real_huaian_2024.pdf"
HUAIAN_EXPECTED = json.loads((EXAMPLES / "real_huaian_2024.expected.json").read_text("utf-8"))
RENDERED = "004_1583c84d3300f656"  # template 2019, table 四 split over a page break
TYPOS = {"社会公益组织": "社会组织"}  # as test_parser_formats renders it


def _pages(pdf: bytes, tmp: Path, ranges: list[tuple[int, int]] | None = None) -> list[Image.Image]:
    """The PDF's pages (first, last: 1-based) as 200 dpi grey images, as a scanner makes."""
    assert shutil.which("pdftoppm"), "pdftoppm is missing: `make setup` installs poppler-utils"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "in.pdf").write_bytes(pdf)
    images = []
    for first, last in ranges or [(1, 10_000)]:
        out = tmp / f"p{first}"
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-f", str(first), "-l", str(last),
                        str(tmp / "in.pdf"), str(out)], check=True, capture_output=True)
        files = sorted(tmp.glob(f"p{first}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        images += [Image.open(f).convert("L") for f in files]
    return images


def _image_pdf(images: list[Image.Image]) -> bytes:
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=200)
    return buf.getvalue()


def _wrong(flat: dict, expected: dict) -> dict:
    return {k: (v, flat.get(k, "<absent>")) for k, v in expected.items()
            if flat.get(k, "<absent>") != v or type(flat.get(k)) is bool}


@pytest.fixture(scope="module")
def huaian_pages(tmp_path_factory) -> list[Image.Image]:
    """淮安's title page and the three pages its tables are on (2 and 6 are only prose)."""
    return _pages(HUAIAN.read_bytes(), tmp_path_factory.mktemp("huaian"), [(1, 1), (3, 5)])


@pytest.fixture(scope="module")
def huaian_scan(huaian_pages) -> bytes:
    return _image_pdf(huaian_pages)


def test_the_scan_has_no_text_layer(huaian_scan):
    assert ocr.pages_without_text(huaian_scan) == ([0, 1, 2, 3], 4)


@pytest.mark.ocr
def test_scanned_pdf_exact(huaian_scan):
    report = parse_bytes(huaian_scan, filename="scan.pdf")
    assert report["source"]["format"] == "pdf" and report["source"]["ocr"] is True
    flat = table_values(report)
    expected = HUAIAN_EXPECTED["values"]
    assert not _wrong(flat, expected), f"values differing (expected, got): {_wrong(flat, expected)}"
    extra = set(flat) - set(expected)
    assert not extra, f"values the report does not print: {extra}"
    meta = HUAIAN_EXPECTED["meta"]
    assert report["year"] == meta["year"] and report["template"] == meta["template"]
    assert meta["agency_contains"] in report["agency"]
    assert any("read by OCR" in w and "checked against the original" in w
               for w in report["warnings"]), report["warnings"]
    assert report["sections"]["overview"]


@pytest.mark.ocr
@pytest.mark.parametrize("kind,angle", [("PNG", 0.0), ("JPEG", 1.2)])
def test_page_image_exact(huaian_pages, kind, angle):
    """Page 5 as an image (the end of table 三, all of table 四): as a PNG, and as a JPEG of
    a sheet fed askew, which is turned straight before its rules are looked for."""
    page = huaian_pages[3]
    if angle:
        page = page.rotate(angle, resample=Image.BICUBIC, fillcolor=255)
    buf = io.BytesIO()
    page.save(buf, kind, **({"quality": 75} if kind == "JPEG" else {}))
    report = parse_bytes(buf.getvalue(), filename=f"page5.{kind.lower()}")
    assert report["source"]["format"] == "image" and report["source"]["ocr"] is True
    flat = table_values(report)
    want = {k: v for k, v in HUAIAN_EXPECTED["values"].items()
            if k.startswith("review_litigation.")}
    assert {k: flat.get(k, "<absent>") for k in want} == want
    assert any("read by OCR" in w for w in report["warnings"])


@pytest.mark.ocr
def test_scanned_pages_in_a_text_pdf(huaian_scan):
    """Pages 3-5 (the tables) scanned, the others with their text: only those three are
    OCR'd, and put in their place between the others."""
    import pypdfium2 as pdfium

    mixed = pdfium.PdfDocument.new()
    text, scan = pdfium.PdfDocument(HUAIAN.read_bytes()), pdfium.PdfDocument(huaian_scan)
    mixed.import_pages(text, [0, 1])
    mixed.import_pages(scan, [1, 2, 3])
    mixed.import_pages(text, [5])
    buf = io.BytesIO()
    mixed.save(buf)
    report = parse_bytes(buf.getvalue(), filename="mixed.pdf")
    assert report["source"]["ocr"] is True
    assert any("read by OCR (3 of 6 pages)" in w for w in report["warnings"]), report["warnings"]
    assert table_values(report) == HUAIAN_EXPECTED["values"]
    assert report["year"] == 2024 and "淮安市人民政府" in report["agency"]


def test_text_pdf_is_not_ocrd(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a PDF with a text layer was OCR'd")

    monkeypatch.setattr(ocr, "scan_pdf", refuse)
    report = parse_bytes(HUAIAN.read_bytes(), filename="r.pdf")
    assert report["source"]["ocr"] is False
    assert table_values(report) == HUAIAN_EXPECTED["values"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[dict, dict[str, bytes]]:
    """The example rendered by LibreOffice with and without ruling lines, then scanned."""
    sys.path.insert(0, str(HERE / "farm"))
    from render_docx import render_docx, render_formats
    from report_layout import layout_tables, narrative_from_text

    expected = json.loads((EXAMPLES / f"{RENDERED}.expected.json").read_text("utf-8"))
    tables = layout_tables(expected["values"], expected["meta"]["template"], labels=TYPOS)
    title, body = narrative_from_text((EXAMPLES / f"{RENDERED}.txt").read_text("utf-8"))
    cache = tmp_path_factory.getbasetemp() / "formats"  # shared with test_parser_formats
    scans = {}
    for name, borders in (("pdf", True), ("pdf-no-rules", False)):
        pdf = render_formats(render_docx(title=title, body=body, tables=tables, borders=borders),
                             formats=("pdf",), cache_dir=cache)["pdf"]
        scans[name] = _image_pdf(_pages(pdf, tmp_path_factory.mktemp(name)))
    return expected, scans


@pytest.mark.ocr
@pytest.mark.libreoffice
@pytest.mark.parametrize("variant", ["pdf", "pdf-no-rules"])
def test_rendered_scan_exact(rendered, variant):
    expected, scans = rendered
    report = parse_bytes(scans[variant], filename="scan.pdf")
    assert report["source"]["ocr"] is True
    assert table_values(report) == expected["values"]
    assert report["year"] == expected["meta"]["year"]
    assert report["template"] == expected["meta"]["template"]
    assert expected["meta"]["agency_contains"] in (report["agency"] or "")


def test_grid_with_merged_cells():
    """Ruling lines drawn on a blank page: the grid, its merged cells and its spans."""
    image = Image.new("L", (900, 500), 255)
    draw = ImageDraw.Draw(image)
    xs, ys = [100, 300, 500, 700], [100, 160, 220, 280]
    for y in ys:
        draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=2)
    for x in xs:
        for top, bottom in zip(ys, ys[1:]):
            if not (x == 300 and top == 100):  # the first row's first two cells are one
                draw.line([(x, top), (x, bottom)], fill=0, width=2)
    draw.line([(500, 160), (700, 160)], fill=255, width=2)  # and so are rows 0-1 of the last
    draw.line([(500, 220), (700, 220)], fill=0, width=2)
    grids, rules = find_grids(dark_pixels(np.asarray(image)))
    assert len(grids) == 1
    grid = grids[0]
    assert len(grid.xs) == 4 and len(grid.ys) == 4
    spans = {(c.r, c.c): (c.rs, c.cs) for c in grid.cells}
    assert spans[(0, 0)] == (1, 2) and spans[(0, 2)] == (2, 1)
    assert (0, 1) not in spans and (1, 2) not in spans
    assert len(grid.cells) == 9 - 2
    assert rules[100, 400] and not rules[130, 400]


@pytest.mark.parametrize("angle", [-1.5, 0.7])
def test_skew_is_measured_on_the_rules(angle):
    image = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(image)
    for y in range(200, 700, 60):
        draw.line([(100, y), (1100, y)], fill=0, width=2)
    dark = dark_pixels(np.asarray(image.rotate(angle, resample=Image.BICUBIC, fillcolor=255)))
    assert skew_angle(dark) == pytest.approx(-angle, abs=0.1)


def test_title_strokes_are_not_ruling_lines():
    """A long horizontal stroke outside any table (a big title's 一) is no table."""
    image = Image.new("L", (900, 300), 255)
    ImageDraw.Draw(image).line([(100, 50), (400, 50)], fill=0, width=6)
    grids, rules = find_grids(dark_pixels(np.asarray(image)))
    assert grids == [] and not rules.any()


@pytest.mark.ocr
def test_pages_are_capped(monkeypatch):
    """The work is bounded by pages: past MAX_PAGES pages without text, none are read."""
    monkeypatch.setattr(ocr, "MAX_PAGES", 1)
    blank = [Image.new("L", (400, 560), 255) for _ in range(3)]
    report = parse_bytes(_image_pdf(blank), filename="blank.pdf")
    assert report["source"]["ocr"] is True
    assert any("only the first 1" in w for w in report["warnings"]), report["warnings"]
    assert report["applications"] == {}


def test_broken_image_never_raises():
    report = parse_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="x.png")
    assert report["source"]["format"] == "image" and report["source"]["ocr"] is False
    assert any("OCR" in w for w in report["warnings"]), report["warnings"]
