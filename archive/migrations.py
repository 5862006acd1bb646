"""The catalog's schema versions, as sqlite-utils migrations: an archive made by an older
nianbao opens with a newer one and loses no row.

Each migration is a function registered in order on `CATALOG` (sqlite-utils' `Migrations`,
which records what it applied in the `_sqlite_migrations` table and runs each pending one
once, in a transaction with its record). Migrations are written to be safe on a catalog
that already has what they add: the first ones were applied by hand by nianbao versions
that had no migration table, so an old archive meets them again.

To change the schema: add a migration at the end (never edit one that has shipped), and
add the table or column to `archive.schema.TABLES` too, which documents the current
shape; tests/test_migrations.py opens a catalog of an old release and checks both agree.
"""
from __future__ import annotations

from sqlite_utils import Database, Migrations

CATALOG = Migrations("nianbao-catalog")


def _add_column(db: Database, table: str, column: str, col_type) -> None:
    if column not in db[table].columns_dict:
        db[table].add_column(column, col_type)


@CATALOG(transactional=False)  # executescript commits on its own; every statement is IF NOT EXISTS
def m001_tables(db: Database) -> None:
    """The tables of the first release (and of every fresh catalog)."""
    from archive.schema import TABLES

    db.conn.executescript(TABLES)


@CATALOG()
def m002_capture_challenge(db: Database) -> None:
    """captures.challenge: the bot challenge a capture had to get past (issue 7)."""
    _add_column(db, "captures", "challenge", str)


def apply(conn) -> list[str]:
    """Apply the pending migrations to an open sqlite3 connection; their names."""
    db = Database(conn)
    pending = [m.name for m in CATALOG.pending(db)]
    CATALOG.apply(db)
    return pending


def version(conn) -> int:
    """How many of the catalog migrations this database has had."""
    return len(CATALOG.applied(Database(conn)))
