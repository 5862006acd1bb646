"""An archive made by an older nianbao opens with this one and loses no row: a catalog as the
schema of commit 7099ae1 wrote it (tests/fixtures/catalog-before-challenge.sql, three rows in
every table) is opened by today's Catalog, which migrates it."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from archive import migrations
from archive.catalog import Catalog

FIXTURE = Path(__file__).parent / "fixtures" / "catalog-before-challenge.sql"
# Columns a migration drops on purpose (their data lives elsewhere now): m003 moved the
# bigrams of sections.search_text into the full-text index alone.
DROPPED = {"sections": {"search_text"}}


def _old_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text("utf-8"))
    conn.close()
    return path


def _rows(conn: sqlite3.Connection, table: str, columns: list[str]) -> list[tuple]:
    return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '%_fts%' ORDER BY name")]


def test_an_old_catalog_keeps_every_row_and_gains_what_is_new(tmp_path):
    path = _old_catalog(tmp_path)
    old = sqlite3.connect(path)
    before = {t: (_columns(old, t), _rows(old, t, _columns(old, t))) for t in _tables(old)}
    old.close()
    assert "challenge" not in before["captures"][0] and "document_captures" not in before

    Catalog(path).close()

    conn = sqlite3.connect(path)
    for table, (columns, rows) in before.items():
        if table == "catalog_meta":  # schema_version is meant to move on
            rows = [r for r in rows if r[0] != "schema_version"]
            assert [r for r in _rows(conn, table, columns) if r[0] != "schema_version"] == rows
            continue
        dropped = DROPPED.get(table, set())
        if dropped:
            assert not dropped & set(_columns(conn, table)), f"{table} still has {dropped}"
            keep = [i for i, c in enumerate(columns) if c not in dropped]
            columns = [columns[i] for i in keep]
            rows = [tuple(r[i] for i in keep) for r in rows]
        assert _rows(conn, table, columns) == rows, f"{table} lost or changed rows"
    assert "challenge" in _columns(conn, "captures")
    assert {"document_captures", "crawl_run_portals"} <= set(_tables(conn))
    applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == [m.name for m in migrations.CATALOG._migrations]
    assert conn.execute("SELECT value FROM catalog_meta WHERE key = 'schema_version'"
                        ).fetchone() == (str(len(applied)),)


def test_a_migrated_catalog_has_the_shape_of_a_fresh_one(tmp_path):
    old = _old_catalog(tmp_path)
    Catalog(old).close()
    fresh = tmp_path / "fresh.db"
    Catalog(fresh).close()
    a, b = sqlite3.connect(old), sqlite3.connect(fresh)
    assert _tables(a) == _tables(b)
    for table in _tables(b):
        # added columns come last in an old table: compare the sets
        assert set(_columns(a, table)) == set(_columns(b, table)), table
        # and each column takes what a fresh one takes (NULL or not, its type)
        assert ({r[1]: (r[2], r[3]) for r in a.execute(f"PRAGMA table_info({table})")}
                == {r[1]: (r[2], r[3]) for r in b.execute(f"PRAGMA table_info({table})")}), table


def test_opening_again_applies_nothing(tmp_path):
    path = tmp_path / "archive.db"
    Catalog(path).close()
    conn = sqlite3.connect(path)
    count = conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    assert migrations.apply(conn) == []
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == count
