"""A PDF's text lines as a plain-text Document: the fallback for reports whose tables are
drawn without ruling lines, which pdfplumber's table finder cannot see.

pdfplumber's `extract_text` keeps one visual line per line with the gaps between cells as
spaces, the shape `text_reader` reads (a row's cells on a line, wrapped labels on their
own lines). Page-number lines are dropped.
"""
from __future__ import annotations

import io
import re

import pdfplumber

from parsers.document import Document
from parsers.text_reader import text_to_document

_PAGE_NUMBER = re.compile(r"^\s*(?:[-—–]\s*\d+\s*[-—–]|第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+)\s*$")
MAX_PAGES = 200


def read_pdf_text(data: bytes) -> Document:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        lines = []
        for page in pdf.pages[:MAX_PAGES]:
            lines += [ln for ln in (page.extract_text() or "").split("\n")
                      if not _PAGE_NUMBER.match(ln)]
    doc = text_to_document("\n".join(lines))
    doc.format = "pdf"
    return doc
