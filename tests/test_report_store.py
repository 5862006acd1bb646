"""archive.report_store: reports, their long tables, sections and parse_changes."""
from __future__ import annotations

import json
import sqlite3

import pytest

from archive.bigrams import to_bigrams
from archive.catalog import Catalog
from archive.report_store import compared_values, diff_flat, store_failure, store_report
from archive.search_index import ensure_fts


def make_report(version="1.0", **overrides) -> dict:
    report = {
        "schema_version": 1,
        "title": "某某镇人民政府2023年政府信息公开工作年度报告",
        "agency": "某某镇人民政府",
        "year": 2023,
        "template": "2021",
        "published_at": "2024-01-20",
        "region": {"province": "江苏省", "city": "淮安市", "county": "某县", "township": "某某镇",
                   "adcode": "320800"},
        "sections": {"overview": "一、总体情况 本镇认真贯彻信息公开条例。", "active_disclosure": None,
                     "applications": "", "review_litigation": None, "problems": "存在问题",
                     "other": None},
        "active_disclosure": [
            {"item": "20.1", "category": "regulations", "measure": "issued", "value": 0,
             "unit": None, "raw": "0"},
            {"item": "20.8", "category": "fees", "measure": "fee_amount", "value": 552.91,
             "unit": "万元", "raw": "552.91 万元"},
        ],
        "applications": {"new_received": {"natural_person": 3, "total": 3, "commercial": None},
                         "granted": {"total": 2}},
        "review_litigation": {"review": {"maintained": 1, "total": 1}},
        "checks": [{"rule": "applications.row_total.new_received", "ok": True, "detail": "3 = 3"},
                   {"rule": "review_litigation.total.review", "ok": False, "detail": "1 != 2"}],
        "warnings": [],
        "source": {"url": "http://a.gov.cn/2023.html", "sha256": "ab" * 32, "format": "html",
                   "capture_id": 1},
        "parser_version": version,
    }
    report.update(overrides)
    return report


@pytest.fixture
def db(data_dir):
    cat = Catalog(data_dir / "archive.db")
    run = cat.start_run([], {})
    for i in (1, 2):
        cat.add_capture(run_id=run, url=f"http://a.gov.cn/{i}", status=200, headers=[],
                        fetched_at="2026-01-01T00:00:00Z", payload_sha256=str(i) * 64,
                        payload_size=1, record_type="response", warc_file="f", warc_offset=0,
                        warc_length=1)
    cat.close()
    conn = sqlite3.connect(data_dir / "archive.db")  # store_report takes any connection
    yield conn
    conn.close()


def count(conn, table, report_id):
    return conn.execute(f"SELECT count(*) FROM {table} WHERE report_id = ?",
                        (report_id,)).fetchone()[0]


def test_store_report_writes_row_and_long_tables(db):
    rid, changes = store_report(db, 1, None, make_report())
    assert changes == []  # nothing to compare with yet
    row = dict(zip([d[0] for d in db.execute("SELECT * FROM reports").description],
                   db.execute("SELECT * FROM reports WHERE id = ?", (rid,)).fetchone()))
    assert row["status"] == "ok"
    assert row["checks_failed"] == 1
    assert (row["agency"], row["year"], row["template"]) == ("某某镇人民政府", 2023, "2021")
    assert (row["province"], row["county"], row["adcode"]) == ("江苏省", "某县", "320800")
    assert (row["format"], row["sha256"], row["url"]) == ("html", "ab" * 32,
                                                         "http://a.gov.cn/2023.html")
    assert json.loads(row["warnings"]) == []
    assert json.loads(row["report_json"])["title"].startswith("某某镇")

    assert sorted(db.execute('SELECT row, "column", value FROM applications').fetchall()) == [
        ("granted", "total", 2), ("new_received", "commercial", None),
        ("new_received", "natural_person", 3), ("new_received", "total", 3)]
    assert db.execute("SELECT item, category, measure, value, unit, raw FROM active_disclosure "
                      "WHERE category = 'fees'").fetchone() == (
        "20.8", "fees", "fee_amount", 552.91, "万元", "552.91 万元")
    assert db.execute("SELECT review_group, measure, value FROM review_litigation "
                      "ORDER BY measure").fetchall() == [("review", "maintained", 1),
                                                         ("review", "total", 1)]
    assert db.execute("SELECT rule, ok FROM checks ORDER BY rule").fetchall() == [
        ("applications.row_total.new_received", 1), ("review_litigation.total.review", 0)]


def test_sections_are_indexed_as_bigrams(db):
    ensure_fts(db)  # as `nianbao serve` left it: from then on each store indexes its sections
    rid, _ = store_report(db, 1, None, make_report())
    rows = dict(db.execute("SELECT s.section, f.bigrams FROM sections s JOIN sections_fts f "
                           "ON f.rowid = s.rowid WHERE s.report_id = ?", (rid,)).fetchall())
    assert set(rows) == {"overview", "problems"}  # empty and null sections are not stored
    text = make_report()["sections"]["overview"]
    assert rows["overview"] == to_bigrams(text)
    assert "公开" in rows["overview"].split()
    assert "search_text" not in [r[1] for r in db.execute("PRAGMA table_info(sections)")]
    # storing again replaces the sections and their index entries, leaving none behind
    store_report(db, 1, None, make_report(sections={"overview": "预算公开"}))
    assert db.execute("SELECT count(*) FROM sections_fts").fetchone()[0] == 1
    assert db.execute("SELECT s.text FROM sections_fts f JOIN sections s ON s.rowid = f.rowid "
                      "WHERE sections_fts MATCH '\"预算\"'").fetchall() == [("预算公开",)]
    assert ensure_fts(db) is False  # in step: nothing to redo


@pytest.mark.parametrize("overrides,status", [
    ({}, "ok"),
    ({"warnings": ["年份冲突: 2022 / 2023"]}, "warnings"),
    ({"applications": {}, "review_litigation": {}, "active_disclosure": [],
      "warnings": ["no table found"]}, "empty"),
])
def test_status(db, overrides, status):
    rid, _ = store_report(db, 1, None, make_report(**overrides))
    assert db.execute("SELECT status FROM reports WHERE id = ?", (rid,)).fetchone()[0] == status


def test_restore_same_version_replaces_row_and_long_rows(db):
    rid, _ = store_report(db, 1, None, make_report())
    second = make_report()
    second["applications"]["granted"]["total"] = 5
    rid2, changes = store_report(db, 1, None, second)
    assert rid2 == rid  # the same (capture, version) keeps its id
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
    assert count(db, "applications", rid) == 4
    assert count(db, "checks", rid) == 2
    assert count(db, "sections", rid) == 2
    assert [(c["path"], c["old"], c["new"]) for c in changes] == [
        ("applications.granted.total", 2, 5)]


def test_new_version_records_changed_added_removed(db):
    old_id, _ = store_report(db, 1, None, make_report("1.0"))
    new = make_report("1.1")
    new["applications"]["granted"]["total"] = 4                      # changed
    new["applications"]["new_received"]["commercial"] = 0             # null -> 0 is a change
    del new["review_litigation"]["review"]["maintained"]             # removed
    new["active_disclosure"].append({"item": "20.5", "category": "punishment",
                                     "measure": "decisions", "value": 7, "unit": None,
                                     "raw": "7"})                     # added
    new["year"] = 2023.0                                              # same value: no change
    new_id, changes = store_report(db, 1, None, new)
    assert new_id != old_id
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 2
    got = {c["path"]: (c["old"], c["new"]) for c in changes}
    assert got == {
        "applications.granted.total": (2, 4),
        "applications.new_received.commercial": (None, 0),
        "review_litigation.review.maintained": (1, None),
        "active_disclosure.20.5.punishment.decisions": (None, 7),
    }
    rows = db.execute("SELECT capture_id, report_id, previous_report_id, parser_version, "
                      "previous_parser_version, path, old_value, new_value FROM parse_changes "
                      "WHERE path = 'applications.granted.total'").fetchall()
    assert rows == [(1, new_id, old_id, "1.1", "1.0", "applications.granted.total", "2", "4")]
    # Another capture's reports are never compared with.
    _, other = store_report(db, 2, None, make_report("1.1"))
    assert other == []


def test_a_fix_that_makes_a_failing_file_parse_lists_added_values(db):
    fid = store_failure(db, 1, None, "1.0", "ValueError: bad table")
    row = db.execute("SELECT status, error, parser_version, checks_failed FROM reports "
                     "WHERE id = ?", (fid,)).fetchone()
    assert row == ("failed", "ValueError: bad table", "1.0", None)
    assert count(db, "applications", fid) == 0
    rid, changes = store_report(db, 1, None, make_report("1.1"))
    assert rid != fid
    paths = {c["path"] for c in changes}
    assert {"year", "agency", "applications.granted.total", "region.county"} <= paths
    assert all(c["old"] is None and c["previous_parser_version"] == "1.0" for c in changes)


def test_a_retried_failure_of_the_same_version_lists_nothing(db):
    """A timeout retried (`--retry-failed`) is not a parser change: the first values stored
    for this version are not listed as added."""
    fid = store_failure(db, 1, None, "1.0", "timeout: parsing took longer than 120 s")
    rid, changes = store_report(db, 1, None, make_report("1.0"))
    assert rid == fid  # same (capture, version): replaced
    assert changes == []
    assert db.execute("SELECT status FROM reports WHERE id = ?", (rid,)).fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM parse_changes").fetchone()[0] == 0


def test_failure_after_success_records_nothing_and_clears_long_rows(db):
    rid, _ = store_report(db, 1, None, make_report("1.0"))
    fid = store_failure(db, 1, None, "1.0", "timeout: parsing took longer than 120 s")
    assert fid == rid
    for table in ("applications", "active_disclosure", "review_litigation", "checks", "sections"):
        assert count(db, table, rid) == 0, table
    assert db.execute("SELECT count(*) FROM parse_changes").fetchone()[0] == 0


def test_a_timeout_after_a_fix_then_its_retry_lists_what_the_fix_changed_once(db):
    """v1 parsed; v2 parses (one change), times out on a re-parse, is retried: the
    change from v1 is listed once, never every value removed and added again."""
    v1, _ = store_report(db, 1, None, make_report("1.0"))
    fixed = make_report("1.1")
    fixed["applications"]["granted"]["total"] = 4
    v2, first = store_report(db, 1, None, fixed)
    assert [(c["path"], c["old"], c["new"]) for c in first] == [
        ("applications.granted.total", 2, 4)]
    for _ in range(2):
        assert store_failure(db, 1, None, "1.1", "timeout") == v2
        again_id, again = store_report(db, 1, None, fixed)
        assert again_id == v2
        assert [(c["path"], c["previous_parser_version"]) for c in again] == [
            ("applications.granted.total", "1.0")]
    rows = db.execute("SELECT report_id, previous_report_id, path, old_value, new_value "
                      "FROM parse_changes").fetchall()
    assert rows == [(v2, v1, "applications.granted.total", "2", "4")]
    # a re-parse of v2 that gives the same values lists nothing more
    assert store_report(db, 1, None, fixed)[1] == []


def test_region_is_compared(db):
    store_report(db, 1, None, make_report("1.0"))
    moved = make_report("1.1")
    moved["region"] = dict(moved["region"], county="某某县", adcode="320826")
    _, changes = store_report(db, 1, None, moved)
    assert {c["path"]: (c["old"], c["new"]) for c in changes} == {
        "region.county": ("某县", "某某县"), "region.adcode": ("320800", "320826")}
    assert compared_values(moved)["region.province"] == "江苏省"


def test_a_store_that_fails_midway_leaves_the_previous_report_whole(db):
    """The report row, its long rows and its changes are one transaction: a store that
    fails after the row is written (here a check without a rule) leaves nothing of it, and
    the report it was replacing is still there with all its rows."""
    rid, _ = store_report(db, 1, None, make_report("1.0"))
    before = {t: count(db, t, rid) for t in ("applications", "active_disclosure",
                                             "review_litigation", "checks", "sections")}
    broken = make_report("1.0", checks=[{"rule": None, "ok": True, "detail": "x"}])
    broken["applications"]["granted"]["total"] = 9
    with pytest.raises(sqlite3.IntegrityError):
        store_report(db, 1, None, broken)
    assert not db.in_transaction
    assert db.execute("SELECT id FROM reports").fetchall() == [(rid,)]
    assert {t: count(db, t, rid) for t in before} == before
    assert db.execute("SELECT value FROM applications WHERE report_id = ? AND row = 'granted'",
                      (rid,)).fetchone() == (2,)
    assert db.execute("SELECT count(*) FROM parse_changes").fetchone()[0] == 0


def test_one_transaction_on_an_autocommit_connection_too(data_dir, db):
    auto = sqlite3.connect(data_dir / "archive.db", isolation_level=None)
    try:
        rid, _ = store_report(auto, 1, None, make_report("1.0"))
        broken = make_report("1.1", checks=[{"rule": None, "ok": True, "detail": "x"}])
        with pytest.raises(sqlite3.IntegrityError):
            store_report(auto, 1, None, broken)
        assert auto.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
        assert auto.execute("SELECT count(*) FROM applications WHERE report_id != ?",
                            (rid,)).fetchone()[0] == 0
    finally:
        auto.close()


def test_report_without_version_is_refused(db):
    report = make_report()
    del report["parser_version"]
    with pytest.raises(ValueError):
        store_report(db, 1, None, report)


def test_document_id_is_kept(db):
    db.execute("INSERT INTO documents (id, url, kind) VALUES (7, 'http://a.gov.cn/1', 'page')")
    rid, _ = store_report(db, 1, 7, make_report())
    assert db.execute("SELECT document_id FROM reports WHERE id = ?", (rid,)).fetchone() == (7,)


def test_diff_flat():
    assert diff_flat({"a": 1, "b": None, "c": "2021"}, {"a": 1.0, "b": 0, "c": 2021}) == [
        ("b", None, 0), ("c", "2021", 2021)]
    assert diff_flat({}, {}) == []
    assert diff_flat({"x": 1}, {"x": 1}) == []
    assert diff_flat({"gone": None}, {"new": None}) == []  # a blank is not a value
