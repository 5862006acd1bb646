"""Pure functions from raw bytes to the common report model (REPORT_MODEL.md):
bytes -> `Document` (ordered blocks: paragraphs and table grids) -> `Report` dict.
No I/O beyond the bytes handed in (LibreOffice conversion works on private temp files),
and no imports of Scrapy or `archive`."""
from __future__ import annotations

import hashlib

PARSER_VERSION = "0.2.0"

# Formats nianbao reads, and those it recognises but does not parse (reported as such).
READABLE = ("html", "pdf", "docx", "doc", "wps", "txt")


def _reader(fmt: str):
    if fmt == "html":
        from parsers.html_reader import read_html
        return read_html
    if fmt == "txt":
        from parsers.text_reader import read_text
        return read_text
    if fmt == "pdf":
        from parsers.pdf_reader import read_pdf
        return read_pdf
    if fmt == "docx":
        from parsers.docx_reader import read_docx
        return read_docx
    if fmt == "doc":
        from parsers.office_convert import read_doc
        return read_doc
    if fmt == "wps":
        from parsers.office_convert import read_wps
        return read_wps
    return None


def parse_bytes(data: bytes, *, filename: str | None = None, url: str | None = None,
                capture_id: int | None = None, published_hint: str | None = None) -> dict:
    """Parse one report file. Bad input never raises: an unreadable or unsupported file
    gives a report with `warnings` saying why and `source.format` set."""
    from parsers.build import build_report
    from parsers.document import Document
    from parsers.sniff import sniff_format

    fmt = sniff_format(data, filename)
    source = {"url": url, "sha256": hashlib.sha256(data).hexdigest(), "format": fmt,
              "capture_id": capture_id, "filename": filename, "size": len(data)}
    reader = _reader(fmt)
    if reader is None:
        doc = Document(format=fmt, warnings=[_unsupported(fmt, len(data))])
    else:
        try:
            doc = reader(data)
        except Exception as exc:  # a reader failing on bad bytes is a property of the input
            doc = Document(format=fmt, warnings=[f"could not read the {fmt} file: "
                                                 f"{type(exc).__name__}: {exc}"])
    return build_report(doc, parser_version=PARSER_VERSION, source=source,
                        published_hint=published_hint)


def _unsupported(fmt: str, size: int) -> str:
    if size == 0:
        return "empty file"
    if fmt == "image":
        return "an image: the report would need OCR, which nianbao does not do"
    if fmt in ("xls", "xlsx"):
        return f"a spreadsheet ({fmt}): not parsed yet"
    return f"format {fmt!r} is not a report format nianbao reads"
