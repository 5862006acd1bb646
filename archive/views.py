"""Views and the full-text index that Datasette serves on top of the catalog.

`create_views(conn)` (re)creates the views, so their definitions follow this file;
`ensure_fts(conn)` keeps `sections_fts` (FTS5, tokenizer unicode61, external content
`sections`, column `search_text` holding bigrams from `archive.bigrams`) in step with
`sections`; `rebuild_fts(conn)` recomputes every bigram text and the whole index.
"""
from __future__ import annotations

import sqlite3

from archive.bigrams import to_bigrams
from parsers.vocabulary import TABLE3_COLUMNS, TABLE3_ROWS

# Bump when to_bigrams() changes: ensure_fts() then recomputes every sections.search_text.
BIGRAMS_VERSION = "1"

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


_LABELS = ", ".join(f"({_sql_str(k)}, {i}, {_sql_str(v)})"
                    for i, (k, v) in enumerate(APPLICATION_ROWS, 1))
_WIDE_COLUMNS = ",\n  ".join(
    f"(SELECT x.value FROM applications x WHERE x.report_id = r.id AND x.row = l.row "
    f"AND x.\"column\" = '{c}') AS {c}" for c in APPLICANT_COLUMNS)

# A report is current when no other report of the same capture was parsed later (normally:
# the newest parser version). is_latest marks the current report of a document's newest
# parsed capture, so a page archived on several crawls is counted once.
VIEWS = {
    "current_reports": """
SELECT r.id, r.capture_id, r.document_id, r.parser_version, r.parsed_at, r.status, r.error,
  r.url, r.title, r.agency, r.year, r.template, r.published_at, r.province, r.city, r.county,
  r.township, r.adcode, r.format, r.sha256, r.checks_failed, r.warnings,
  c.fetched_at, c.portal,
  CASE WHEN r.document_id IS NULL THEN 1 ELSE NOT EXISTS (
    SELECT 1 FROM reports o JOIN captures oc ON oc.id = o.capture_id
    WHERE o.document_id = r.document_id AND o.capture_id != r.capture_id
      AND (oc.fetched_at > c.fetched_at OR (oc.fetched_at = c.fetched_at AND oc.id > c.id))
  ) END AS is_latest
FROM reports r LEFT JOIN captures c ON c.id = r.capture_id
WHERE NOT EXISTS (
  SELECT 1 FROM reports n WHERE n.capture_id = r.capture_id
    AND (n.parsed_at > r.parsed_at OR (n.parsed_at = r.parsed_at AND n.id > r.id)))
""",
    "report_overview": f"""
SELECT r.id AS report_id, r.agency, r.province, r.city, r.county, r.township, r.year,
  r.template, r.status,
  {_app("a.row = 'new_received'")} AS new_received,
  {_app("a.row = 'carried_over'")} AS carried_over,
  {_app("a.row = 'granted'")} AS granted,
  {_app("a.row = 'partially_granted'")} AS partially_granted,
  {_app("substr(a.row, 1, 7) = 'denied_'", "sum")} AS denied,
  {_app("substr(a.row, 1, 7) = 'unable_'", "sum")} AS unable,
  {_app("substr(a.row, 1, 14) = 'not_processed_'", "sum")} AS not_processed,
  {_app("a.row = 'results_total'")} AS results_total,
  {_rl("v.review_group = 'review'")} AS review_total,
  {_rl("v.review_group IN ('litigation_direct', 'litigation_after_review')")} AS litigation_total,
  r.checks_failed, r.title, r.published_at, r.format, r.url, r.capture_id, r.document_id,
  r.portal, r.fetched_at, r.parser_version, r.parsed_at, r.is_latest
FROM current_reports r
""",
    # Driven by the 26 known rows with index lookups, not a GROUP BY over every cell:
    # counting and faceting this view stays fast on a large catalog.
    "applications_wide": f"""
WITH labels(row, position, label) AS (VALUES {_LABELS})
SELECT r.id AS report_id, r.agency, r.province, r.city, r.county, r.year, r.template,
  l.position, l.row, l.label AS row_label,
  {_WIDE_COLUMNS},
  r.is_latest
FROM current_reports r JOIN labels l
WHERE EXISTS (SELECT 1 FROM applications e WHERE e.report_id = r.id AND e.row = l.row)
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
FROM checks k JOIN current_reports r ON r.id = k.report_id
WHERE k.ok = 0
""",
}

# Extra indexes the views' lookups need (the catalog's own are in archive/schema.py).
INDEXES = [
    "CREATE INDEX IF NOT EXISTS reports_document ON reports(document_id)",
    'CREATE INDEX IF NOT EXISTS applications_report_row ON applications(report_id, row, "column")',
]

FTS = ("CREATE VIRTUAL TABLE IF NOT EXISTS sections_fts USING fts5("
       "search_text, content='sections', content_rowid='rowid', tokenize='unicode61')")
TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS sections_fts_ai AFTER INSERT ON sections BEGIN
  INSERT INTO sections_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER IF NOT EXISTS sections_fts_ad AFTER DELETE ON sections BEGIN
  INSERT INTO sections_fts(sections_fts, rowid, search_text)
    VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER IF NOT EXISTS sections_fts_au AFTER UPDATE ON sections BEGIN
  INSERT INTO sections_fts(sections_fts, rowid, search_text)
    VALUES ('delete', old.rowid, old.search_text);
  INSERT INTO sections_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
"""


def create_views(conn: sqlite3.Connection) -> None:
    """(Re)create the views in `VIEWS` and the indexes they rely on."""
    with conn:
        for sql in INDEXES:
            conn.execute(sql)
        for name, body in VIEWS.items():
            conn.execute(f"DROP VIEW IF EXISTS {name}")
            conn.execute(f"CREATE VIEW {name} AS {body}")


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM catalog_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _fill_search_text(conn: sqlite3.Connection, every_row: bool) -> None:
    conn.create_function("to_bigrams", 1, to_bigrams, deterministic=True)
    where = "" if every_row else " WHERE search_text IS NULL"
    conn.execute(f"UPDATE sections SET search_text = to_bigrams(text){where}")
    conn.execute("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('bigrams_version', ?)",
                 (BIGRAMS_VERSION,))


def _in_step(conn: sqlite3.Connection) -> bool:
    """Cheap test that the index covers the same rows as `sections` (counts and last rowid).

    `sections` has no INTEGER PRIMARY KEY, so a VACUUM may renumber its rowids under the
    index; the last-rowid comparison notices that in practice (deleted rows leave gaps)."""
    fts = conn.execute("SELECT count(*), max(id) FROM sections_fts_docsize").fetchone()
    content = conn.execute("SELECT count(*), max(rowid) FROM sections").fetchone()
    return tuple(fts) == tuple(content)


def ensure_fts(conn: sqlite3.Connection) -> bool:
    """Create `sections_fts` and its triggers if missing; fill `search_text` where it is
    missing (or everywhere, when the bigram rules changed); rebuild the index when it is new,
    stale or out of step. Returns True when it rebuilt."""
    with conn:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'sections_fts'").fetchone() is not None
        conn.execute(FTS)
        stale = _meta(conn, "bigrams_version") != BIGRAMS_VERSION
        rebuild = not exists or stale or not _in_step(conn)
        if rebuild:
            # The triggers' 'delete' needs the values the index holds: an index out of step
            # must not see them. The rebuild below indexes everything afresh.
            for trigger in ("sections_fts_ai", "sections_fts_ad", "sections_fts_au"):
                conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        _fill_search_text(conn, every_row=stale)
        for statement in TRIGGERS.split("END;"):
            if statement.strip():
                conn.execute(statement + "END;")
        if rebuild:
            conn.execute("INSERT INTO sections_fts(sections_fts) VALUES ('rebuild')")
    return rebuild


def rebuild_fts(conn: sqlite3.Connection) -> None:
    """Recompute every `sections.search_text` and rebuild `sections_fts` from scratch."""
    ensure_fts(conn)
    with conn:
        _fill_search_text(conn, every_row=True)
        conn.execute("INSERT INTO sections_fts(sections_fts) VALUES ('rebuild')")
