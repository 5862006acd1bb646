"""A PDF's text lines as a plain-text Document: the fallback for reports whose tables are
drawn without ruling lines, which pdfplumber's table finder cannot see.

pdfplumber's `extract_text` keeps one visual line per line with the gaps between cells as
spaces, the shape `text_reader` reads (a row's cells on a line, wrapped labels on their
own lines); it runs here on the characters pypdfium2 reads (pdf_pages). Page-number lines
are dropped. Pages and characters are capped as in pdf_reader.
"""
from __future__ import annotations

import io
import re

import pdfplumber
import pypdfium2 as pdfium
from pdfplumber.utils import chars_to_textmap

from parsers.document import Document
from parsers.pdf_pages import TooManyChars, read_page
from parsers.text_reader import text_to_document

_PAGE_NUMBER = re.compile(r"^\s*(?:[-—–]\s*\d+\s*[-—–]|第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+)\s*$")
MAX_PAGES = 200
MAX_CHARS = 400_000


def read_pdf_text(data: bytes) -> Document:
    lines = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        content = pdfium.PdfDocument(data)
        try:
            left = MAX_CHARS
            for index, page in enumerate(pdf.pages[:min(MAX_PAGES, len(content))]):
                try:
                    chars = read_page(content, index, page, max_chars=left, drawings=False).chars
                except TooManyChars:
                    break
                left -= len(chars)
                text = chars_to_textmap(chars).as_string if chars else ""
                lines += [ln for ln in text.split("\n") if not _PAGE_NUMBER.match(ln)]
        finally:
            content.close()
    doc = text_to_document("\n".join(lines))
    doc.format = "pdf"
    return doc
