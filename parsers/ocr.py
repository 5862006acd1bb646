"""Scanned reports read by OCR: the pages of a PDF that have no text layer, and images
(PNG, JPEG, TIFF with its pages, ...). Each page is rendered to greyscale at a fixed scale
(the short side of the page about 1654 px, an A4 page at 200 dpi: the size at which the
recogniser reads table digits exactly), read by `ocr_page`, and the pages are put together
by `ocr_blocks` as Document blocks, in page order with any pages that do have text.

The work is bounded by pages, never by time: at most MAX_PAGES pages are OCR'd per file.
`candidates` gives two readings, the ruled-table one and the text-line one (for tables
drawn without lines, read as text_reader reads PDF text), for the caller to try in turn.
"""
from __future__ import annotations

import io

import numpy as np

from . import ocr_blocks, ocr_engine
from .document import Document, Table
from .ocr_page import Page, read_page

MAX_PAGES = 20  # pages OCR'd per file; a report's tables are within its first pages
MIN_CHARS = 12  # fewer characters than this: the page has no real text layer
MAX_CHECKED = 200  # pages checked for a text layer (as many as the PDF reader reads)
SHORT_SIDE = 1654  # px the short side of a page is rendered at (A4 at 200 dpi)
MAX_UPSCALE = 2.0  # a small image is enlarged at most this much
MAX_PIXELS = 16_000_000  # a long strip of a page is rendered smaller than this
LOW_CONFIDENCE = 0.9
OCR_WARNING = ("read by OCR ({pages}): the values were recognised from page images and "
               "should be checked against the original")


class Scan:
    """The OCR'd pages of one file, and what to say about them."""

    def __init__(self, fmt: str, pages: list[Page], warnings: list[str],
                 text_doc: Document | None = None) -> None:
        self.format = fmt
        self.pages = pages
        self.warnings = warnings
        self.text_doc = text_doc  # the reader's Document of a PDF's pages that have text

    def candidates(self) -> list[Document]:
        """The ruled-table reading first, then the text-line reading."""
        from .text_reader import text_to_document

        kept = self.text_doc.blocks if self.text_doc else []
        grids = sorted(kept + ocr_blocks.blocks(self.pages), key=lambda b: b.page or 0)
        lines: dict[int, list[str]] = {page.number: _page_text_lines(page) for page in self.pages}
        for block in kept:
            rows = block.rows if isinstance(block, Table) else [[block.text]]
            lines.setdefault(block.page or 0, []).extend("\t".join(row) for row in rows)
        text = text_to_document("\n".join(ln for n in sorted(lines) for ln in lines[n]))
        return [self._document(grids), self._document(text.blocks, [
            "no ruled tables in the scan: the tables were read from its text lines"])]

    def _document(self, blocks: list, notes: list[str] = ()) -> Document:
        base = self.text_doc or Document(format=self.format)
        return Document(blocks=blocks, format=self.format, title=base.title,
                        published_at=base.published_at,
                        warnings=base.warnings + self.warnings + list(notes))


def _page_text_lines(page: Page) -> list[str]:
    """A page as plain text lines, its ruled tables as tab rows."""
    items = [(ln.y0, [ln.text]) for ln in ocr_blocks.text_lines(page)]
    for pg in page.grids:
        rows: dict[int, list[tuple[int, str]]] = {}
        for cell, text in zip(pg.grid.cells, pg.texts):
            rows.setdefault(cell.r, []).append((cell.c, text))
        items.append((pg.grid.ys[0], ["\t".join(t for _, t in sorted(cells))
                                      for _, cells in sorted(rows.items())]))
    return [line for _, lines in sorted(items, key=lambda it: it[0]) for line in lines]


def pages_without_text(data: bytes) -> tuple[list[int], int] | None:
    """(indices of the PDF's pages without a text layer, page count), or None when pypdfium2
    cannot open it."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception:
        return None
    try:
        out = []
        for i in range(min(len(pdf), MAX_CHECKED)):
            try:
                text = pdf[i].get_textpage().get_text_range()
            except Exception:
                text = ""
            if sum(1 for ch in text if not ch.isspace()) < MIN_CHARS:
                out.append(i)
        return out, len(pdf)
    finally:
        pdf.close()


def scan_pdf(data: bytes, text_doc: Document | None = None) -> Scan | None:
    """OCR the PDF's pages that have no text layer; None when it has none such (or cannot be
    opened). `text_doc` is the reader's Document, whose pages with text are kept."""
    import pypdfium2 as pdfium

    start = data.find(b"%PDF-", 0, 1024)
    data = data[start:] if start > 0 else data
    found = pages_without_text(data)
    if not found or not found[0]:
        return None
    indices, total = found
    warnings = []
    if len(indices) > MAX_PAGES:
        warnings.append(f"OCR: {len(indices)} pages without a text layer, only the first "
                        f"{MAX_PAGES} read")
        indices = indices[:MAX_PAGES]
    pages = []
    pdf = pdfium.PdfDocument(data)
    try:
        for i in indices:
            page = pdf[i]
            width, height = page.get_size()
            gray = page.render(scale=_scale(width, height), grayscale=True).to_numpy()
            pages.append(read_page(_gray(gray), i + 1))
    finally:
        pdf.close()
    keep = text_doc if text_doc is not None and len(indices) < total and text_doc.blocks else None
    warnings.insert(0, OCR_WARNING.format(pages=_pages(indices, total)))
    return Scan("pdf", pages, warnings + _confidence_warnings(pages), keep)


def scan_image(data: bytes) -> Scan:
    """OCR an image file (every page of a multi-page TIFF, up to MAX_PAGES)."""
    from PIL import Image, ImageOps, ImageSequence

    image = Image.open(io.BytesIO(data))
    frames = ImageSequence.Iterator(image) if image.format == "TIFF" else [image]
    pages, warnings, total = [], [], 0
    for number, frame in enumerate(frames, 1):
        total = number
        if number > MAX_PAGES:
            continue
        frame = ImageOps.exif_transpose(frame).convert("L")
        scale = _scale(*frame.size, most=MAX_UPSCALE)
        if abs(scale - 1) > 0.05:
            size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
            frame = frame.resize(size, Image.LANCZOS)
        pages.append(read_page(np.asarray(frame, dtype=np.uint8), number))
    if total > MAX_PAGES:
        warnings.append(f"OCR: the image has {total} pages, only the first {MAX_PAGES} read")
    warnings.insert(0, OCR_WARNING.format(pages=_pages(range(len(pages)), total)))
    return Scan("image", pages, warnings + _confidence_warnings(pages))


def _scale(width: float, height: float, most: float | None = None) -> float:
    """The scale that renders the page's short side at SHORT_SIDE px, within MAX_PIXELS."""
    scale = SHORT_SIDE / max(1.0, min(width, height))
    if most is not None:
        scale = min(scale, most)
    return min(scale, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)


def _gray(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3:
        array = array[:, :, 0]
    return np.ascontiguousarray(array, dtype=np.uint8)


def _pages(indices, total: int) -> str:
    n = len(list(indices))
    if total == 1:
        return "1 page"
    return f"{n} of {total} pages" if n < total else f"{n} pages"


def _confidence_warnings(pages: list[Page]) -> list[str]:
    low = [(page.number, text) for page in pages for pg in page.grids
           for text, score in zip(pg.texts, pg.scores) if text and score < LOW_CONFIDENCE]
    if not low:
        return []
    where = sorted({n for n, _ in low})
    return [f"OCR: {len(low)} table cell(s) read with low confidence on page(s) "
            f"{', '.join(map(str, where))}: {', '.join(repr(t) for _, t in low[:5])}"]


def available() -> bool:
    return ocr_engine.available()

