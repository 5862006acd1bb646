"""archive.reindex: the catalog rebuilt from the WARC files alone, row for row.

Real crawls of the farm (two runs, so revisits and unchanged documents are in it) are
reindexed after their catalog is deleted; every column of captures, crawl_runs, documents,
document_captures, crawl_errors, crawl_run_portals and portals must come back as it was, and
`verify` must pass on the result. A torn last record is reported and left out, never fatal.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog, archive_exchange_row
from archive.reader import read_capture
from archive.reindex import reindex
from archive.verify import verify_archive
from archive.warc_writer import WarcWriterFile
from crawler.farm.server import start_farm
from tests.test_crawl_farm import PLAIN_PORTALS, run_crawl_subprocess

# every table reindex rebuilds, by its key
TABLES = {"captures": "id", "crawl_runs": "id", "documents": "id",
          "document_captures": "document_id, run_id", "crawl_errors": "id",
          "crawl_run_portals": "run_id, portal", "portals": "name"}


def snapshot(db: Path) -> dict[str, list[dict]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY {key}")]
                for t, key in TABLES.items()}
    finally:
        conn.close()


def delete_catalog(data: Path) -> None:
    for path in data.glob("archive.db*"):
        path.unlink()


def assert_same_rows(before: dict, after: dict) -> None:
    for table in TABLES:
        assert len(after[table]) == len(before[table]), table
        for old, new in zip(before[table], after[table]):
            assert new == old, (table, {k: (v, new.get(k)) for k, v in old.items()
                                        if new.get(k) != v})


def copy_archive(data: Path, tmp: Path) -> Path:
    dest = tmp / "data"
    shutil.copytree(data, dest)
    return dest


@pytest.fixture(scope="module")
def farm_archive(tmp_path_factory):
    """Two crawls of every plain farm portal; the catalog as the crawls left it."""
    tmp = tmp_path_factory.mktemp("reindex")
    base, stop = start_farm()
    try:
        first = run_crawl_subprocess(tmp, base, PLAIN_PORTALS)
        second = run_crawl_subprocess(tmp, base, PLAIN_PORTALS)
    finally:
        stop()
    data = tmp / "data"
    return {"data": data, "runs": [first["run_id"], second["run_id"]],
            "before": snapshot(data / "archive.db")}


@pytest.fixture
def rebuilt(farm_archive, tmp_path):
    data = copy_archive(farm_archive["data"], tmp_path)
    delete_catalog(data)
    result = reindex(data)
    return {"data": data, "result": result, "after": snapshot(data / "archive.db")}


def test_the_crawl_has_what_reindex_must_rebuild(farm_archive):
    before = farm_archive["before"]
    kinds = {c["record_type"] for c in before["captures"]}
    assert kinds >= {"response", "unchanged"}  # the second run: a ledger of unchanged pages
    assert {dc["change"] for dc in before["document_captures"]} >= {"new", "unchanged"}
    assert before["crawl_errors"] and before["crawl_run_portals"] and before["portals"]
    assert [r["id"] for r in before["crawl_runs"]] == sorted(farm_archive["runs"])


def test_rebuilt_catalog_matches_the_original_row_for_row(farm_archive, rebuilt):
    result = rebuilt["result"]
    assert result.ok, result.describe()
    assert result.without_metadata == 0 and result.backup is None
    assert result.captures == len(farm_archive["before"]["captures"])
    assert_same_rows(farm_archive["before"], rebuilt["after"])


def test_verify_passes_on_the_rebuilt_archive(rebuilt):
    check = verify_archive(rebuilt["data"])
    assert check.ok, check.describe()
    assert check.captures_ok == rebuilt["result"].captures


def test_reindex_again_gives_the_same_catalog_and_keeps_the_old_one(farm_archive, rebuilt):
    data = rebuilt["data"]
    again = reindex(data)
    assert again.ok, again.describe()
    assert again.backup and again.backup.startswith("archive.db.bak-")
    assert_same_rows(farm_archive["before"], snapshot(data / "archive.db"))
    assert_same_rows(farm_archive["before"], snapshot(data / again.backup))
    third = reindex(data)
    assert third.backup != again.backup and (data / again.backup).exists()


def test_reindex_over_a_live_catalog_moves_it_aside_whole(farm_archive, tmp_path):
    data = copy_archive(farm_archive["data"], tmp_path)
    result = reindex(data)
    assert result.ok, result.describe()
    assert_same_rows(farm_archive["before"], snapshot(data / result.backup))
    assert_same_rows(farm_archive["before"], snapshot(data / "archive.db"))


def _last_file(data: Path) -> Path:
    return sorted((data / "warc").glob("*.warc.gz"))[-1]


def test_torn_last_record_is_reported_and_left_out(farm_archive, tmp_path):
    data = copy_archive(farm_archive["data"], tmp_path)
    path = _last_file(data)
    spans = []
    with open(path, "rb") as fh:  # a copy of the file's last exchange record, cut in the middle
        it = ArchiveIterator(fh)
        for record in it:
            record.raw_stream.read()
            spans.append((it.get_record_offset(), it.get_record_length(), record.rec_type))
    offset, length, _ = [s for s in spans if s[2] in ("response", "revisit")][-1]
    with open(path, "ab") as fh:
        fh.write(path.read_bytes()[offset:offset + length // 2])
    delete_catalog(data)
    result = reindex(data)
    assert not result.ok and any(path.name in p and ("torn" in p or "half-written" in p)
                                 for p in result.problems), result.describe()
    assert_same_rows(farm_archive["before"], snapshot(data / "archive.db"))


def test_a_file_cut_mid_record_keeps_every_record_before_the_cut(farm_archive, tmp_path):
    data = copy_archive(farm_archive["data"], tmp_path)
    path = _last_file(data)
    blob = path.read_bytes()
    path.write_bytes(blob[:len(blob) - 40])  # the run's closing record, torn
    delete_catalog(data)
    result = reindex(data)
    assert any("torn" in p or "half-written" in p or "unreadable" in p
               for p in result.problems), result.describe()
    after = snapshot(data / "archive.db")
    assert after["captures"] == farm_archive["before"]["captures"]


# -- from the records, without a crawl -------------------------------------------------------
RUN = "20261202T010000Z-abcdef"


def test_a_capture_without_its_metadata_record_is_indexed_from_its_exchange(data_dir):
    cat = Catalog(data_dir / "archive.db")
    cat.start_run(["demo"], {}, run_id=RUN)
    with WarcWriterFile(data_dir / "warc", RUN) as writer:
        described = archive_exchange_row(
            cat, writer, run_id=RUN, url="http://a.gov.cn/a.html", status=200, body=b"<p>a</p>",
            response_headers=[("Content-Type", "text/html")], portal="demo",
            request_headers={"Referer": "http://a.gov.cn/"}, referrer="http://a.gov.cn/",
            metadata={"kind": "page", "link_text": "2023年报"})
        bare = archive_exchange_row(  # as an archive older than the metadata records
            cat, writer, run_id=RUN, url="http://a.gov.cn/b.pdf", status=200, body=b"%PDF-b",
            response_headers=[("Content-Type", "application/pdf")],
            request_headers={"Referer": "http://a.gov.cn/a.html"}, referrer="http://a.gov.cn/a.html")
    cat.close()
    delete_catalog(data_dir)
    result = reindex(data_dir)
    assert result.without_metadata == 1 and result.captures == 2
    rows = snapshot(data_dir / "archive.db")["captures"]
    assert rows[0]["id"] == described["id"] and rows[0]["portal"] == "demo"
    assert rows[1]["portal"] is None and rows[1]["run_id"] == RUN  # from the file's warcinfo
    for row, want in zip(rows, (described, bare)):
        for col in ("url", "final_url", "status", "payload_sha256", "payload_size",
                    "content_type", "referrer", "warc_offset", "warc_length", "record_type"):
            assert row[col] == want[col], col
    # the run had no record (nothing but the catalog knew it): made from its captures
    (run,) = snapshot(data_dir / "archive.db")["crawl_runs"]
    assert run["id"] == RUN and run["status"] == "unknown" and run["captures"] == 2


def test_unicode_headers_survive_reindex(data_dir):
    """warcio %-encodes non-ASCII header values: the capture record keeps them as sent."""
    cat = Catalog(data_dir / "archive.db")
    cat.start_run(["demo"], {}, run_id=RUN)
    headers = [("Content-Type", "application/pdf"),
               ("Content-Disposition", 'attachment; filename="2023年报.pdf"'),
               ("Transfer-Encoding", "chunked")]
    with WarcWriterFile(data_dir / "warc", RUN) as writer:
        row = archive_exchange_row(cat, writer, run_id=RUN, url="http://a.gov.cn/f", status=200,
                                   body=b"%PDF-1.7", response_headers=headers, metadata={})
    cat.close()
    delete_catalog(data_dir)
    reindex(data_dir)
    (got,) = snapshot(data_dir / "archive.db")["captures"]
    assert json.loads(got["headers"]) == [list(h) for h in headers]
    assert got["id"] == row["id"]


def test_rendered_capture_rebuilt_with_its_conversion(data_dir):
    cat = Catalog(data_dir / "archive.db")
    cat.start_run(["demo"], {}, run_id=RUN)
    server = b"<html><body><div id=list></div><script>fill()</script></body></html>"
    dom = "<html><body><div id=list><a href=r.html>2023年报</a></div></body></html>".encode()
    with WarcWriterFile(data_dir / "warc", RUN) as writer:
        row = archive_exchange_row(cat, writer, run_id=RUN, url="http://a.gov.cn/list",
                                   status=200, body=server, rendered=True, rendered_dom=dom,
                                   response_headers=[("Content-Type", "text/html")],
                                   metadata={"body": "server"}, ip_address="127.0.0.1")
        writer.write_metadata(f"urn:nianbao:run:{RUN}", cat.run_record(RUN))
    cat.close()
    before = snapshot(data_dir / "archive.db")
    delete_catalog(data_dir)
    assert reindex(data_dir).ok
    assert_same_rows(before, snapshot(data_dir / "archive.db"))
    assert read_capture(data_dir, row["id"]).body == dom
    assert read_capture(data_dir, row["id"], server_bytes=True).body == server
    assert verify_archive(data_dir).ok


def test_empty_data_dir_gives_an_empty_catalog(data_dir):
    result = reindex(data_dir)
    assert result.ok and result.captures == 0 and result.backup is None
    assert (data_dir / "archive.db").exists()


def test_a_catalog_without_warc_files_is_left_alone(data_dir):
    with Catalog(data_dir / "archive.db") as cat:
        cat.start_run(["demo"], {}, run_id=RUN)
    result = reindex(data_dir)
    assert not result.ok and "no WARC files" in result.problems[0]
    assert result.backup is None and not list(data_dir.glob("archive.db.bak-*"))
    assert snapshot(data_dir / "archive.db")["crawl_runs"][0]["id"] == RUN


# -- the browser: rendered pages keep the server's bytes --------------------------------------
@pytest.mark.browser
def test_rendered_farm_pages_reindex_row_for_row(tmp_path):
    base, stop = start_farm()
    try:
        run_crawl_subprocess(tmp_path, base, ["demo-js", "demo-guarded"], render="auto")
    finally:
        stop()
    data = tmp_path / "data"
    before = snapshot(data / "archive.db")
    rendered = [c for c in before["captures"] if c["rendered"]]
    assert len(rendered) == 2  # the script-built list, and the page behind the challenge
    for c in rendered:
        dom = read_capture(data, c["id"])
        server = read_capture(data, c["id"], server_bytes=True)
        assert dom.from_conversion and not server.from_conversion
        assert dom.body != server.body and len(server.body) == c["payload_size"]
        with open(data / "warc" / c["warc_file"], "rb") as fh:
            fh.seek(c["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    delete_catalog(data)
    result = reindex(data)
    assert result.ok, result.describe()
    assert_same_rows(before, snapshot(data / "archive.db"))
    assert verify_archive(data).ok
