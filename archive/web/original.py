"""`/-/original/<capture_id>`: a capture's archived bytes, served from its WARC record as an
untrusted document.

Every original carries `Content-Security-Policy: sandbox` (no scripts, no plugins, an opaque
origin that cannot read Datasette's cookies), `nosniff` and `no-referrer`, whatever its type.

The type is the bytes' (`parsers.sniff`), not only what the portal declared: a PDF sent as
`application/octet-stream` is served as `application/pdf`, inline, so the browser shows it.
A document format found in the bytes (PDF, Word, WPS, Excel, zip, an image) always wins; a
text declared as a text type (HTML, XML, SVG, plain text) keeps its declared type and charset;
a text declared as anything else is served as the HTML or plain text the bytes are (under
the same sandbox). The file name is the one the portal gave (Content-Disposition), else the
URL's, with the extension of the type served. `X-Archive-Content-Type` says what the portal
declared.
"""
from __future__ import annotations

import asyncio
import mimetypes
import re
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from datasette import Response

from parsers.sniff import sniff_format

DATABASE = "archive"  # the served file is always <data dir>/archive.db
_SAFE_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=\"?[\w.+-]+\"?)*$")
_OCTET = "application/octet-stream"

# sniffed format -> (MIME type, extension given to a file name that has none of `_EXTS`)
FORMAT_TYPES = {
    "pdf": ("application/pdf", ".pdf"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "doc": ("application/msword", ".doc"),
    "wps": ("application/vnd.ms-works", ".wps"),
    "xls": ("application/vnd.ms-excel", ".xls"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "zip": ("application/zip", ".zip"),
    "html": ("text/html", ".html"),
    "txt": ("text/plain", ".txt"),
}
_EXTS = {
    "application/pdf": {".pdf"},
    "application/msword": {".doc", ".dot"},
    "application/rtf": {".rtf", ".doc"},
    "application/vnd.ms-works": {".wps"},
    "application/vnd.ms-excel": {".xls", ".et"},
    "text/html": {".htm", ".html", ".shtml", ".xhtml", ".jsp", ".asp", ".aspx", ".php"},
    "text/plain": {".txt", ".text", ".md", ".csv"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/tiff": {".tif", ".tiff"},
}
_IMAGES = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
           (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"), (b"BM", "image/bmp"),
           (b"RIFF", "image/webp"))
_TEXT_TYPES = {"application/xml", "application/xhtml+xml", "application/json",
               "application/javascript", "image/svg+xml"}
_EXT = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _data_dir(datasette) -> Path | None:
    try:
        db = datasette.get_database(DATABASE)
    except KeyError:
        return None
    return Path(db.path).parent if db.path else None


def _mime(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _is_text_type(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+xml", "+json"))


def _charset(body: bytes) -> str | None:
    """utf-8 when the bytes are UTF-8 (a character cut at the end allowed), gb18030 when they
    read as that, else None."""
    head = body[:1 << 16]
    for enc in ("utf-8", "gb18030"):
        try:
            head.decode(enc)
            return enc
        except UnicodeDecodeError as e:
            if e.start > len(head) - 4 and len(head) < len(body):
                return enc
    return None


def served_type(body: bytes, declared: str | None, name: str | None = None) -> str:
    """The Content-Type to serve `body` with, given the type the portal declared.

    :param body: the archived payload
    :param declared: the capture's Content-Type as the portal sent it (may be None)
    :param name: a file name or URL path, for sniffing's ties only
    """
    declared = (declared or "").strip()
    if not _SAFE_TYPE.match(declared) or _mime(declared).startswith("multipart/"):
        declared = ""  # (multipart/x-mixed-replace would replay as a stream of documents)
    fmt = sniff_format(body, name)
    if fmt == "image":
        return next((t for magic, t in _IMAGES if body.startswith(magic)), _OCTET)
    if fmt == "doc" and body.startswith(b"{\\rtf"):
        return "application/rtf"
    if fmt in FORMAT_TYPES and fmt not in ("html", "txt"):
        return FORMAT_TYPES[fmt][0]
    if declared and _is_text_type(_mime(declared)):
        return declared  # HTML, XML, SVG, text as declared (sandboxed like everything else)
    if fmt in ("html", "txt"):
        charset = _charset(body)
        return FORMAT_TYPES[fmt][0] + (f"; charset={charset}" if charset else "")
    return declared or _OCTET


def _fix_mojibake(name: str) -> str:
    """A name whose UTF-8 or GBK bytes were read as Latin-1 (as HTTP headers are)."""
    if not any(128 <= ord(c) < 256 for c in name) or any(ord(c) > 255 for c in name):
        return name
    raw = name.encode("latin-1")
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            pass
    return name


def disposition_filename(value: str | None) -> str | None:
    """The file name in a Content-Disposition header value (filename* first), decoded."""
    if not value:
        return None
    star = re.search(r"filename\*\s*=\s*([\w.-]+)'[^']*'([^;\s]+)", value, re.I)
    if star:
        try:
            return _fix_mojibake(unquote(star.group(2).strip('"'), encoding=star.group(1),
                                         errors="strict"))
        except (LookupError, UnicodeDecodeError):
            pass
    plain = re.search(r"""filename\s*=\s*(?:"([^"]*)"|([^;]+))""", value, re.I)
    if not plain:
        return None
    name = (plain.group(1) if plain.group(1) is not None else plain.group(2)).strip()
    if re.search(r"%[0-9A-Fa-f]{2}", name):  # portals often %-encode the name here
        for enc in ("utf-8", "gb18030"):
            try:
                name = unquote(name, encoding=enc, errors="strict")
                break
            except UnicodeDecodeError:
                pass
    return _fix_mojibake(name)


def _url_filename(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    for key, value in parse_qsl(parts.query):
        if key.lower() in ("filename", "file", "name", "fname") and _EXT.search(value):
            return value  # downfile.jsp?filename=abc.pdf
    name = PurePosixPath(unquote(parts.path)).name
    return name if name not in ("", ".", "..") else None


def _clean(name: str) -> str:
    name = re.split(r"[/\\]", name)[-1]
    name = re.sub(r'[\x00-\x1f\x7f"]', "", name).strip(" .")
    return name[:150]


def filename(url: str | None, capture_id: int, content_type: str,
             disposition: str | None = None) -> str:
    """The original's file name: the portal's (Content-Disposition), else the URL's, else
    `capture-<id>`; its extension made to fit the type served (`x.jsp` served as a PDF is
    `x.pdf`)."""
    name = _clean(disposition_filename(disposition) or "") or _clean(_url_filename(url) or "")
    name = name or f"capture-{capture_id}"
    mime = _mime(content_type)
    fitting = set(_EXTS.get(mime, ())) | set(mimetypes.guess_all_extensions(mime))
    ext = _EXT.search(name)
    if mime == _OCTET or not fitting or (ext and ext.group(0).lower() in fitting):
        return name
    preferred = next((e for t, e in FORMAT_TYPES.values() if t == mime), None) \
        or mimetypes.guess_extension(mime) or sorted(fitting)[0]
    return (name[:ext.start()] if ext else name) + preferred


def _content_disposition(name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "original"
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _header(headers, name: str) -> str | None:
    name = name.lower()
    return next((v for n, v in headers or () if n.lower() == name), None)


async def original(request, datasette):
    from archive.reader import read_capture  # imported late: only this route needs warcio

    data_dir = _data_dir(datasette)
    capture_id = int(request.url_vars["capture_id"])
    if data_dir is None:
        return Response.text("no archive database is served", status=404)
    db = datasette.get_database(DATABASE)
    found = await db.execute("SELECT id FROM captures WHERE id = ?", [capture_id])
    if not found.rows:
        return Response.text(f"capture {capture_id} is not in the archive", status=404)
    try:
        capture = await asyncio.to_thread(read_capture, data_dir, capture_id)
    except Exception as e:  # missing or damaged WARC record: say so, never a traceback
        return Response.text(f"capture {capture_id} could not be read: {e}", status=502)
    declared = (capture.content_type or "").strip()
    disposition = _header(capture.headers, "Content-Disposition")
    url_name = _url_filename(capture.url)
    content_type = await asyncio.to_thread(
        served_type, capture.body, declared, disposition_filename(disposition) or url_name)
    return Response(
        capture.body,
        status=200,
        content_type=content_type,
        headers={
            # An opaque-origin sandbox on every original, whatever its type: archived pages
            # (and SVG, XML) never run scripts or read Datasette's cookies.
            "Content-Security-Policy": "sandbox",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Disposition": _content_disposition(
                filename(capture.url, capture_id, content_type, disposition)),
            "X-Archive-Url": quote(capture.url or "", safe=":/?&=%#@+,;~"),
            "X-Archive-Status": str(capture.status),
        } | ({"X-Archive-Content-Type": declared} if _SAFE_TYPE.match(declared) else {}),
    )
