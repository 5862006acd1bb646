"""Pure functions from raw bytes to the common report model (REPORT_MODEL.md):
bytes -> `Document` (ordered blocks: paragraphs and table grids) -> `Report` dict.
No I/O beyond the bytes handed in (LibreOffice conversion works on private temp files),
and no imports of Scrapy or `archive`."""
from __future__ import annotations

import hashlib
import importlib

PARSER_VERSION = "0.3.0"

# The reader of each format nianbao parses (module, function), imported when first needed:
# LibreOffice and pdfplumber cost nothing to a run that only meets HTML.
_READERS = {
    "html": ("parsers.html_reader", "read_html"),
    "txt": ("parsers.text_reader", "read_text"),
    "pdf": ("parsers.pdf_reader", "read_pdf"),
    "docx": ("parsers.docx_reader", "read_docx"),
    "doc": ("parsers.office_convert", "read_doc"),
    "wps": ("parsers.office_convert", "read_wps"),
}


def _reader(fmt: str):
    if fmt not in _READERS:
        return None
    module, name = _READERS[fmt]
    return getattr(importlib.import_module(module), name)


def parse_bytes(data: bytes, *, filename: str | None = None, url: str | None = None,
                capture_id: int | None = None, published_hint: str | None = None,
                region_hint: dict | None = None) -> dict:
    """Parse one report file. Bad input never raises: an unreadable or unsupported file
    gives a report with `warnings` saying why and `source.format` set. A DOC or WPS file
    LibreOffice cannot convert (missing, timed out, failed) raises
    `parsers.office_convert.ConversionError`: the parse failed, it is not an empty report.

    :param published_hint: a date the portal gave, used when the document states none
    :param region_hint: the region of the portal it came from (portals.yml), used where the
        report itself does not settle it (see `parsers.region.find_region`)
    """
    from parsers.build import build_report
    from parsers.document import Document
    from parsers.model import has_table_values
    from parsers.office_convert import ConversionError
    from parsers.sniff import sniff_format

    fmt = sniff_format(data, filename)
    source = {"url": url, "sha256": hashlib.sha256(data).hexdigest(), "format": fmt,
              "capture_id": capture_id, "filename": filename, "size": len(data), "ocr": False}
    reader = _reader(fmt)
    if reader is None:
        doc = Document(format=fmt, warnings=[_unsupported(fmt, len(data))])
    else:
        try:
            doc = reader(data)
        except ConversionError:
            raise  # LibreOffice failed or timed out: a failed parse, never an empty report
        except Exception as exc:  # a reader failing on bad bytes is a property of the input
            doc = Document(format=fmt, warnings=[f"could not read the {fmt} file: "
                                                 f"{type(exc).__name__}: {exc}"])
    hints = {"published_hint": published_hint, "region_hint": region_hint}
    report = build_report(doc, parser_version=PARSER_VERSION, source=source, **hints)
    if fmt == "pdf" and doc.blocks and not has_table_values(report):
        report = _from_pdf_text(data, report, source, hints)
    if (fmt == "image" and data) or (fmt == "pdf" and not has_table_values(report)):
        report = _from_ocr(data, fmt, doc, report, source, hints)
    return report


def _from_ocr(data: bytes, fmt: str, doc, report: dict, source: dict, hints: dict) -> dict:
    """A scan: OCR the PDF's pages without a text layer, or the image. Pages with text are
    never OCR'd, and a PDF is only OCR'd when its text gave no tables. The OCR'd report is
    kept when it found tables, or when there was nothing else to read."""
    from parsers import ocr
    from parsers.build import build_report
    from parsers.model import has_table_values

    if not ocr.available():
        if fmt == "image":
            report["warnings"].append("an image: OCR needs the rapidocr-onnxruntime package, "
                                      "which is not installed")
        return report
    try:
        scan = ocr.scan_image(data) if fmt == "image" else ocr.scan_pdf(data, doc)
        candidates = scan.candidates() if scan is not None else []
    except Exception as exc:  # a damaged image or page is a property of the input
        report["warnings"].append(f"OCR failed: {type(exc).__name__}: {exc}")
        return report
    if not candidates:
        return report
    source = dict(source, ocr=True)
    first = None
    for candidate in candidates:
        retry = build_report(candidate, parser_version=PARSER_VERSION, source=source, **hints)
        first = first or retry
        if has_table_values(retry):
            return retry
    if fmt == "image" or not doc.blocks:
        return first
    report["warnings"].append(f"OCR: {len(scan.pages)} page(s) without a text layer read, "
                              "no tables found in them")
    return report


def _from_pdf_text(data: bytes, report: dict, source: dict, hints: dict) -> dict:
    """Tables drawn without ruling lines: read them from the PDF's text lines instead."""
    from parsers.build import build_report
    from parsers.model import has_table_values
    from parsers.pdf_text import read_pdf_text

    try:
        doc = read_pdf_text(data)
    except Exception:  # the first reading already said what is wrong with this file
        return report
    retry = build_report(doc, parser_version=PARSER_VERSION, source=source, **hints)
    if not has_table_values(retry):
        return report
    retry["warnings"].insert(0, "no ruled tables in the PDF: the tables were read from its "
                                "text lines")
    return retry


def _unsupported(fmt: str, size: int) -> str:
    if size == 0:
        return "empty file"
    if fmt == "image":
        return "an image: only OCR can read it"
    if fmt in ("xls", "xlsx"):
        return f"a spreadsheet ({fmt}): not parsed yet"
    return f"format {fmt!r} is not a report format nianbao reads"
