"""Datasette plugin (registered by entry point): Chinese search, report pages and the
archived originals.

- SQL functions `bigram_query(q)` (an FTS5 expression over bigram text, `archive.bigrams`)
  and `search_excerpt(text, q[, width])` (the words around a hit). On the archive database
  `escape_fts` is replaced by `bigram_query` too, so Datasette's own search box on
  `sections` finds Chinese words of any length.
- `/-/original/<capture_id>` serves a capture's archived bytes from its WARC record as an
  untrusted document (`archive.web.original`).
- `/-/report/<report_id>` shows one report as a readable page (`archive.web.report_page`);
  `/-/search?q=` searches every report's text with excerpts (`archive.web.search_page`),
  linked from Datasette's menu.
- `capture_id` cells link to the original; report ids (`report_id` and the like anywhere,
  `id` of `reports` and `current_reports`, the title of a `reports` row) link to the report
  page; `url` cells are plain external links.
"""
from __future__ import annotations

import markupsafe
from datasette import hookimpl

from archive.bigrams import bigram_query, search_excerpt
from archive.web.csv_bom import with_bom
from archive.web.original import DATABASE, original
from archive.web.report_page import report_page
from archive.web.search_page import search_page
from archive.web.uncounted import without_count

CAPTURE_COLUMNS = {"capture_id", "latest_capture_id", "refers_to"}
URL_COLUMNS = {"url", "final_url", "referrer"}
REPORT_COLUMNS = {"report_id", "previous_report_id", "old_report_id", "new_report_id"}
REPORT_TABLES = {"reports", "current_reports"}  # their `id` is the report's


@hookimpl(trylast=True)
def prepare_connection(conn, database):
    conn.create_function("bigram_query", 1, bigram_query, deterministic=True)
    conn.create_function("search_excerpt", -1, search_excerpt, deterministic=True)
    if database == DATABASE:
        # trylast: runs after Datasette's own sql_functions, so this definition wins.
        conn.create_function("escape_fts", 1, bigram_query, deterministic=True)


def _original_path(datasette, capture_id) -> str:
    return datasette.urls.path(f"/-/original/{int(capture_id)}")


def _report_path(datasette, report_id) -> str:
    return datasette.urls.path(f"/-/report/{int(report_id)}")


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    label = None
    if isinstance(value, dict):  # an expanded foreign key: {"value": ..., "label": ...}
        value, label = value.get("value"), value.get("label")
    if isinstance(value, int) and (column in REPORT_COLUMNS
                                   or (column == "id" and table in REPORT_TABLES)):
        link = markupsafe.Markup('<a href="{}">{}</a>').format(_report_path(datasette, value),
                                                              label or value)
        return link + markupsafe.Markup(" <em>{}</em>").format(value) if label else link
    if (table == "reports" and column == "title" and row is not None
            and isinstance(row["id"], int)):  # the table page shows `id` as the row's link
        return markupsafe.Markup('<a href="{}">{}</a>').format(
            _report_path(datasette, row["id"]), value or "（无标题 untitled）")
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
    return [(r"^/-/original/(?P<capture_id>[0-9]+)$", original),
            (r"^/-/report/(?P<report_id>[0-9]+)$", report_page),
            (r"^/-/search$", search_page)]


@hookimpl
def asgi_wrapper(datasette):
    """The `_bom=1` CSV option (archive.web.csv_bom) and the views too big to count
    (archive.web.uncounted, named in metadata.yml under plugins: nianbao: uncounted:)."""
    views = set((datasette.plugin_config("nianbao") or {}).get("uncounted") or ())

    def wrap(app):
        return with_bom(without_count(app, DATABASE, views))
    return wrap


@hookimpl
def menu_links(datasette):
    return [{"href": datasette.urls.path("/-/search"), "label": "全文搜索 Search the reports"}]
