"""The views that Datasette serves on top of the catalog.

`create_views(conn)` (re)creates the views, so their definitions follow this file;
`refresh_report_totals(conn, ...)` writes `report_totals`, one narrow row per report with its
section 三/四 totals and whether it is current and latest (what `current_reports` and
`report_overview` read, so that counting, faceting and the dashboard stay fast on a national
archive); `archive.report_store` calls it for every report it stores;
the full-text index of `sections` is archive/search_index.py's.
"""
from __future__ import annotations

import sqlite3

from parsers.vocabulary import TABLE3_COLUMNS, TABLE3_ROWS

# Section 三's rows in the report's order, with their display names (parsers.vocabulary).
APPLICATION_ROWS = [(t.key, t.title) for t in TABLE3_ROWS.terms]
APPLICANT_COLUMNS = TABLE3_COLUMNS.keys()


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _app(row_test: str, agg: str = "max") -> str:
    """Correlated subquery: the 总计 cell(s) of section 三 for the report `r`."""
    return (f'(SELECT {agg}(a.value) FROM applications a WHERE a.report_id = r.id '
            f'AND a."column" = \'total\' AND {row_test})')


def _rl(group_test: str) -> str:
    return (f"(SELECT sum(v.value) FROM review_litigation v WHERE v.report_id = r.id "
            f"AND v.measure = 'total' AND {group_test})")


# (row, position, label, template): template is NULL for a row both forms have
_LABELS = ", ".join(
    f"({_sql_str(t.key)}, {i}, {_sql_str(t.title)}, "
    f"{_sql_str(t.template) if t.template else 'NULL'})"
    for i, t in enumerate(TABLE3_ROWS.terms, 1))
_WIDE_COLUMNS = ",\n  ".join(
    f"(SELECT x.value FROM applications x WHERE x.report_id = r.report_id AND x.row = l.row "
    f"AND x.\"column\" = '{c}') AS {c}" for c in APPLICANT_COLUMNS)

# A report is current when no other report of the same capture was parsed later (normally:
# the newest parser version). It is latest when, besides, no report of the same document was
# parsed from a newer capture, so a page archived on several crawls is counted once. Both are
# computed when a report is stored (refresh_report_totals) and read from report_totals.
_IS_CURRENT = """NOT EXISTS (
    SELECT 1 FROM reports n WHERE n.capture_id = r.capture_id
      AND (n.parsed_at > r.parsed_at OR (n.parsed_at = r.parsed_at AND n.id > r.id)))"""
_IS_NEWEST_CAPTURE = """CASE WHEN r.document_id IS NULL THEN 1 ELSE NOT EXISTS (
    SELECT 1 FROM reports o JOIN captures oc ON oc.id = o.capture_id
    WHERE o.document_id = r.document_id AND o.capture_id != r.capture_id
      AND (oc.fetched_at > c.fetched_at OR (oc.fetched_at = c.fetched_at AND oc.id > c.id))
  ) END"""
DENIED_ROWS = [k for k, _ in APPLICATION_ROWS if k.startswith("denied_")]
_OTHER_LINE = _app("a.row = 'other_processing'")
_OTHER_PARTS = _app("a.row IN ('other_no_correction', 'other_no_fee', 'other_other')", "sum")
# report_totals' figures: column -> SQL over the report `r` (schema.py names the columns)
TOTALS = {
    "new_received": _app("a.row = 'new_received'"),
    "carried_over": _app("a.row = 'carried_over'"),
    "granted": _app("a.row = 'granted'"),
    "partially_granted": _app("a.row = 'partially_granted'"),
    "denied": _app("substr(a.row, 1, 7) = 'denied_'", "sum"),
    **{k: _app(f"a.row = {_sql_str(k)}") for k in DENIED_ROWS},
    "unable": _app("substr(a.row, 1, 7) = 'unable_'", "sum"),
    "not_processed": _app("substr(a.row, 1, 14) = 'not_processed_'", "sum"),
    "other_processing": f"coalesce({_OTHER_LINE}, {_OTHER_PARTS})",
    "results_total": _app("a.row = 'results_total'"),
    "carried_forward": _app("a.row = 'carried_forward'"),
    "review_total": _rl("v.review_group = 'review'"),
    "litigation_total": _rl("v.review_group IN ('litigation_direct', 'litigation_after_review')"),
}
_TOTALS_COLUMNS = ["report_id", "capture_id", "document_id", "is_current", "is_latest", "portal",
                   "agency", "province", "city", "county", "township", "year", "template",
                   "status", "title", "published_at", "format", "url", "fetched_at",
                   "parser_version", "parsed_at", "checks_failed", "adds_up", *TOTALS]
_TOTALS_SELECT = f"""
INSERT OR REPLACE INTO report_totals ({", ".join(_TOTALS_COLUMNS)})
SELECT r.id, r.capture_id, r.document_id, cur, cur AND newest, c.portal, r.agency, r.province,
  r.city, r.county, r.township, r.year, r.template, r.status, r.title, r.published_at,
  r.format, r.url, c.fetched_at, r.parser_version, r.parsed_at, r.checks_failed,
  CASE WHEN EXISTS (SELECT 1 FROM checks k WHERE k.report_id = r.id AND k.ok = 0) THEN 0
       WHEN EXISTS (SELECT 1 FROM checks k WHERE k.report_id = r.id) THEN 1 END,
  {", ".join(TOTALS.values())}
FROM (SELECT r.*, {_IS_CURRENT} AS cur, {_IS_NEWEST_CAPTURE} AS newest
      FROM reports r LEFT JOIN captures c ON c.id = r.capture_id WHERE {{where}}) r
LEFT JOIN captures c ON c.id = r.capture_id
"""


def refresh_report_totals(conn: sqlite3.Connection, capture_id: int | None = None,
                          document_id: int | None = None) -> None:
    """(Re)write the `report_totals` rows of every report of `capture_id` or `document_id`
    (their current and latest flags depend on each other), or of every report when both are
    None (the backfill of migration m004). Runs in the caller's transaction."""
    if capture_id is None and document_id is None:
        conn.execute(_TOTALS_SELECT.format(where="1"))
        return
    conn.execute(_TOTALS_SELECT.format(where="r.capture_id = ? OR r.document_id = ?"),
                 (capture_id, document_id))


_OVERVIEW_TOTALS = ", ".join(f"t.{c}" for c in ("new_received", "carried_over", "granted",
                             "partially_granted", "denied", "unable", "not_processed",
                             "results_total", "review_total", "litigation_total"))

# report_overview reads report_totals alone (no join: SQLite 3.40 would still look up every
# joined row), so its count and facets are read from report_totals' indexes.
VIEWS = {
    "current_reports": """
SELECT r.id, r.capture_id, r.document_id, r.parser_version, r.parsed_at, r.status, r.error,
  r.url, r.title, r.agency, r.year, r.template, r.published_at, r.province, r.city, r.county,
  r.township, r.adcode, r.format, r.sha256, r.checks_failed, r.warnings,
  c.fetched_at, c.portal, t.is_latest
FROM report_totals t JOIN reports r ON r.id = t.report_id
LEFT JOIN captures c ON c.id = r.capture_id
WHERE t.is_current = 1
""",
    "report_overview": f"""
SELECT t.report_id, t.agency, t.province, t.city, t.county, t.township, t.year,
  t.template, t.status, {_OVERVIEW_TOTALS}, t.checks_failed, t.adds_up,
  t.title, t.published_at, t.format, t.url, t.capture_id, t.document_id,
  t.portal, t.fetched_at, t.parser_version, t.parsed_at, t.is_latest
FROM report_totals t
WHERE t.is_current = 1
""",
    # Every row of the report's own form (blank cells blank), driven by the form's known
    # rows: counting needs no lookup into applications, so it stays fast on a large catalog.
    "applications_wide": f"""
WITH labels(row, position, label, template) AS (VALUES {_LABELS})
SELECT r.report_id, r.agency, r.province, r.city, r.county, r.year, r.template,
  l.position, l.row, l.label AS row_label,
  {_WIDE_COLUMNS},
  r.is_latest
FROM report_totals r JOIN labels l
WHERE r.is_current = 1 AND (l.template IS NULL OR l.template = r.template)
""",
    # every table value of a report as (path, value), the flat form of REPORT_MODEL.md
    "report_values": """
SELECT report_id, 'applications.' || row || '.' || "column" AS path, value FROM applications
UNION ALL
SELECT report_id, 'active_disclosure.' || item || '.' || category || '.' || measure, value
FROM active_disclosure
UNION ALL
SELECT report_id, 'review_litigation.' || review_group || '.' || measure, value
FROM review_litigation
""",
    # what an office changed: for each report replaced under the same URL, the values that
    # differ between the latest parse of its old capture and of its new one
    "document_changes": """
WITH pairs AS (
  SELECT e.id AS event_id, e.document_id, e.run_id, e.detected_at, d.url,
    (SELECT r.id FROM current_reports r WHERE r.capture_id = e.old_capture_id) AS old_report,
    (SELECT r.id FROM current_reports r WHERE r.capture_id = e.new_capture_id) AS new_report,
    e.old_capture_id, e.new_capture_id
  FROM document_events e JOIN documents d ON d.id = e.document_id
  WHERE e.event = 'changed'
), paths AS (
  SELECT p.*, v.path FROM pairs p JOIN report_values v ON v.report_id = p.old_report
  UNION
  SELECT p.*, v.path FROM pairs p JOIN report_values v ON v.report_id = p.new_report
)
SELECT event_id, document_id, url, run_id, detected_at, path,
  (SELECT value FROM report_values o WHERE o.report_id = old_report AND o.path = paths.path)
    AS old_value,
  (SELECT value FROM report_values n WHERE n.report_id = new_report AND n.path = paths.path)
    AS new_value,
  old_capture_id, new_capture_id, old_report AS old_report_id, new_report AS new_report_id
FROM paths
WHERE old_value IS NOT new_value
   OR NOT EXISTS (SELECT 1 FROM report_values o WHERE o.report_id = old_report AND o.path = paths.path)
   OR NOT EXISTS (SELECT 1 FROM report_values n WHERE n.report_id = new_report AND n.path = paths.path)
""",
    "failed_checks": """
SELECT k.report_id, r.agency, r.province, r.city, r.county, r.year, r.template,
  k.rule, k.detail, r.capture_id, r.is_latest
FROM checks k JOIN report_totals r ON r.report_id = k.report_id
WHERE k.ok = 0 AND r.is_current = 1
""",
}

# Extra indexes the views' lookups need (the catalog's own are in archive/schema.py).
INDEXES = [
    "CREATE INDEX IF NOT EXISTS reports_document ON reports(document_id)",
    'CREATE INDEX IF NOT EXISTS applications_report_row ON applications(report_id, row, "column")',
]


def create_views(conn: sqlite3.Connection) -> None:
    """(Re)create the views in `VIEWS` and the indexes they rely on."""
    with conn:
        for sql in INDEXES:
            conn.execute(sql)
        for name, body in VIEWS.items():
            conn.execute(f"DROP VIEW IF EXISTS {name}")
            conn.execute(f"CREATE VIEW {name} AS {body}")
