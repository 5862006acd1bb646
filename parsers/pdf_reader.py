"""Read a PDF into a Document with pdfplumber: paragraphs in reading order with page numbers,
tables as span-expanded grids placed between them (pdf_tables), tables joined across page
breaks, page-border boxes turned back into text, `(cid:N)` glyph garbage re-read with
pypdfium2 or reported, and scanned, encrypted or broken files reported in warnings, never
raised. Large files are capped in pages and time."""
from __future__ import annotations

import io
import logging
import re
import time

import pdfplumber
import pypdfium2 as pdfium

from .document import Document, Paragraph, Table
from .pdf_layout import Line, Metrics, is_page_number, line_from_pdfplumber, paragraphs
from .pdf_tables import Grid, grid_from_pdfplumber, is_layout_box, join_grids, to_table
from .reader_text import decode_pdf_string, sensible_title

MAX_PAGES = 200
TIME_BUDGET = 120.0  # seconds for one file; past it the rest of the pages are skipped
MAX_EDGES = 4000  # a page drawn with more rules than this is not searched for tables
MIN_CHARS = 12  # fewer characters than this: the page has no real text layer
_CID = re.compile(r"\(cid:\d+\)")

for _name in ("pdfminer", "pdfplumber"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def read_pdf(data: bytes) -> Document:
    """Parse PDF bytes; every problem ends up in `Document.warnings`."""
    doc = Document(format="pdf")
    start = data.find(b"%PDF-", 0, 1024)
    if start > 0:  # junk before the header: xref offsets count from the header
        data = data[start:]
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        pages = pdf.pages
    except Exception as e:  # pdfminer raises many types for encrypted or damaged files
        doc.warnings.append(f"pdf: cannot open ({_describe(e, data)})")
        return doc
    try:
        doc.title = _title(pdf)
        _read_pages(pdf, pages, data, doc)
    finally:
        pdf.close()
    return doc


def _describe(e: Exception, data: bytes = b"") -> str:
    """A short reason; pdfplumber wraps pdfminer's exception in its first argument."""
    inner = e.args[0] if e.args and isinstance(e.args[0], Exception) else e
    name = type(inner).__name__
    if "Password" in name or "Encrypt" in name:
        return f"encrypted, needs a password ({name})"
    text = f"{name}: {inner}".strip().rstrip(":")
    if data and b"%%EOF" not in data[-2048:]:
        text = f"truncated or damaged, no %%EOF at the end ({text})"
    return text[:200]


def _title(pdf) -> str | None:
    try:
        for info in pdf.doc.info:
            raw = info.get("Title")
            raw = raw.resolve() if hasattr(raw, "resolve") else raw
            title = sensible_title(decode_pdf_string(raw))
            if title:
                return title
    except Exception:
        return None
    return None


class _Pdfium:
    """pypdfium2 opened lazily, for pages whose pdfplumber text is (cid:N) garbage."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.doc = None

    def textpage(self, index: int):
        if self.doc is None:
            self.doc = pdfium.PdfDocument(self.data)
        return self.doc[index].get_textpage()

    def close(self) -> None:
        if self.doc is not None:
            self.doc.close()


def _read_pages(pdf, pages, data: bytes, doc: Document) -> None:
    if len(pages) > MAX_PAGES:
        doc.warnings.append(f"pdf: {len(pages)} pages, only the first {MAX_PAGES} read")
    started = time.monotonic()
    items: list[Line | Grid] = []
    pdfium_reader = _Pdfium(data)
    text_pages = image_pages = 0
    for index, page in enumerate(pages[:MAX_PAGES]):
        if time.monotonic() - started > TIME_BUDGET:
            doc.warnings.append(f"pdf: stopped after {index} pages ({TIME_BUDGET:.0f} s budget)")
            break
        try:
            page_items, nchars = _read_page(page, index, pdfium_reader, doc)
            # a scan may carry a stamped page number: too few characters to be a text layer
            scanned = nchars < MIN_CHARS and bool(page.images)
            height = page.height
        except Exception as e:
            doc.warnings.append(f"pdf: page {index + 1} unreadable ({_describe(e)})")
            continue
        finally:
            page.close()
        image_pages += scanned
        text_pages += bool(nchars) and not scanned
        _append_page(items, page_items, height)
    if not text_pages:
        what = "scanned/image-only PDF" if image_pages else "PDF without text"
        doc.warnings.append(f"pdf: no text layer ({what}); nothing to read without OCR")
    elif image_pages:
        doc.warnings.append(f"pdf: {image_pages} page(s) are images without a text layer")
    pdfium_reader.close()
    doc.blocks = _blocks(items)


def _append_page(items: list, page_items: list, height: float) -> None:
    """Add one page's items; a table at the top of this page continues a table that ended
    the previous page near its bottom when their columns line up."""
    if (page_items and items and isinstance(page_items[0], Grid) and isinstance(items[-1], Grid)
            and items[-1].pages[-1] == page_items[0].page - 1
            and items[-1].bottom > 0.6 * height and page_items[0].top < 0.4 * height):
        joined = join_grids(items[-1], page_items[0])
        if joined is not None:
            items[-1] = joined
            page_items = page_items[1:]
    items.extend(page_items)


def _read_page(page, index: int, pdfium_reader: _Pdfium, doc: Document):
    number = index + 1
    chars = page.chars
    if not chars:
        return [], 0
    text_for = None
    cid = sum(1 for c in chars if c["text"].startswith("(cid:"))
    if cid > 0.02 * len(chars):
        text_for = _pdfium_text(pdfium_reader, index, page.height)
        if text_for is None:
            doc.warnings.append(f"pdf: page {number} text is unreadable (cid glyphs without a "
                                f"Unicode map, {cid} of {len(chars)}); page skipped")
            return [], len(chars)
        doc.warnings.append(f"pdf: page {number} read with pypdfium2 (pdfplumber saw cid glyphs)")
    grids, boxes = [], []
    edges = len(page.rects) + len(page.lines) + len(page.curves)
    if edges > MAX_EDGES:
        doc.warnings.append(f"pdf: page {number} has {edges} drawn rules; tables not searched")
    else:
        for table in page.find_tables():
            grid = grid_from_pdfplumber(table, number, text_for)
            if grid is None or is_layout_box(grid):
                continue
            grids.append(grid)
            boxes.append(table.bbox)
    if any(_CID.search(c.text) for g in grids for c in g.cells):
        doc.warnings.append(f"pdf: page {number} table cells with cid glyphs left blank")
        for g in grids:
            for c in g.cells:
                c.text = "" if _CID.search(c.text) else c.text

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    view = page.filter(outside) if boxes else page
    lines = []
    for raw in view.extract_text_lines(return_chars=True, strip=True):
        line = line_from_pdfplumber(raw, number)
        if text_for is not None:
            line.text = text_for((line.x0, line.top, line.x1, line.bottom)).strip()
        line.text = _CID.sub("", line.text).strip()
        if line.text and not is_page_number(line, page.height):
            lines.append(line)
    page_items = sorted(lines + grids, key=lambda it: it.top)
    return page_items, len(chars)


def _pdfium_text(reader: _Pdfium, index: int, height: float):
    """A bbox -> text function over pypdfium2's text for the page, or None when pdfium's
    text is no better (private-use or replacement characters)."""
    try:
        textpage = reader.textpage(index)
        full = textpage.get_text_range()
    except Exception:
        return None
    good = sum(1 for ch in full if ch.isspace() or ch.isprintable() and not _odd(ch))
    if not full.strip() or good < 0.9 * len(full):
        return None

    def text_for(bbox) -> str:
        x0, top, x1, bottom = bbox
        return textpage.get_text_bounded(left=x0, bottom=height - bottom, right=x1, top=height - top)

    return text_for


def _odd(ch: str) -> bool:
    return "\ue000" <= ch <= "\uf8ff" or ch == "\ufffd"


def _blocks(items: list) -> list:
    """Lines between tables become paragraphs; grids become Tables."""
    lines = [it for it in items if isinstance(it, Line)]
    metrics = Metrics(lines)
    blocks: list[Paragraph | Table] = []
    run: list[Line] = []
    for it in items:
        if isinstance(it, Line):
            run.append(it)
            continue
        blocks.extend(paragraphs(run, metrics))
        run = []
        blocks.append(to_table(it))
    blocks.extend(paragraphs(run, metrics))
    return blocks
