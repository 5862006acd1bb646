"""Store parsed reports in the catalog: `reports`, its long tables and `parse_changes`.

One `reports` row per (capture, parser version): storing again replaces the row (keeping its
id) and its long rows (`applications`, `active_disclosure`, `review_litigation`, `checks`,
`sections`), all in one transaction, so a process killed at any moment leaves either the old
report with all its rows or the new one with all its rows. The same transaction rewrites the
`report_totals` rows of the capture's and the document's reports (`archive.views`).

Each store compares the new report's values (`compared_values`: the flat paths of
REPORT_MODEL.md plus the region's fields) with the capture's most recent earlier result, of
any parser version, and records every changed, added or removed path in `parse_changes`: what
a parser fix changed. Re-parsing with the same version compares with that version's own
earlier result, so a parser whose output depends on anything but the bytes shows up there.

A failure (an exception, a timeout) has no values: it is stored as a `failed` row with its
reason and records no changes, and a later success is compared with the capture's last
parsed result, never with a failure while there is one: a timeout retried after a parser fix
lists what the fix changed, not every value removed and added again. A file that only ever
failed and now parses under a new version lists its values as added; a retry of this
version's own failure lists nothing.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

from archive.search_index import index_sections
from archive.views import refresh_report_totals
from parsers.model import flatten, has_table_values

LONG_TABLES = ("applications", "active_disclosure", "review_litigation", "checks", "sections")
REGION_KEYS = ("province", "city", "county", "township", "adcode")


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def report_status(report: dict) -> str:
    """ok, warnings, or empty (no table found at all)."""
    if not has_table_values(report):
        return "empty"
    return "warnings" if report.get("warnings") else "ok"


def compared_values(report: dict) -> dict:
    """The values `parse_changes` compares: `parsers.model.flatten` (year, template, agency
    and the three tables' cells) plus `region.<province|city|county|township|adcode>`."""
    flat = flatten(report)
    region = report.get("region") or {}
    for key in REGION_KEYS:
        flat[f"region.{key}"] = region.get(key)
    return flat


def _previous(conn: sqlite3.Connection, capture_id: int, parser_version: str) -> tuple | None:
    """(id, parser_version, report_json) of the result a new one is compared with.

    The capture's most recently stored report that is not a failure; failing that, its most
    recent failure under another parser version (no values: a fix that makes a failing file
    parse lists what it gained); else None (nothing to compare with: a first parse, or a
    retry of this version's own failure, such as a timeout).
    """
    return conn.execute(
        "SELECT id, parser_version, report_json FROM reports WHERE capture_id = ? "
        "AND (status != 'failed' OR parser_version != ?) "
        "ORDER BY status = 'failed', parsed_at DESC, id DESC LIMIT 1",
        (capture_id, parser_version)).fetchone()


def _delete(conn: sqlite3.Connection, capture_id: int, parser_version: str) -> int | None:
    """Remove the (capture, version) report and its long rows; return its id to reuse."""
    row = conn.execute("SELECT id FROM reports WHERE capture_id = ? AND parser_version = ?",
                       (capture_id, parser_version)).fetchone()
    if row is None:
        return None
    for table in LONG_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE report_id = ?", (row[0],))
    conn.execute("DELETE FROM reports WHERE id = ?", (row[0],))
    return row[0]


def _insert_report(conn, report_id, capture_id, document_id, parser_version, status,
                   error, report: dict | None) -> int:
    r = report or {}
    region = r.get("region") or {}
    source = r.get("source") or {}
    checks = r.get("checks") or []
    cur = conn.execute(
        "INSERT INTO reports (id, capture_id, document_id, parser_version, parsed_at, status, "
        "error, url, title, agency, year, template, published_at, province, city, county, "
        "township, adcode, format, sha256, checks_failed, warnings, report_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (report_id, capture_id, document_id, parser_version, utc_now(), status, error,
         source.get("url"), r.get("title"), r.get("agency"), r.get("year"), r.get("template"),
         r.get("published_at"), region.get("province"), region.get("city"),
         region.get("county"), region.get("township"), region.get("adcode"),
         source.get("format"), source.get("sha256"),
         sum(1 for c in checks if not c.get("ok")) if report is not None else None,
         _json(r.get("warnings") or []) if report is not None else None,
         _json(report)))
    return cur.lastrowid


def _insert_long_rows(conn: sqlite3.Connection, report_id: int, report: dict) -> None:
    conn.executemany(
        'INSERT INTO applications (report_id, row, "column", value) VALUES (?, ?, ?, ?)',
        [(report_id, row, col, value)
         for row, cols in (report.get("applications") or {}).items()
         for col, value in cols.items()])
    conn.executemany(
        "INSERT INTO active_disclosure (report_id, item, category, measure, value, unit, raw) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(report_id, e.get("item"), e.get("category"), e.get("measure"), e.get("value"),
          e.get("unit"), e.get("raw")) for e in report.get("active_disclosure") or []])
    conn.executemany(
        "INSERT INTO review_litigation (report_id, review_group, measure, value) "
        "VALUES (?, ?, ?, ?)",
        [(report_id, group, measure, value)
         for group, measures in (report.get("review_litigation") or {}).items()
         for measure, value in measures.items()])
    conn.executemany(
        "INSERT INTO checks (report_id, rule, ok, detail) VALUES (?, ?, ?, ?)",
        [(report_id, c.get("rule"), int(bool(c.get("ok"))), c.get("detail"))
         for c in report.get("checks") or []])
    index_sections(conn, [
        (conn.execute("INSERT INTO sections (report_id, section, text) VALUES (?, ?, ?)",
                      (report_id, key, text)).lastrowid, text)
        for key, text in (report.get("sections") or {}).items() if text])


def diff_flat(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """(path, old, new) for each path whose value changed, appeared or disappeared.

    A path absent on one side counts as None there; 0 and None differ, 1 and 1.0 do not.
    """
    out = []
    for path in list(old) + [p for p in new if p not in old]:
        a, b = old.get(path), new.get(path)
        if (a is None) != (b is None) or a != b:
            out.append((path, a, b))
    return out


def _record_changes(conn, capture_id, report_id, replaced_id, parser_version, previous,
                    report: dict | None) -> list[dict]:
    if previous is None or report is None:  # never parsed before, or a failure: no values
        return []
    prev_id, prev_version, prev_json = previous
    if replaced_id is not None and prev_id != replaced_id:
        # The row replaced here (a failure) was not what we compare with: any earlier
        # comparison of these same two reports (made before that failure) is made again.
        conn.execute("DELETE FROM parse_changes WHERE report_id = ? AND previous_report_id = ?",
                     (report_id, prev_id))
    old = compared_values(json.loads(prev_json)) if prev_json else {}
    new = compared_values(report)
    changes = []
    now = utc_now()
    for path, a, b in diff_flat(old, new):
        conn.execute(
            "INSERT INTO parse_changes (capture_id, report_id, previous_report_id, "
            "parser_version, previous_parser_version, path, old_value, new_value, changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (capture_id, report_id, prev_id, parser_version, prev_version, path,
             _json(a), _json(b), now))
        changes.append({"capture_id": capture_id, "path": path, "old": a, "new": b,
                        "previous_parser_version": prev_version})
    return changes


def _store(conn, capture_id, document_id, parser_version, status, error, report):
    if not conn.in_transaction:
        # Take the write lock before reading what to compare with, and hold one
        # transaction whatever the connection's isolation level (even autocommit).
        conn.execute("BEGIN IMMEDIATE")
    with conn:  # one transaction: the report, its long rows and its changes, or nothing
        previous = _previous(conn, capture_id, parser_version)
        replaced_id = _delete(conn, capture_id, parser_version)
        report_id = _insert_report(conn, replaced_id, capture_id, document_id, parser_version,
                                   status, error, report)
        if report is not None:
            _insert_long_rows(conn, report_id, report)
        # this report's totals, and whether it and its siblings are current and latest
        refresh_report_totals(conn, capture_id, document_id)
        changes = _record_changes(conn, capture_id, report_id, replaced_id, parser_version,
                                  previous, report)
    return report_id, changes


def store_report(conn: sqlite3.Connection, capture_id: int, document_id: int | None,
                 report: dict) -> tuple[int, list[dict]]:
    """Store one parsed report; return (report id, changes vs. the capture's previous report).

    :param report: a Report dict (REPORT_MODEL.md) carrying its `parser_version`
    :returns: the report id and a list of `{"capture_id", "path", "old", "new"}`
    """
    parser_version = report.get("parser_version")
    if not parser_version:
        raise ValueError("report has no parser_version")
    return _store(conn, capture_id, document_id, parser_version, report_status(report),
                  None, report)


def store_failure(conn: sqlite3.Connection, capture_id: int, document_id: int | None,
                  parser_version: str, error: str) -> int:
    """Store a parse that failed (exception, timeout): a `failed` report row with `error`.

    It replaces this version's earlier result for the capture (`nianbao parse
    --retry-failed` or `--all` tries again) and records no changes."""
    report_id, _ = _store(conn, capture_id, document_id, parser_version, "failed", error, None)
    return report_id
