"""Damaged PDFs made readable: a file cut short by a failed download or a crash loses its
cross-reference table and trailer (WPS writes them as a stream at the very end), and then
neither pdfminer nor PDFium can find a single page, although every page before the cut is
intact.

qpdf (through pikepdf) rebuilds the cross-references by scanning the objects that are
there, finds the catalog and the page tree, and writes a well-formed file holding the pages
it could recover; that is a job qpdf does far better than anything written here.
"""
from __future__ import annotations

import io
import logging


def repair_pdf(data: bytes) -> tuple[bytes, int] | None:
    """(repaired bytes, number of pages recovered), or None when nothing can be recovered."""
    import pikepdf

    # qpdf reports each problem it works around as a warning: the caller says once that the
    # file was repaired
    logging.getLogger("pikepdf").setLevel(logging.ERROR)
    try:
        with pikepdf.open(io.BytesIO(data), attempt_recovery=True) as pdf:
            pages = len(pdf.pages)
            if not pages:
                return None
            out = io.BytesIO()
            pdf.save(out)
    except Exception:  # qpdf could not make sense of it either: the caller keeps its warning
        return None
    return out.getvalue(), pages
