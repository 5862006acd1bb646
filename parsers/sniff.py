"""Tell a file's format from its bytes: html, pdf, docx, doc, wps, xls, xlsx, txt, image, zip
or unknown. Portals serve PDFs as application/octet-stream and HTML as .htm/.shtml/.jsp, so
the bytes decide; the file name only breaks ties (a Word-binary OLE file named .wps is wps,
a text with one stray tag named .html is html)."""
from __future__ import annotations

import io
import re
import zipfile

import olefile

_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a",
    b"II*\x00", b"MM\x00*",
)
_STRONG_TAGS = re.compile(
    r"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|meta\s|title>|table[\s>]|div[\s>]|"
    r"script[\s>]|style[\s>]|link\s|iframe[\s>]|frameset[\s>])"
)
_WEAK_TAGS = re.compile(r"<(p|br|span|a|tr|td|font|center|strong|b|h[1-6])[\s>/]")
_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$", re.M)
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffd]")  # not text: controls, replacement chars
_HTML_NAMES = (".htm", ".html", ".shtml", ".jsp", ".asp", ".aspx", ".php", ".xhtml")


def sniff_format(data: bytes, filename: str | None = None) -> str:
    """The format of `data`, one of html, pdf, docx, doc, wps, xls, xlsx, txt, image, zip,
    unknown. `filename` (or a URL path) is only consulted where the bytes leave a tie."""
    name = (filename or "").lower().split("?")[0]
    if not data:
        return "unknown"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _sniff_zip(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _sniff_ole(data, name)
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    if data.startswith(b"BM") and len(data) > 26 and data[6:10] == b"\x00\x00\x00\x00":
        return "image"
    if b"%PDF-" in data[:1024]:  # a PDF behind a few bytes of junk (a BOM, blank lines)
        return "pdf"
    if data.startswith(b"{\\rtf"):
        return "doc"  # Word saves RTF under .doc; LibreOffice reads it like one
    text = _decode(data[:65536])
    if text is None:
        return "unknown"
    return _sniff_text(text, name)


def _sniff_zip(data: bytes) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        # truncated archive: the local file headers still carry the member names
        blob = data[: 1 << 20]
        if b"word/document.xml" in blob:
            return "docx"
        if b"xl/workbook.xml" in blob:
            return "xlsx"
        return "zip"
    if "word/document.xml" in names or any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    return "zip"


def _sniff_ole(data: bytes, name: str) -> str:
    try:
        ole = olefile.OleFileIO(data)
        streams = {"/".join(p).lower() for p in ole.listdir(streams=True, storages=True)}
        ole.close()
    except Exception:  # damaged compound file: fall back to scanning the directory names
        blob = data.replace(b"\x00", b"").lower()
        streams = {s.decode() for s in (b"worddocument", b"workbook", b"book", b"contents")
                   if s in blob}
    if {"workbook", "book"} & streams:
        return "xls"
    if "worddocument" in streams:
        return "wps" if name.endswith(".wps") else "doc"
    if "contents" in streams or any("wps" in s for s in streams):
        return "wps"  # Microsoft Works / Kingsoft WPS without a Word stream
    if name.endswith((".doc", ".wps", ".xls")):
        return name.rsplit(".", 1)[1]
    return "unknown"


def _decode(chunk: bytes) -> str | None:
    """Decode tolerantly (BOMs, UTF-8, GB18030); None when it is not mostly text."""
    if chunk.startswith(b"\xef\xbb\xbf"):
        text = chunk[3:].decode("utf-8", "replace")
    elif chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = chunk.decode("utf-16", "replace")
    else:
        text = None
        for enc in ("utf-8", "gb18030"):
            try:
                text = chunk.decode(enc)
                break
            except UnicodeDecodeError as e:
                if e.start > len(chunk) - 4:  # a character cut at the chunk's end
                    text = chunk[: e.start].decode(enc)
                    break
        if text is None:
            text = chunk.decode("utf-8", "replace")
    if not text:
        return None
    bad = len(_CONTROL.findall(text))
    return text if bad / len(text) < 0.02 else None


def _sniff_text(text: str, name: str) -> str:
    low = text[:8192].lower()
    if _STRONG_TAGS.search(low):
        return "html"
    if low.lstrip().startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in low:
        return "xls"  # Excel 2003 XML spreadsheet
    tags = _WEAK_TAGS.findall(low)
    if _PIPE_ROW.search(low) and all(t == "br" for t in tags):
        return "txt"  # Markdown from a PDF-to-Markdown tool: <br> is its line break in a cell
    weak = len(tags)
    if weak >= 3 or (weak and name.endswith(_HTML_NAMES)):
        return "html"
    return "txt"
