"""Small text helpers shared by the PDF and DOCX readers: joining pieces of a line broken
inside a cell or paragraph, recognising enumeration markers, and deciding whether a metadata
title is real text or mojibake."""
from __future__ import annotations

import re

# 一、 （一） (1) 1. 1、 第一 : how Chinese reports number their headings and table rows
MARKER = re.compile(
    r"^\s*(?:[（(]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|[一二三四五六七八九十]{1,3}\s*[、.．]"
    r"|\d{1,2}\s*[、.．](?!\d)|第[一二三四五六七八九十]{1,3}[章节部分条])"
)
NUMERIC = re.compile(r"^[\s\d,，.．%％+\-－—–/]*\d[\s\d,，.．%％]*(?:万?元)?$")
_LATIN_END = re.compile(r"[A-Za-z]$")
_LATIN_START = re.compile(r"^[A-Za-z]")
_MOJIBAKE = re.compile(r"[\u00c0-\u00ff\u0080-\u009f\ufffd\x00-\x08\x0b-\x1f]")
_JUNK_TITLES = re.compile(r"^(untitled|无标题|document\d*|文档\d*|microsoft word|wps|标题|title)$", re.I)


def join_pieces(pieces) -> str:
    """Join pieces of one logical line (in-cell line breaks, wrapped lines): no separator
    between Chinese or digits (a wrapped label or a number split over lines), a space only
    between two Latin words."""
    out = ""
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if out and _LATIN_END.search(out) and _LATIN_START.match(piece):
            out += " "
        out += piece
    return out


def is_numeric(text: str) -> bool:
    return bool(NUMERIC.match(text.strip()))


def starts_with_marker(text: str) -> bool:
    return bool(MARKER.match(text))


def sensible_title(title: str | None) -> str | None:
    """The metadata title if it reads as real text; None for mojibake, file names and
    generator defaults ('Microsoft Word - x.doc' keeps its x)."""
    if not title:
        return None
    t = re.sub(r"^Microsoft (?:Word|Excel) - ", "", title.strip())
    t = re.sub(r"\.(docx?|wps|pdf|xlsx?)$", "", t, flags=re.I).strip()
    if len(t) < 2 or len(t) > 200 or _MOJIBAKE.search(t) or _JUNK_TITLES.match(t):
        return None
    if not re.search(r"[\u4e00-\u9fff]|[A-Za-z]{3}", t):
        return None
    return t


def decode_pdf_string(raw) -> str | None:
    """Decode a PDF info string: UTF-16 with either BOM (WPS writes little-endian, which
    pdfminer mistakes for PDFDocEncoding), UTF-8, else Latin-1 as the PDFDoc approximation."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, (bytes, bytearray)):
        return None
    raw = bytes(raw)
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace").rstrip("\x00")
    if raw.startswith(b"\xff\xfe"):
        return raw[2:].decode("utf-16-le", "replace").rstrip("\x00")
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")


def squeeze_grid(rows: list[list[str]], origin: list[list[tuple[int, int]]],
                 widths: list[float] | None = None):
    """Drop redundant columns and rows: ones every position of which belongs to the same
    cell as the one before. With `widths` (one per column), a sliver column (under 2% of
    the mean width) also goes when each of its positions belongs to a neighbour on either
    side: Word and LibreOffice leave 1-twip gridCols that the header spans to the right and
    the body to the left. No cell is ever lost."""
    if not rows or not rows[0]:
        return rows, origin
    ids = [list(r) for r in origin]
    texts = [list(r) for r in rows]
    widths = list(widths) if widths and len(widths) == len(rows[0]) else None
    changed = False
    while True:
        j = _redundant(ids, widths)
        if j is not None:
            for r in range(len(ids)):
                del ids[r][j], texts[r][j]
            if widths:
                del widths[j]
        else:
            i = _redundant([list(col) for col in zip(*ids)], None)
            if i is None:
                break
            del ids[i], texts[i]
        changed = True
    if not changed:
        return rows, origin
    first: dict[tuple[int, int], tuple[int, int]] = {}
    for r, row in enumerate(ids):
        for c, cell in enumerate(row):
            first.setdefault(cell, (r, c))
    return texts, [[first[cell] for cell in row] for row in ids]


def _redundant(ids: list[list[tuple[int, int]]], widths: list[float] | None) -> int | None:
    width = len(ids[0]) if ids else 0
    for j in range(1, width):
        if all(row[j] == row[j - 1] for row in ids):
            return j
    if widths and width > 1:
        mean = sum(widths) / width
        for j in range(width):
            if widths[j] < 0.02 * mean and all(
                    (j > 0 and row[j] == row[j - 1]) or (j + 1 < width and row[j] == row[j + 1])
                    for row in ids):
                return j
    return None
