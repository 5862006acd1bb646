"""A re-crawl that finds the same bytes at the same URL: an `unchanged` capture in its run's
ledger record (archive.warc_writer, archive.catalog), not a request/revisit/metadata triple.
Read back, verified, repaired after a kill and rebuilt by reindex like any other capture."""
from __future__ import annotations

import json
import sqlite3

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import warc_writer
from archive.catalog import UNCHANGED, Catalog, archive_exchange_row, flush_unchanged
from archive.reader import read_capture
from archive.reindex import reindex
from archive.repair import repair_warcs
from archive.verify import verify_archive
from archive.warc_writer import UNCHANGED_URI, WarcWriterFile

RUN1, RUN2 = "20261202T010000Z-aaaaaa", "20261202T020000Z-bbbbbb"
PAGE = "<html><body>2023年政府信息公开工作年度报告 列表</body></html>".encode("utf-8")


def records(data_dir) -> list[tuple[str, str, object, int, str]]:
    """(type, target URI, JSON or payload, offset, file) of every record."""
    out = []
    for path in sorted((data_dir / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for r in it:
                body = r.content_stream().read()
                if r.rec_type == "metadata":
                    body = json.loads(body)
                out.append((r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), body,
                            it.get_record_offset(), path.name))
    return out


def capture(cat, writer, run, url, body=PAGE, status=200, **kw):
    return archive_exchange_row(
        cat, writer, run_id=run, url=url, status=status, body=body,
        response_headers=[("Content-Type", "text/html; charset=utf-8"),
                          ("Date", f"run {run}")],
        request_headers={"User-Agent": "nianbao-test"}, portal="demo", metadata={}, **kw)


@pytest.fixture
def archive(data_dir):
    """Run 1 fetched a.html and b.html; run 2 (still open) found a.html unchanged."""
    cat = Catalog(data_dir / "archive.db")
    cat.start_run(["demo"], {}, run_id=RUN1)
    with WarcWriterFile(data_dir / "warc", RUN1) as w1:
        first = capture(cat, w1, RUN1, "http://a.gov.cn/a.html")
        other = capture(cat, w1, RUN1, "http://a.gov.cn/b.html", body=b"<p>b</p>")
    cat.start_run(["demo"], {}, run_id=RUN2)
    w2 = WarcWriterFile(data_dir / "warc", RUN2)
    again = capture(cat, w2, RUN2, "http://a.gov.cn/a.html")
    yield {"cat": cat, "writer": w2, "first": first, "other": other, "again": again,
           "data": data_dir}
    w2.close()
    cat.close()


def test_the_same_bytes_at_the_same_url_go_in_the_ledger_not_in_records(archive):
    data, again, first = archive["data"], archive["again"], archive["first"]
    assert again["record_type"] == UNCHANGED and again["refers_to"] == first["id"]
    assert again["warc_file"] is None  # waiting for the ledger record
    assert [r for r in records(data) if RUN2 in r[4]] == []  # not even a file yet

    assert flush_unchanged(archive["cat"], archive["writer"]) == 1
    row = archive["cat"].get_capture(again["id"])
    kinds = [(r[0], r[1]) for r in records(data) if RUN2 in r[4]]
    assert kinds == [("warcinfo", None), ("metadata", UNCHANGED_URI + RUN2)]
    ledger = next(r for r in records(data) if r[1] == UNCHANGED_URI + RUN2)
    assert (row["warc_file"], row["warc_offset"]) == (ledger[4], ledger[3])
    [entry] = ledger[2]["captures"]
    assert entry["id"] == again["id"] and entry["status"] == 200
    assert entry["refers_to_record"] == first["warc_record_id"]
    assert entry["payload_sha256"] == first["payload_sha256"]
    assert ["Date", f"run {RUN2}"] in entry["headers"]  # this visit's own headers
    assert ["User-Agent", "nianbao-test"] in entry["request_headers"]

    cap = read_capture(data, again["id"])
    assert cap.body == PAGE and cap.record_type == UNCHANGED and cap.status == 200
    assert ("Date", f"run {RUN2}") in cap.headers
    archive["writer"].close()
    result = verify_archive(data)
    assert result.ok and result.captures_ok == 3, result.describe()


def test_the_same_bytes_at_another_url_are_still_a_revisit_record(archive):
    copy = capture(archive["cat"], archive["writer"], RUN2, "http://a.gov.cn/copy-of-b.html",
                   body=b"<p>b</p>")
    assert copy["record_type"] == "revisit" and copy["refers_to"] == archive["other"]["id"]
    assert copy["warc_file"] is not None  # replay tools need its own record at this URL


def test_an_error_page_shared_by_many_urls_is_unchanged_where_it_was_before(archive):
    """A CMS answers every missing page with one 404 body: its first record is another
    URL's, yet a re-crawl finding the same 404 where it found it before writes nothing."""
    cat, w2 = archive["cat"], archive["writer"]
    missing = b"<h1>404</h1>"
    with WarcWriterFile(archive["data"] / "warc", RUN1 + "x") as w:
        capture(cat, w, RUN1, "http://a.gov.cn/gone-1.html", body=missing, status=404)
        before = capture(cat, w, RUN1, "http://a.gov.cn/gone-2.html", body=missing, status=404)
    assert before["record_type"] == "revisit"
    again = capture(cat, w2, RUN2, "http://a.gov.cn/gone-2.html", body=missing, status=404)
    assert again["record_type"] == UNCHANGED and again["status"] == 404
    # the same body now answering 200 is news, whatever it was before
    now_ok = capture(cat, w2, RUN2, "http://a.gov.cn/gone-1.html", body=missing)
    assert now_ok["record_type"] == "revisit"
    flush_unchanged(cat, w2)
    cap = read_capture(archive["data"], again["id"])
    assert (cap.status, cap.body) == (404, missing)


def test_a_304_to_a_conditional_request_is_unchanged_too(archive):
    first = archive["first"]
    again = capture(archive["cat"], archive["writer"], RUN2, "http://a.gov.cn/a.html", body=b"",
                    status=304, not_modified_of=archive["cat"].get_capture(first["id"]))
    assert again["record_type"] == UNCHANGED and again["status"] == 304
    assert again["payload_sha256"] == first["payload_sha256"]
    assert read_capture(archive["data"], again["id"]).body == PAGE


def test_a_verify_before_the_ledger_is_written_says_the_capture_waits(archive):
    result = verify_archive(archive["data"])
    assert not result.ok and "waiting for its run's ledger record" in result.describe()


def test_the_ledger_writes_itself_when_full(archive, monkeypatch):
    monkeypatch.setattr(warc_writer, "LEDGER_SIZE", 3)
    cat, w = archive["cat"], archive["writer"]
    urls = [f"http://a.gov.cn/p{i}.html" for i in range(5)]
    for url in urls:  # the second visit of each is unchanged
        capture(cat, w, RUN2, url, body=url.encode())
        capture(cat, w, RUN2, url, body=url.encode())
    ledgers = [r[2]["captures"] for r in records(archive["data"]) if r[1] == UNCHANGED_URI + RUN2]
    assert [len(e) for e in ledgers] == [3, 3]  # a.html and 5 more; none left waiting
    assert w.unchanged_pending == 0


def test_a_ledger_entry_costs_a_fraction_of_a_revisit_record_pair(data_dir):
    cat = Catalog(data_dir / "archive.db")
    cat.start_run(["demo"], {}, run_id=RUN1)
    urls = [f"http://www.a.gov.cn/xxgk/ndbg/2023/{i:04d}.html" for i in range(100)]
    with WarcWriterFile(data_dir / "warc", RUN1) as w:
        for url in urls:
            capture(cat, w, RUN1, url, body=url.encode() * 40)
        for url in urls:  # a revisit each (another URL, the same bytes): three records
            capture(cat, w, RUN1, url + "?copy", body=url.encode() * 40)
        before = w._fh.tell()
        for url in urls:
            capture(cat, w, RUN1, url, body=url.encode() * 40)
        assert flush_unchanged(cat, w) == 100
        ledger = w._fh.tell() - before
    path = data_dir / "warc" / records(data_dir)[0][4]
    kinds = ("request", "revisit", "metadata")
    assert sum(1 for r in records(data_dir) if r[0] == "revisit") == 100
    revisit = _bytes_of(path, kinds, after_url="?copy") / 100
    assert ledger / 100 < revisit / 5, (ledger / 100, revisit)
    cat.close()


def _bytes_of(path, kinds, after_url) -> int:
    """Bytes on disk of the records of `kinds` about URLs containing `after_url`."""
    total = 0
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for r in it:
            r.content_stream().read()
            if r.rec_type in kinds and after_url in (r.rec_headers.get_header("WARC-Target-URI")
                                                     or ""):
                total += it.get_record_length()
    return total


def test_a_kill_before_the_ledger_is_written_loses_only_those_captures(archive):
    data, again = archive["data"], archive["again"]
    cat = archive["cat"]
    cat.upsert_document("demo", "http://a.gov.cn/a.html", "a", "page", None, RUN1,
                        archive["first"]["id"])
    cat.upsert_document("demo", "http://a.gov.cn/a.html", "a", "page", None, RUN2, again["id"])
    archive["writer"]._unchanged.clear()  # the process died with its ledger in memory
    result = repair_warcs(data)
    assert result.removed_captures == [again["id"]], result.describe()
    assert cat.get_capture(again["id"]) is None
    doc = cat.get_document("http://a.gov.cn/a.html")
    assert doc["latest_capture_id"] == archive["first"]["id"]
    assert verify_archive(data).ok


def test_a_kill_after_the_ledger_is_written_gives_its_captures_their_place(archive):
    data, again = archive["data"], archive["again"]
    archive["writer"].close()  # the ledger reaches the file; its rows are never updated
    assert archive["cat"].get_capture(again["id"])["warc_file"] is None
    result = repair_warcs(data)
    assert result.placed_captures == [again["id"]] and not result.removed_captures
    row = archive["cat"].get_capture(again["id"])
    assert row["warc_file"] is not None and read_capture(data, row).body == PAGE
    assert verify_archive(data).ok, verify_archive(data).describe()


def test_reindex_rebuilds_unchanged_captures_whole(archive):
    data = archive["data"]
    flush_unchanged(archive["cat"], archive["writer"])
    archive["writer"].close()
    conn = sqlite3.connect(data / "archive.db")
    conn.row_factory = sqlite3.Row
    before = [dict(r) for r in conn.execute("SELECT * FROM captures ORDER BY id")]
    conn.close()
    archive["cat"].close()
    (data / "archive.db").unlink()
    result = reindex(data)
    conn = sqlite3.connect(data / "archive.db")
    conn.row_factory = sqlite3.Row
    after = [dict(r) for r in conn.execute("SELECT * FROM captures ORDER BY id")]
    assert after == before, result.describe()
    assert after[-1]["record_type"] == UNCHANGED
