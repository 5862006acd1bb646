"""archive.catalog: runs, captures, errors and documents in archive.db."""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from archive.catalog import Catalog, archive_exchange, new_run_id
from archive.warc_writer import WarcWriterFile


@pytest.fixture
def catalog(data_dir):
    c = Catalog(data_dir / "archive.db")
    yield c
    c.close()


def capture_columns(run_id, **kw):
    cols = dict(run_id=run_id, portal="demo", url="http://a.gov.cn/x", final_url="http://a.gov.cn/x",
                status=200, headers=[["Content-Type", "text/html"], ["Set-Cookie", "a"],
                                     ["Set-Cookie", "b"]],
                fetched_at="2026-11-23T08:44:00.000000Z", payload_sha256="ab" * 32,
                payload_size=10, content_type="text/html", record_type="response",
                warc_file="f.warc.gz", warc_offset=100, warc_length=50)
    cols.update(kw)
    return cols


def test_run_id_format():
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", new_run_id())


def test_start_and_finish_run(catalog):
    run = catalog.start_run(["demo-county", "demo-town"], {"render": "auto"})
    row = catalog.get_run(run)
    assert row["status"] == "running"
    assert json.loads(row["portals"]) == ["demo-county", "demo-town"]
    assert json.loads(row["settings"]) == {"render": "auto"}
    assert row["finished_at"] is None

    catalog.add_capture(**capture_columns(run))
    catalog.add_crawl_error(run, "demo-county", "http://a.gov.cn/404", "HTTP 404")
    catalog.finish_run(run, "finished", {"requests": 7, "downloader/response_count": 6})
    row = catalog.get_run(run)
    assert row["status"] == "finished" and row["finished_at"]
    assert row["requests"] == 7          # from the stats
    assert row["captures"] == 1          # counted from the catalog
    assert row["bytes"] == 10
    assert row["errors"] == 1
    assert row["documents"] == 0
    assert json.loads(row["stats"])["downloader/response_count"] == 6


def test_wal_mode_and_commit_per_capture(catalog, data_dir):
    assert catalog.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    run = catalog.start_run([], {})
    cid = catalog.add_capture(**capture_columns(run))
    # Another connection sees it at once: nothing waits for close().
    other = sqlite3.connect(data_dir / "archive.db")
    assert other.execute("SELECT url FROM captures WHERE id = ?", (cid,)).fetchone() == (
        "http://a.gov.cn/x",)
    other.close()


def test_capture_headers_stored_as_json_pairs(catalog):
    run = catalog.start_run([], {})
    cid = catalog.add_capture(**capture_columns(run))
    row = catalog.get_capture(cid)
    assert json.loads(row["headers"]) == [["Content-Type", "text/html"], ["Set-Cookie", "a"],
                                          ["Set-Cookie", "b"]]
    assert row["method"] == "GET" and row["rendered"] == 0


def test_unknown_capture_column_is_refused(catalog):
    with pytest.raises(ValueError, match="bogus"):
        catalog.add_capture(**capture_columns("r", bogus=1))


def test_find_payload_returns_the_first_response(catalog):
    run = catalog.start_run([], {})
    assert catalog.find_payload("ab" * 32) is None
    first = catalog.add_capture(**capture_columns(run))
    catalog.add_capture(**capture_columns(run, record_type="revisit", refers_to=first,
                                          url="http://a.gov.cn/y"))
    catalog.add_capture(**capture_columns(run, url="http://a.gov.cn/z"))
    assert catalog.find_payload("ab" * 32)["id"] == first
    assert catalog.find_payload("cd" * 32) is None


def test_latest_capture_for_url(catalog):
    run = catalog.start_run([], {})
    catalog.add_capture(**capture_columns(run))
    second = catalog.add_capture(**capture_columns(run, status=304))
    redirected = catalog.add_capture(**capture_columns(run, url="http://a.gov.cn/old",
                                                       final_url="http://a.gov.cn/new"))
    assert catalog.latest_capture_for_url("http://a.gov.cn/x")["id"] == second
    assert catalog.latest_capture_for_url("http://a.gov.cn/new")["id"] == redirected
    assert catalog.latest_capture_for_url("http://a.gov.cn/none") is None


def test_crawl_error_row(catalog):
    run = catalog.start_run([], {})
    eid = catalog.add_crawl_error(run, "demo", "http://a.gov.cn/slow", "TimeoutError: took too long",
                                  "http://a.gov.cn/list.html")
    row = dict(zip(("run_id", "portal", "url", "referrer", "error"), catalog.conn.execute(
        "SELECT run_id, portal, url, referrer, error FROM crawl_errors WHERE id = ?",
        (eid,)).fetchone()))
    assert row == {"run_id": run, "portal": "demo", "url": "http://a.gov.cn/slow",
                   "referrer": "http://a.gov.cn/list.html", "error": "TimeoutError: took too long"}


def test_upsert_document_keeps_first_run_and_best_values(catalog):
    run1, run2 = catalog.start_run([], {}), catalog.start_run([], {})
    c1 = catalog.add_capture(**capture_columns(run1))
    c2 = catalog.add_capture(**capture_columns(run2))
    did, change = catalog.upsert_document("demo", "http://a.gov.cn/x",
                                          "2023年政府信息公开工作年度报告", "page",
                                          "http://a.gov.cn/list", run1, c1)
    again, change2 = catalog.upsert_document("demo", "http://a.gov.cn/x", None, "page", None,
                                             run2, c2)
    assert again == did and (change, change2) == ("new", "unchanged")  # same payload twice
    doc = catalog.get_document("http://a.gov.cn/x")
    assert doc["first_run_id"] == run1 and doc["last_run_id"] == run2
    assert doc["latest_capture_id"] == c2
    assert doc["title"] == "2023年政府信息公开工作年度报告"
    assert doc["referrer"] == "http://a.gov.cn/list"
    catalog.upsert_document("demo", "http://a.gov.cn/x", "新标题", "page", None, run2, None)
    doc = catalog.get_document("http://a.gov.cn/x")
    assert doc["latest_capture_id"] == c2 and doc["title"] == "新标题"
    assert catalog.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
    links = catalog.conn.execute("SELECT run_id, capture_id, change FROM document_captures "
                                 "ORDER BY rowid").fetchall()
    assert [tuple(r) for r in links] == [(run1, c1, "new"), (run2, c2, "unchanged")]


def test_document_change_follows_the_payload(catalog):
    run1, run2, run3 = (catalog.start_run([], {}) for _ in range(3))
    c1 = catalog.add_capture(**capture_columns(run1))
    c2 = catalog.add_capture(**{**capture_columns(run2), "payload_sha256": "f" * 64})
    c3 = catalog.add_capture(**{**capture_columns(run3), "status": 304})
    url = "http://a.gov.cn/y.pdf"
    assert catalog.upsert_document("demo", url, "t", "attachment", None, run1, c1)[1] == "new"
    assert catalog.upsert_document("demo", url, "t", "attachment", None, run2, c2)[1] == "changed"
    assert catalog.upsert_document("demo", url, "t", "attachment", None, run3, c3,
                                   not_modified=True)[1] == "unchanged"
    (row,) = catalog.record_portal_stats(run2, ["demo"])
    assert (row["new_reports"], row["changed_reports"], row["documents"]) == (0, 1, 1)


def test_archive_exchange_writes_response_then_revisit(catalog, data_dir):
    run = catalog.start_run([], {})
    with WarcWriterFile(data_dir / "warc", run) as w:
        a = archive_exchange(catalog, w, run_id=run, url="http://a.gov.cn/a.pdf", status=200,
                             body=b"%PDF-1.4 same", response_headers=[("Content-Type", "application/pdf")],
                             portal="demo", referrer="http://a.gov.cn/")
        b = archive_exchange(catalog, w, run_id=run, url="http://a.gov.cn/b.pdf", status=200,
                             body=b"%PDF-1.4 same")
    ra, rb = catalog.get_capture(a), catalog.get_capture(b)
    assert ra["record_type"] == "response" and ra["refers_to"] is None
    assert ra["content_type"] == "application/pdf" and ra["referrer"] == "http://a.gov.cn/"
    assert rb["record_type"] == "revisit" and rb["refers_to"] == a
    assert rb["payload_sha256"] == ra["payload_sha256"]
    assert rb["payload_size"] == len(b"%PDF-1.4 same")
    assert ra["warc_file"] == f"nianbao-{run}-00000.warc.gz" and ra["warc_offset"] > 0


def test_reopen_existing_catalog(data_dir):
    c = Catalog(data_dir / "archive.db")
    run = c.start_run(["p"], {})
    c.close()
    c = Catalog(data_dir / "archive.db")
    assert c.get_run(run)["portals"] == '["p"]'
    c.close()
