"""Datasette plugin (registered by entry point): Chinese search and the archived originals.

- SQL functions `bigram_query(q)` (an FTS5 expression over bigram text, `archive.bigrams`)
  and `search_excerpt(text, q[, width])` (the words around a hit). On the archive database
  `escape_fts` is replaced by `bigram_query` too, so Datasette's own search box on
  `sections` finds Chinese words of any length.
- `/-/original/<capture_id>` serves a capture's archived bytes from its WARC record as an
  untrusted document: `Content-Security-Policy: sandbox` (no scripts, opaque origin), nosniff.
- `capture_id` cells link to the original; `url` cells are plain external links.
"""
from __future__ import annotations

import asyncio
import mimetypes
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

import markupsafe
from datasette import Response, hookimpl

from archive.bigrams import bigram_query, search_excerpt

DATABASE = "archive"  # the served file is always <data dir>/archive.db
CAPTURE_COLUMNS = {"capture_id", "latest_capture_id", "refers_to"}
URL_COLUMNS = {"url", "final_url", "referrer"}
_SAFE_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=\"?[\w.+-]+\"?)*$")


@hookimpl(trylast=True)
def prepare_connection(conn, database):
    conn.create_function("bigram_query", 1, bigram_query, deterministic=True)
    conn.create_function("search_excerpt", -1, search_excerpt, deterministic=True)
    if database == DATABASE:
        # trylast: runs after Datasette's own sql_functions, so this definition wins.
        conn.create_function("escape_fts", 1, bigram_query, deterministic=True)


def _original_path(datasette, capture_id) -> str:
    return datasette.urls.path(f"/-/original/{int(capture_id)}")


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    label = None
    if isinstance(value, dict):  # an expanded foreign key: {"value": ..., "label": ...}
        value, label = value.get("value"), value.get("label")
    if column in CAPTURE_COLUMNS and isinstance(value, int):
        return markupsafe.Markup('<a href="{}" title="{}">{}</a> · <a href="{}">原件 original</a>'
                                 ).format(datasette.urls.row(database, "captures", str(value)),
                                          label or "", value, _original_path(datasette, value))
    if column in URL_COLUMNS and isinstance(value, str) and value.startswith(("http://", "https://")):
        link = markupsafe.Markup('<a href="{}" rel="noopener noreferrer nofollow">{}</a>'
                                 ).format(value, value)
        if table == "captures" and column == "url" and row is not None:
            link += markupsafe.Markup(' · <a href="{}">原件 original</a>').format(
                _original_path(datasette, row["id"]))
        return link
    return None


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


@hookimpl
def register_routes():
    return [(r"^/-/original/(?P<capture_id>[0-9]+)$", original)]
