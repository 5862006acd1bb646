"""`/-/report/<report_id>`: one parsed report as a readable page, in Datasette's layout.

What it shows: the report's title, office, region and code, year, national form and
publication date; tables 二, 三 and 四 as the form prints them (`archive.web.report_form`:
blank cells blank, never 0); the checks that fail and the parser's warnings; the text of each
section; the same office's other years; and the archived original with its provenance (URL,
fetch time, sha256, WARC file, offset and record id, the changed/gone events of its
document). Every lookup goes by primary key or index, so the page costs the same on a
national archive as on a test one. An unknown id is Datasette's 404 page.
"""
from __future__ import annotations

import json
import sqlite3

from datasette.utils.asgi import NotFound, Response

from archive.web.original import DATABASE
from archive.web.report_form import active_table, applications_table, review_table
from parsers.model import SECTION_KEYS

SECTION_TITLES = dict(zip(SECTION_KEYS, (
    "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项")))
TEMPLATES = {"2019": "2019 年版（国办公开办函〔2019〕60号）",
             "2021": "2021 年版（国办公开办函〔2021〕30号）"}
REPORT_COLUMNS = ("id, capture_id, document_id, parser_version, parsed_at, status, error, url, "
                  "title, agency, year, template, published_at, province, city, county, "
                  "township, adcode, format, sha256, checks_failed, warnings")
CAPTURE_COLUMNS = ("id, run_id, portal, url, final_url, status, fetched_at, payload_sha256, "
                   "payload_size, content_type, record_type, refers_to, warc_file, warc_offset, "
                   "warc_length, warc_record_id, rendered, challenge")


def _rows(conn: sqlite3.Connection, sql: str, params=()) -> list[dict]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _one(conn: sqlite3.Connection, sql: str, params=()) -> dict | None:
    rows = _rows(conn, sql, params)
    return rows[0] if rows else None


def _other_years(conn: sqlite3.Connection, report: dict, portal: str | None) -> list[dict]:
    """The office's other reports (same portal and office name), one per document's newest
    copy, by year: `report_totals`' (is_latest, portal, agency, year) index."""
    if not report["agency"]:
        return []
    return _rows(conn, (
        "SELECT t.report_id AS id, t.year, r.title, r.published_at, t.checks_failed, t.status "
        "FROM report_totals t JOIN reports r ON r.id = t.report_id "
        "WHERE t.is_latest = 1 AND t.portal IS ? AND t.agency = ? AND t.report_id != ? "
        "ORDER BY t.year DESC, t.report_id DESC LIMIT 100"),
        (portal, report["agency"], report["id"]))


def load_report(conn: sqlite3.Connection, report_id: int) -> dict | None:
    """Everything the page shows, or None when there is no such report."""
    report = _one(conn, f"SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?", (report_id,))
    if report is None:
        return None
    report["warnings"] = json.loads(report["warnings"] or "[]")
    by_report = (report_id,)
    capture = _one(conn, f"SELECT {CAPTURE_COLUMNS} FROM captures WHERE id = ?",
                   (report["capture_id"],))
    payload = None  # a revisit's or an unchanged capture's payload is in another record
    if capture and capture["refers_to"]:
        payload = _one(conn, f"SELECT {CAPTURE_COLUMNS} FROM captures WHERE id = ?",
                       (capture["refers_to"],))
    document = events = None
    if report["document_id"] is not None:
        document = _one(conn, "SELECT id, portal, url, title, kind, first_run_id, last_run_id, "
                              "latest_capture_id FROM documents WHERE id = ?",
                        (report["document_id"],))
        events = _rows(conn, "SELECT id, event, old_capture_id, new_capture_id, run_id, detail, "
                             "detected_at FROM document_events WHERE document_id = ? "
                             "ORDER BY detected_at, id", (report["document_id"],))
    sections = {r["section"]: r["text"] for r in _rows(
        conn, "SELECT section, text FROM sections WHERE report_id = ? ORDER BY rowid", by_report)}
    ordered = [k for k in SECTION_KEYS if k in sections] + \
        [k for k in sections if k not in SECTION_KEYS]
    versions = _rows(conn, (
        "SELECT r.id, r.capture_id, r.parser_version, r.parsed_at, r.status, c.fetched_at "
        "FROM reports r LEFT JOIN captures c ON c.id = r.capture_id "
        "WHERE (r.capture_id = ? OR r.document_id = ?) AND r.id != ? "
        "ORDER BY c.fetched_at DESC, r.parsed_at DESC LIMIT 50"),
        (report["capture_id"], report["document_id"], report_id))
    portal = (capture or {}).get("portal")
    return {
        "report": report,
        "template_label": TEMPLATES.get(report["template"] or "", report["template"]),
        "capture": capture,
        "payload": payload,
        "document": document,
        "events": events or [],
        "active": active_table(_rows(conn, "SELECT category, measure, value, unit FROM "
                                           "active_disclosure WHERE report_id = ?", by_report),
                               report["template"]),
        "applications": applications_table(_rows(
            conn, 'SELECT row, "column", value FROM applications WHERE report_id = ?',
            by_report), report["template"]),
        "review": review_table(_rows(conn, "SELECT review_group, measure, value FROM "
                                           "review_litigation WHERE report_id = ?", by_report)),
        "failed_checks": _rows(conn, "SELECT rule, detail FROM checks WHERE report_id = ? "
                                     "AND ok = 0 ORDER BY rule", by_report),
        "checks_total": conn.execute("SELECT count(*) FROM checks WHERE report_id = ?",
                                     by_report).fetchone()[0],
        "sections": [{"key": k, "title": SECTION_TITLES.get(k, k), "text": sections[k]}
                     for k in ordered],
        "other_years": _other_years(conn, report, portal),
        "versions": versions,
    }


async def report_page(request, datasette):
    report_id = int(request.url_vars["report_id"])
    try:
        db = datasette.get_database(DATABASE)
    except KeyError:
        raise NotFound("no archive database is served")
    context = await db.execute_fn(lambda conn: load_report(conn, report_id))
    if context is None:
        raise NotFound(f"report {report_id} is not in the archive")
    context["database"] = DATABASE
    html = await datasette.render_template("report.html", context, request=request)
    return Response.html(html)
