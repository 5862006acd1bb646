"""The catalog's schema versions, as sqlite-utils migrations: an archive made by an older
nianbao opens with a newer one and loses no row.

New tables and indexes need no migration: `archive.schema.TABLES` creates whatever is
missing on every open. What does is a change to a table that exists: a column added, data
moved. Each such change is a function registered in order on `CATALOG` (sqlite-utils'
`Migrations`, which records what it applied in the `_sqlite_migrations` table and runs each
pending one once, in a transaction with its record); an index on an added column goes in
the same migration. Migrations are safe on a catalog that already has what they add (a
fresh one gets it from TABLES), and one that has shipped is never edited.

tests/test_migrations.py opens a catalog of an old release and checks that it loses no row
and ends with the shape of a fresh one.
"""
from __future__ import annotations

from sqlite_utils import Database, Migrations

CATALOG = Migrations("nianbao-catalog")


def _add_column(db: Database, table: str, column: str, col_type) -> None:
    if column not in db[table].columns_dict:
        db[table].add_column(column, col_type)


@CATALOG()
def m001_capture_challenge(db: Database) -> None:
    """captures.challenge: the bot challenge a capture had to get past (issue 7)."""
    _add_column(db, "captures", "challenge", str)


@CATALOG()
def m002_capture_place_nullable(db: Database) -> None:
    """captures.warc_file, warc_offset, warc_length may be NULL: an unchanged capture has no
    WARC place until its run's ledger record is written (issue 9)."""
    place = ("warc_file", "warc_offset", "warc_length")
    info = {r[1]: r[3] for r in db.execute("PRAGMA table_info(captures)").fetchall()}
    if any(info.get(c) for c in place):
        db["captures"].transform(not_null={c: False for c in place})


@CATALOG()
def m003_sections_search_text_dropped(db: Database) -> None:
    """sections.search_text goes: the bigram text lives only in the full-text index, never
    in a visible table (issue 10). The earlier index (external content over that column) and
    its triggers go with it; `nianbao serve` builds the new one (archive.search_index) from
    the sections' text, which every row keeps."""
    for trigger in ("sections_fts_ai", "sections_fts_ad", "sections_fts_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    old_index = db.execute("SELECT sql FROM sqlite_master WHERE name = 'sections_fts'").fetchone()
    if old_index and "search_text" in old_index[0]:
        db.execute("DROP TABLE sections_fts")
    if "search_text" in db["sections"].columns_dict:
        db["sections"].transform(drop={"search_text"})


@CATALOG()
def m004_report_totals(db: Database) -> None:
    """report_totals: one row per report with its section 三/四 totals and its current and
    latest flags (issue 10), what the dashboard and the overview read; filled here for the
    reports of an older catalog (TABLES has created the empty table and its indexes)."""
    from archive.views import refresh_report_totals

    refresh_report_totals(db.conn)


def apply(conn) -> list[str]:
    """Apply the pending migrations to an open sqlite3 connection; their names."""
    db = Database(conn)
    pending = [m.name for m in CATALOG.pending(db)]
    CATALOG.apply(db)
    return pending


def version(conn) -> int:
    """How many of the catalog migrations this database has had."""
    return len(CATALOG.applied(Database(conn)))
