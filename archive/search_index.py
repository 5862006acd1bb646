"""The full-text index of the reports' text: `sections_fts`, an FTS5 table (tokenizer
unicode61) whose one column, `bigrams`, holds each section's text as overlapping character
bigrams (`archive.bigrams.to_bigrams`), keyed by `sections.rowid`.

The bigram text lives only in the index (a contentful FTS5 table, which Datasette hides as
such): no visible table carries it. Datasette's search box on `sections` uses it through
metadata (`fts_table: sections_fts`, `fts_pk: rowid`), the `/-/search` page and the
`search_text` canned query join `sections_fts.rowid` to `sections.rowid`.

Who keeps it in step:
- `index_sections(conn, rows)` adds the bigrams of sections just inserted (archive.report_store
  calls it in the same transaction), when the index exists;
- a trigger drops a section's entry when the section is deleted or its text changes;
- `ensure_fts(conn)` (at `nianbao serve`) creates the index and its trigger, indexes what is
  missing (rows stored before the index existed, or by another writer), drops what no longer
  exists, and rebuilds everything when the bigram rules changed (`BIGRAMS_VERSION`);
- `rebuild_fts(conn)` rebuilds the whole index.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from archive.bigrams import to_bigrams

# Bump when to_bigrams() changes: ensure_fts() then rebuilds the whole index.
BIGRAMS_VERSION = "1"

FTS = ("CREATE VIRTUAL TABLE IF NOT EXISTS sections_fts USING fts5("
       "bigrams, tokenize='unicode61')")
# No trigger adds rows: that needs to_bigrams(), a Python function every writer would have
# to register. Deleting needs nothing, so any writer's deletes reach the index.
TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS sections_fts_ad AFTER DELETE ON sections BEGIN
  DELETE FROM sections_fts WHERE rowid = old.rowid;
END;
CREATE TRIGGER IF NOT EXISTS sections_fts_au AFTER UPDATE OF text ON sections BEGIN
  DELETE FROM sections_fts WHERE rowid = old.rowid;
END;
"""
TRIGGER_NAMES = ("sections_fts_ad", "sections_fts_au")


def _exists(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sections_fts'").fetchone() \
        is not None


def _is_contentful(conn: sqlite3.Connection) -> bool:
    """False for the index of earlier releases (external content, column search_text)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'sections_fts'").fetchone()
    return row is not None and "content=" not in row[0].replace(" ", "")


def index_sections(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """Index sections just inserted, given as (sections.rowid, text); nothing when there is
    no index yet (ensure_fts builds it from every row)."""
    rows = list(rows)
    if rows and _exists(conn):
        conn.executemany("INSERT INTO sections_fts (rowid, bigrams) VALUES (?, ?)",
                         [(rowid, to_bigrams(text)) for rowid, text in rows])


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM catalog_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _in_step(conn: sqlite3.Connection) -> bool:
    """Cheap test that the index covers the same rows as `sections` (counts and last rowid).

    `sections` has no INTEGER PRIMARY KEY, so a VACUUM may renumber its rowids under the
    index; the last-rowid comparison notices that in practice (deleted rows leave gaps)."""
    fts = conn.execute("SELECT count(*), max(id) FROM sections_fts_docsize").fetchone()
    content = conn.execute("SELECT count(*), max(rowid) FROM sections").fetchone()
    return tuple(fts) == tuple(content)


def _fill(conn: sqlite3.Connection, every_row: bool) -> None:
    """Index the sections the index lacks (every section: rebuild from scratch)."""
    conn.create_function("to_bigrams", 1, to_bigrams, deterministic=True)
    if every_row:
        conn.execute("DELETE FROM sections_fts")
        conn.execute("INSERT INTO sections_fts (rowid, bigrams) "
                     "SELECT rowid, to_bigrams(text) FROM sections")
    else:
        conn.execute("DELETE FROM sections_fts WHERE rowid NOT IN (SELECT rowid FROM sections)")
        conn.execute("INSERT INTO sections_fts (rowid, bigrams) SELECT rowid, to_bigrams(text) "
                     "FROM sections WHERE rowid NOT IN (SELECT id FROM sections_fts_docsize)")
    conn.execute("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('bigrams_version', ?)",
                 (BIGRAMS_VERSION,))


def drop_fts(conn: sqlite3.Connection) -> None:
    """Drop the index and its triggers (and those of earlier releases)."""
    for trigger in TRIGGER_NAMES + ("sections_fts_ai",):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute("DROP TABLE IF EXISTS sections_fts")


def ensure_fts(conn: sqlite3.Connection) -> bool:
    """Create `sections_fts` and its triggers if missing and bring the index in step with
    `sections`: every row when the index is new or the bigram rules changed, else only the
    rows missing or gone. Returns True when it indexed anything."""
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")  # a parse storing meanwhile sees the index, or is in it
    try:
        if _exists(conn) and not _is_contentful(conn):
            drop_fts(conn)  # an earlier release's index over sections.search_text
        new = not _exists(conn)
        conn.execute(FTS)
        for statement in TRIGGERS.split("END;"):
            if statement.strip():
                conn.execute(statement + "END;")
        stale = new or _meta(conn, "bigrams_version") != BIGRAMS_VERSION
        changed = stale or not _in_step(conn)
        if changed:
            _fill(conn, every_row=stale)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return changed


def rebuild_fts(conn: sqlite3.Connection) -> None:
    """Rebuild `sections_fts` from every section's text."""
    ensure_fts(conn)
    with conn:
        _fill(conn, every_row=True)
