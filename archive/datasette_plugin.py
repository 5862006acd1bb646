"""Datasette plugin (registered by entry point): Chinese search and the archived originals.

- SQL functions `bigram_query(q)` (an FTS5 expression over bigram text, `archive.bigrams`)
  and `search_excerpt(text, q[, width])` (the words around a hit). On the archive database
  `escape_fts` is replaced by `bigram_query` too, so Datasette's own search box on
  `sections` finds Chinese words of any length.
- `/-/original/<capture_id>` serves a capture's archived bytes from its WARC record as an
  untrusted document (`archive.web.original`).
- `capture_id` cells link to the original; `url` cells are plain external links.
"""
from __future__ import annotations

import markupsafe
from datasette import hookimpl

from archive.bigrams import bigram_query, search_excerpt
from archive.web.original import DATABASE, original

CAPTURE_COLUMNS = {"capture_id", "latest_capture_id", "refers_to"}
URL_COLUMNS = {"url", "final_url", "referrer"}


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


@hookimpl
def register_routes():
    return [(r"^/-/original/(?P<capture_id>[0-9]+)$", original)]
