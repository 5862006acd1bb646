"""Read a PDF into a Document: paragraphs in reading order with page numbers, tables as
span-expanded grids placed between them (pdf_tables), tables joined across page breaks,
page-border boxes turned back into text, glyphs without a Unicode map decoded by pypdfium2
or reported, a file cut short rebuilt by qpdf (pdf_repair), and scanned, encrypted or broken
files reported in warnings, never raised.

pdfplumber opens the file (its errors name what is wrong, its Info dict gives the title) and
supplies the text-line and table algorithms; the pages' characters and ruling lines come from
pypdfium2 (pdf_pages), which parses page content many times faster than pdfminer. Large
files are capped in pages and characters, so the result depends on the bytes alone."""
from __future__ import annotations

import io
import logging
import re

import pdfplumber
import pypdfium2 as pdfium
from pdfplumber.table import TableFinder, TableSettings, merge_edges
from pdfplumber.utils import chars_to_textmap, filter_edges

from .document import Document, Paragraph, Table
from .pdf_layout import Line, Metrics, is_page_number, line_from_pdfplumber, paragraphs
from .pdf_pages import MAX_OBJECTS, MAX_SEGMENTS, PageContent, TooManyChars, read_page
from .pdf_repair import repair_pdf
from .pdf_tables import CharIndex, Grid, grid_from_pdfplumber, is_layout_box, join_grids, to_table
from .reader_text import decode_pdf_string, sensible_title

MAX_PAGES = 200
MAX_CHARS = 400_000  # characters read from one file; the pages after are skipped
MAX_PAGE_CHARS = 40_000  # a page with more is not a report page (a dense A4 page has ~5,000)
MAX_EDGES = 4000  # a page drawn with more rules than this is not searched for tables
# nor one whose merged ruling lines cross in more places than this (pdfplumber's cell search
# takes time growing with the square of the crossings: 200 take 6 ms; a report's largest
# table has under 1,000)
MAX_CROSSINGS = 6000
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
        pdf, content = _open(data)
    except Exception as e:  # pdfminer raises many types for encrypted or damaged files
        reason = _describe(e, data)
        repaired = None if reason.startswith("encrypted") else repair_pdf(data)
        if repaired is None:
            doc.warnings.append(f"pdf: cannot open ({reason})")
            return doc
        data, count = repaired
        doc.warnings.append(f"pdf: {reason}; repaired with qpdf, {count} pages recovered")
        try:
            pdf, content = _open(data)
        except Exception as e:
            doc.warnings.append(f"pdf: cannot open the repaired file ({_describe(e)})")
            return doc
    try:
        doc.title = _title(pdf)
        _read_pages(content, pdf.pages, doc)
    finally:
        content.close()
        pdf.close()
    return doc


def _open(data: bytes):
    """(pdfplumber's PDF with its pages listed, pypdfium2's document)."""
    pdf = pdfplumber.open(io.BytesIO(data))
    try:
        pdf.pages
        return pdf, pdfium.PdfDocument(data)
    except Exception:
        pdf.close()
        raise


def _describe(e: Exception, data: bytes = b"") -> str:
    """A short reason; pdfplumber wraps pdfminer's exception in its first argument."""
    inner = e.args[0] if e.args and isinstance(e.args[0], Exception) else e
    name = type(inner).__name__
    if "Password" in name or "Encrypt" in name or "password" in str(inner):
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


def _read_pages(content_doc, pages, doc: Document) -> None:
    if len(pages) > MAX_PAGES:
        doc.warnings.append(f"pdf: {len(pages)} pages, only the first {MAX_PAGES} read")
    items: list[Line | Grid] = []
    text_pages = image_pages = 0
    chars_left = MAX_CHARS
    for index, page in enumerate(pages[:MAX_PAGES]):
        number = index + 1
        try:
            if index >= len(content_doc):
                raise IndexError("page missing from the page tree pypdfium2 read")
            content = read_page(content_doc, index, page, max_chars=min(MAX_PAGE_CHARS, chars_left))
        except TooManyChars as e:
            if chars_left < MAX_PAGE_CHARS:
                doc.warnings.append(f"pdf: stopped after {index} pages (more than {MAX_CHARS} "
                                    f"characters)")
                break
            doc.warnings.append(f"pdf: page {number} has {e.args[0]} characters, more than "
                                f"{MAX_PAGE_CHARS}; page skipped")
            continue
        except Exception as e:
            doc.warnings.append(f"pdf: page {number} unreadable ({_describe(e)})")
            continue
        chars_left -= content.counted
        page_items, nchars = _read_page(content, number, doc)
        # a scan may carry a stamped page number: too few characters to be a text layer
        scanned = nchars < MIN_CHARS and content.images > 0
        image_pages += scanned
        text_pages += bool(nchars) and not scanned
        _append_page(items, page_items, content.height)
    if not text_pages:
        what = "scanned/image-only PDF" if image_pages else "PDF without text"
        doc.warnings.append(f"pdf: no text layer ({what}); nothing to read without OCR")
    elif image_pages:
        doc.warnings.append(f"pdf: {image_pages} page(s) are images without a text layer")
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


class _Edges:
    """What pdfplumber's TableFinder reads of a page with its default 'lines' strategy."""

    def __init__(self, edges: list[dict]) -> None:
        self.edges = edges


_SETTINGS = TableSettings.resolve(None)


def _crossings(edges: list[dict]) -> int:
    """An upper bound of the crossings TableFinder will look at: horizontal times vertical
    lines after its snapping and joining."""
    s = _SETTINGS
    merged = merge_edges(filter_edges(edges, "v", min_length=s.edge_min_length_prefilter)
                         + filter_edges(edges, "h", min_length=s.edge_min_length_prefilter),
                         snap_x_tolerance=s.snap_x_tolerance, snap_y_tolerance=s.snap_y_tolerance,
                         join_x_tolerance=s.join_x_tolerance, join_y_tolerance=s.join_y_tolerance)
    merged = filter_edges(merged, min_length=s.edge_min_length)
    horizontal = sum(1 for e in merged if e["orientation"] == "h")
    return horizontal * (len(merged) - horizontal)


def _read_page(content: PageContent, number: int, doc: Document):
    chars = content.chars
    if not chars:
        return [], 0
    cid = content.unmapped
    if cid > 0.02 * len(chars):
        decoded = [dict(c, text=chr(c["cid"])) if "cid" in c else c for c in chars]
        if not _readable("".join(c["text"] for c in decoded)):
            doc.warnings.append(f"pdf: page {number} text is unreadable (cid glyphs without a "
                                f"Unicode map, {cid} of {len(chars)}); page skipped")
            return [], len(chars)
        doc.warnings.append(f"pdf: page {number} read as pypdfium2 decodes its glyphs ({cid} of "
                            f"{len(chars)} have no Unicode map)")
        chars = decoded
    grids, boxes = [], []
    if content.truncated:
        doc.warnings.append(f"pdf: page {number} has more than {MAX_OBJECTS} objects or "
                            f"{MAX_SEGMENTS} path points; tables not searched")
    elif content.rules > MAX_EDGES:
        doc.warnings.append(f"pdf: page {number} has more than {MAX_EDGES} drawn rules; tables "
                            f"not searched")
    elif content.edges and _crossings(content.edges) > MAX_CROSSINGS:
        doc.warnings.append(f"pdf: page {number} has ruling lines crossing in more than "
                            f"{MAX_CROSSINGS} places; tables not searched")
    elif content.edges:
        index = CharIndex(chars)
        for table in TableFinder(_Edges(content.edges)).tables:
            grid = grid_from_pdfplumber(table, number, index)
            if grid is None or is_layout_box(grid):
                continue
            grids.append(grid)
            boxes.append(table.bbox)
    if any(_CID.search(c.text) for g in grids for c in g.cells):
        doc.warnings.append(f"pdf: page {number} table cells with cid glyphs left blank")
        for g in grids:
            for c in g.cells:
                c.text = "" if _CID.search(c.text) else c.text
    if boxes:
        chars = index.outside(boxes)
    lines = []
    if chars:
        for raw in chars_to_textmap(chars).extract_text_lines(strip=True, return_chars=True):
            line = line_from_pdfplumber(raw, number)
            line.text = _CID.sub("", line.text).strip()
            if line.text and not is_page_number(line, content.height):
                lines.append(line)
    page_items = sorted(lines + grids, key=lambda it: it.top)
    return page_items, len(content.chars)


def _readable(text: str) -> bool:
    """Text worth keeping: not blank, and not private-use, replacement or control characters
    (what an unmapped glyph decodes to when its font's own encoding is no help either)."""
    good = sum(1 for ch in text if ch.isspace() or ch.isprintable() and not _odd(ch))
    return bool(text.strip()) and good >= 0.9 * len(text)


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
