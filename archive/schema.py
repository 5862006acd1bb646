"""The catalog's tables (`data/archive.db`): the contract between the crawler, the parser
batch, Datasette's metadata.yml and canned queries. Table names are fixed by DESIGN.md;
columns may be added, never renamed.

`TABLES` is the current shape, for reading; `ensure_schema(conn)` brings any catalog to it
through the migrations in archive/migrations.py, and is safe to call on every open.
"""
from __future__ import annotations

import sqlite3

TABLES = """
CREATE TABLE IF NOT EXISTS crawl_runs (
    id TEXT PRIMARY KEY,              -- e.g. 20261123T084400Z-3f2a1c
    started_at TEXT NOT NULL,         -- ISO 8601 UTC
    finished_at TEXT,
    status TEXT NOT NULL,             -- running, finished, failed, interrupted
    portals TEXT NOT NULL,            -- JSON list of portal names
    settings TEXT,                    -- JSON: the settings that matter (render, robots, ...)
    requests INTEGER,
    captures INTEGER,
    bytes INTEGER,
    errors INTEGER,
    documents INTEGER,
    stats TEXT                        -- JSON: Scrapy's own stats at the end of the run
);

CREATE TABLE IF NOT EXISTS portals (
    name TEXT PRIMARY KEY,            -- as in portals.yml and captures.portal
    title TEXT,
    real INTEGER NOT NULL DEFAULT 1,
    start_urls TEXT,                  -- JSON list
    region TEXT,                      -- JSON: the registry's hints (province, city, county, ...)
    updated_at TEXT NOT NULL          -- when a crawl last recorded this entry
);

CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES crawl_runs(id),
    portal TEXT,
    url TEXT NOT NULL,                -- the URL requested
    final_url TEXT,                   -- after redirects (where this response came from)
    method TEXT NOT NULL DEFAULT 'GET',
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,            -- JSON list of [name, value], every value kept, in order
    fetched_at TEXT NOT NULL,         -- ISO 8601 UTC
    payload_sha256 TEXT NOT NULL,     -- hex sha256 of the HTTP payload as stored in the WARC
    payload_size INTEGER NOT NULL,
    content_type TEXT,
    referrer TEXT,
    rendered INTEGER NOT NULL DEFAULT 0,  -- 1 when Chromium rendered the body
    record_type TEXT NOT NULL,        -- response, revisit or unchanged (see archive.catalog)
    refers_to INTEGER REFERENCES captures(id),  -- revisit, unchanged: the capture holding the payload
    warc_file TEXT,                   -- relative to data/warc/; NULL while an unchanged
    warc_offset INTEGER,              --   capture waits for its run's ledger record
    warc_length INTEGER,
    warc_record_id TEXT,
    challenge TEXT                    -- a bot challenge met and solved for this capture
);
CREATE INDEX IF NOT EXISTS captures_url ON captures(url);
CREATE INDEX IF NOT EXISTS captures_final_url ON captures(final_url);
CREATE INDEX IF NOT EXISTS captures_sha ON captures(payload_sha256);
CREATE INDEX IF NOT EXISTS captures_run ON captures(run_id);

CREATE TABLE IF NOT EXISTS crawl_errors (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES crawl_runs(id),
    portal TEXT,
    url TEXT NOT NULL,
    referrer TEXT,
    error TEXT NOT NULL,              -- e.g. 'HTTP 503 after 3 attempts', 'TimeoutError: ...'
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crawl_errors_run ON crawl_errors(run_id);

CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    portal TEXT,
    url TEXT NOT NULL UNIQUE,
    title TEXT,                       -- link text or page title that made it a candidate
    kind TEXT NOT NULL,               -- page or attachment
    referrer TEXT,
    first_run_id TEXT,
    last_run_id TEXT,
    latest_capture_id INTEGER REFERENCES captures(id)
);

CREATE TABLE IF NOT EXISTS document_captures (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    capture_id INTEGER REFERENCES captures(id),
    run_id TEXT NOT NULL REFERENCES crawl_runs(id),
    change TEXT NOT NULL,             -- new, changed, unchanged (same payload, or a 304)
    found_on TEXT,                    -- the page that linked to it in this run
    link_text TEXT,
    UNIQUE (document_id, run_id)
);
CREATE INDEX IF NOT EXISTS document_captures_capture ON document_captures(capture_id);

CREATE TABLE IF NOT EXISTS crawl_run_portals (
    run_id TEXT NOT NULL REFERENCES crawl_runs(id),
    portal TEXT NOT NULL,
    pages INTEGER,                    -- captures of this portal in the run (every response)
    documents INTEGER,                -- report candidates downloaded
    new_reports INTEGER,
    changed_reports INTEGER,
    unchanged_reports INTEGER,
    errors INTEGER,
    challenges INTEGER,               -- bot challenges met (and solved in the browser)
    bytes INTEGER,
    PRIMARY KEY (run_id, portal)
);

CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY,
    capture_id INTEGER NOT NULL REFERENCES captures(id),
    document_id INTEGER REFERENCES documents(id),
    parser_version TEXT NOT NULL,
    parsed_at TEXT NOT NULL,
    status TEXT NOT NULL,             -- ok, warnings, empty (no tables found), failed
    error TEXT,                       -- why it failed, when it did
    url TEXT,
    title TEXT,
    agency TEXT,
    year INTEGER,
    template TEXT,
    published_at TEXT,
    province TEXT,
    city TEXT,
    county TEXT,
    township TEXT,
    adcode TEXT,
    format TEXT,
    sha256 TEXT,
    checks_failed INTEGER,
    warnings TEXT,                    -- JSON list of str
    report_json TEXT,                 -- the whole Report (REPORT_MODEL.md)
    UNIQUE (capture_id, parser_version)
);

CREATE TABLE IF NOT EXISTS applications (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    row TEXT NOT NULL,
    "column" TEXT NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS applications_report ON applications(report_id);
CREATE INDEX IF NOT EXISTS applications_report_row ON applications(report_id, row, "column");

CREATE TABLE IF NOT EXISTS active_disclosure (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    item TEXT NOT NULL,
    category TEXT NOT NULL,
    measure TEXT NOT NULL,
    value REAL,
    unit TEXT,
    raw TEXT
);
CREATE INDEX IF NOT EXISTS active_disclosure_report ON active_disclosure(report_id);

CREATE TABLE IF NOT EXISTS review_litigation (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    review_group TEXT NOT NULL,       -- review, litigation_direct, litigation_after_review
    measure TEXT NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS review_litigation_report ON review_litigation(report_id);

CREATE TABLE IF NOT EXISTS checks (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    rule TEXT NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS checks_report ON checks(report_id);
CREATE INDEX IF NOT EXISTS checks_failing ON checks(report_id) WHERE ok = 0;

CREATE TABLE IF NOT EXISTS sections (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    section TEXT NOT NULL,            -- overview, active_disclosure, applications, ...
    text TEXT NOT NULL                -- its bigrams are in sections_fts (archive/search_index.py)
);
CREATE INDEX IF NOT EXISTS sections_report ON sections(report_id);

-- One row per report: the figures the dashboard and canned queries add up, copied from the
-- long tables when the report is stored (archive.views.refresh_report_totals), so an
-- aggregate over a national archive reads one narrow row per report, not hundreds of cells.
CREATE TABLE IF NOT EXISTS report_totals (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id),
    capture_id INTEGER,
    document_id INTEGER,
    is_current INTEGER NOT NULL,      -- the newest parse of its capture (current_reports)
    is_latest INTEGER NOT NULL,       -- current, and of its document's newest parsed capture
    portal TEXT,
    agency TEXT,
    province TEXT,
    city TEXT,
    county TEXT,
    township TEXT,
    year INTEGER,
    template TEXT,
    status TEXT,
    title TEXT,                       -- reports' and captures' columns the overview shows,
    published_at TEXT,                --   copied so it needs no join
    format TEXT,
    url TEXT,
    fetched_at TEXT,
    parser_version TEXT,
    parsed_at TEXT,
    checks_failed INTEGER,
    adds_up INTEGER,                  -- 1 every check holds, 0 one fails, NULL none evaluated
    new_received REAL,                -- the 总计 column of section 三's lines ...
    carried_over REAL,
    granted REAL,
    partially_granted REAL,
    denied REAL,                      -- sum of the eight denied_* lines
    denied_state_secret REAL,
    denied_prohibited REAL,
    denied_three_safeties REAL,
    denied_third_party REAL,
    denied_internal_affairs REAL,
    denied_process_info REAL,
    denied_enforcement_files REAL,
    denied_query_matters REAL,
    unable REAL,                      -- sum of the three unable_* lines
    not_processed REAL,               -- sum of the five not_processed_* lines
    other_processing REAL,            -- （六）其他处理: the single line, or the sum of its three
    results_total REAL,
    carried_forward REAL,
    review_total REAL,                -- section 四: 行政复议 总计
    litigation_total REAL             -- 行政诉讼 总计 (direct + after review)
);
-- the overview's facets (current reports, or latest ones), read from the index alone
CREATE INDEX IF NOT EXISTS report_totals_facet_region
    ON report_totals(is_current, is_latest, province, city, county);
CREATE INDEX IF NOT EXISTS report_totals_facet_year ON report_totals(is_current, is_latest, year);
CREATE INDEX IF NOT EXISTS report_totals_facet_template
    ON report_totals(is_current, is_latest, template);
CREATE INDEX IF NOT EXISTS report_totals_facet_adds_up
    ON report_totals(is_current, is_latest, adds_up);
-- the dashboard's and canned queries' group-bys over the latest reports
CREATE INDEX IF NOT EXISTS report_totals_latest_year ON report_totals(is_latest, year);
CREATE INDEX IF NOT EXISTS report_totals_latest_region
    ON report_totals(is_latest, province, city, county, year);
CREATE INDEX IF NOT EXISTS report_totals_latest_office
    ON report_totals(is_latest, portal, agency, year);
CREATE INDEX IF NOT EXISTS report_totals_latest_denied ON report_totals(is_latest, denied);
CREATE INDEX IF NOT EXISTS report_totals_latest_adds_up ON report_totals(is_latest, adds_up);
CREATE INDEX IF NOT EXISTS reports_document ON reports(document_id);
CREATE INDEX IF NOT EXISTS report_totals_capture ON report_totals(capture_id);
CREATE INDEX IF NOT EXISTS report_totals_document ON report_totals(document_id);
-- A report deleted by any path (a re-store, archive.repair) takes its totals row with it.
CREATE TRIGGER IF NOT EXISTS report_totals_ad AFTER DELETE ON reports BEGIN
  DELETE FROM report_totals WHERE report_id = old.id;
END;

CREATE TABLE IF NOT EXISTS parse_changes (
    id INTEGER PRIMARY KEY,
    capture_id INTEGER NOT NULL REFERENCES captures(id),
    report_id INTEGER REFERENCES reports(id),      -- the new report
    previous_report_id INTEGER,                     -- the report it was compared with
    parser_version TEXT NOT NULL,
    previous_parser_version TEXT,
    path TEXT NOT NULL,               -- flat path (REPORT_MODEL.md), e.g. applications.granted.total
    old_value TEXT,                   -- JSON
    new_value TEXT,                   -- JSON
    changed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS parse_changes_version ON parse_changes(parser_version, id);

-- reports replaced under the same URL or taken down, found by re-crawls (archive/events.py)
CREATE TABLE IF NOT EXISTS document_events (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    event TEXT NOT NULL,              -- changed, gone
    old_capture_id INTEGER REFERENCES captures(id),  -- its last capture before (last good one)
    new_capture_id INTEGER REFERENCES captures(id),  -- the new payload, or the 404/redirect
    run_id TEXT NOT NULL REFERENCES crawl_runs(id),
    detail TEXT,                      -- e.g. 'HTTP 404', 'report gone: redirects to the list …'
    detected_at TEXT NOT NULL,
    UNIQUE (document_id, run_id, event)
);

CREATE TABLE IF NOT EXISTS catalog_meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables and indexes that are missing, apply the pending migrations
    (archive/migrations.py, recorded in `_sqlite_migrations`) and switch the database to WAL
    mode. Safe to call on every open, and on a catalog of any earlier release."""
    from archive import migrations

    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(TABLES)
    migrations.apply(conn)
    conn.execute("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('schema_version', ?)",
                 (str(migrations.version(conn)),))
    conn.commit()
