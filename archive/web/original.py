"""`/-/original/<capture_id>`: a capture's archived bytes, served from its WARC record as an
untrusted document (`Content-Security-Policy: sandbox`: no scripts, an opaque origin; nosniff)."""
from __future__ import annotations

import asyncio
import mimetypes
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from datasette import Response

DATABASE = "archive"  # the served file is always <data dir>/archive.db
_SAFE_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=\"?[\w.+-]+\"?)*$")


def _data_dir(datasette) -> Path | None:
    try:
        db = datasette.get_database(DATABASE)
    except KeyError:
        return None
    return Path(db.path).parent if db.path else None


def _filename(url: str | None, capture_id: int, content_type: str) -> str:
    name = PurePosixPath(unquote(urlsplit(url or "").path)).name
    if not name or name in (".", ".."):
        name = f"capture-{capture_id}"
    if "." not in name:
        name += mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    return name


def _content_disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "original"
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


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
    content_type = (capture.content_type or "").strip()
    if not _SAFE_TYPE.match(content_type):
        content_type = "application/octet-stream"
    return Response(
        capture.body,
        status=200,
        content_type=content_type,
        headers={
            # An opaque-origin sandbox: archived pages never run scripts or read Datasette's
            # cookies, whatever they contain.
            "Content-Security-Policy": "sandbox",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Disposition": _content_disposition(
                _filename(capture.url, capture_id, content_type)),
            "X-Archive-Url": quote(capture.url or "", safe=":/?&=%#@+,;~"),
            "X-Archive-Status": str(capture.status),
        },
    )
