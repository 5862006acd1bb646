"""`export_wacz` on a real archive: two crawls of the farm (the second makes revisits and
304s), exported, then checked with wacz's own validation, against the catalog (pages,
CDXJ index, datapackage digests), replayed through pywb on 127.0.0.1 byte for byte, and
exported again with a torn last WARC record. JSON `metadata` and `conversion` records under
a page's own URL and time are added to the crawl's WARCs: replay must still give the page.

pywb 2.10 installs a top-level `tests` package that hides this one, so it must not share the
project's venv: the replay test uses `wayback` and `wb-manager` from `$NIANBAO_PYWB` (a bin
directory), else from beside this interpreter or on PATH, and is skipped when there are none.
"""
from __future__ import annotations

import email.utils
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from archive.export_wacz import ExportError, export_wacz, run_wacz
from archive.reader import read_record
from crawler.farm.server import start_farm
from tests.test_crawl_farm import run_crawl_subprocess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wacz")
    base, stop = start_farm()
    try:
        run_crawl_subprocess(tmp, base, ["demo-county", "demo-gbk"])
        run_crawl_subprocess(tmp, base, ["demo-county"])
    finally:
        stop()
    data = tmp / "data"
    _add_records_about_pages(data)
    result = export_wacz(data, tmp / "out" / "archive.wacz")
    db = sqlite3.connect(data / "archive.db")
    db.row_factory = sqlite3.Row
    yield {"tmp": tmp, "data": data, "result": result, "wacz": result.path, "db": db}
    db.close()


def _add_records_about_pages(data: Path) -> None:
    """A JSON metadata record and a rendered-DOM conversion record for every report document,
    at its response's WARC-Date, as the WARC writer may write them."""
    db = sqlite3.connect(data / "archive.db")
    rows = db.execute("SELECT c.final_url, c.fetched_at, c.warc_record_id FROM documents d "
                      "JOIN captures c ON c.id = (SELECT min(capture_id) FROM "
                      "document_captures WHERE document_id = d.id)").fetchall()
    db.close()
    last = sorted((data / "warc").glob("*.warc.gz"))[-1]
    with open(last, "ab") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        for url, date, record_id in rows:
            for rec_type, ctype, payload in (
                    ("metadata", "application/json", json.dumps({"portal": "x"}).encode()),
                    ("conversion", "text/html", b"<html><body>rendered</body></html>")):
                writer.write_record(writer.create_warc_record(
                    url, rec_type, payload=io.BytesIO(payload), length=len(payload),
                    warc_content_type=ctype,
                    warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": record_id}))


def record_types(path: Path) -> dict[int, str]:
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        return {it.get_record_offset(): r.rec_type for r in it}


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def cdxj(wacz: Path) -> list[tuple[str, str, dict]]:
    lines = gzip.decompress(members(wacz)["indexes/index.cdx.gz"]).decode().splitlines()
    return [(key, ts, json.loads(rest)) for key, ts, rest in (l.split(" ", 2) for l in lines)]


def pages(wacz: Path) -> tuple[dict, list[dict]]:
    header, *rest = [json.loads(l) for l in
                     members(wacz)["pages/pages.jsonl"].decode().splitlines()]
    return header, rest


def ts14(iso: str) -> str:
    return "".join(c for c in iso if c.isdigit())[:14]


def validate(wacz: Path) -> subprocess.CompletedProcess:
    out = run_wacz(["validate", "-f", str(wacz)], timeout=120)
    assert out.returncode == 0 and "the passed WACZ is valid" in out.stdout, out.stdout + out.stderr
    return out


def test_wacz_validates(archive):
    validate(archive["wacz"])
    r = archive["result"]
    (captures,) = archive["db"].execute("SELECT count(*) FROM captures").fetchone()
    assert r.captures == captures and not r.skipped and not r.notes and r.skipped_bytes == 0
    assert r.size == archive["wacz"].stat().st_size
    assert str(archive["wacz"]) in r.describe()


def test_wacz_holds_the_warcs_unchanged_and_stored(archive):
    got = members(archive["wacz"])
    warcs = sorted((archive["data"] / "warc").glob("*.warc.gz"))
    assert len(warcs) == 2 == archive["result"].warc_files
    # and one made for the export: the unchanged ledgers' captures as revisit records
    [made] = [n for n in got if n.startswith("archive/nianbao-unchanged-revisits-")]
    assert set(got) == {f"archive/{p.name}" for p in warcs} | {made} | {
        "indexes/index.cdx.gz", "indexes/index.idx", "pages/pages.jsonl",
        "datapackage.json", "datapackage-digest.json"}
    for p in warcs:
        assert got[f"archive/{p.name}"] == p.read_bytes()
    with zipfile.ZipFile(archive["wacz"]) as z:  # replay tools read WARCs in place
        assert {i.compress_type for i in z.infolist()
                if i.filename.startswith("archive/")} == {zipfile.ZIP_STORED}


def test_datapackage_digests_match_the_files(archive):
    got = members(archive["wacz"])
    package = json.loads(got["datapackage.json"])
    listed = {r["path"]: r for r in package["resources"]}
    assert set(listed) == set(got) - {"datapackage.json", "datapackage-digest.json"}
    for path, res in listed.items():
        assert res["hash"] == "sha256:" + hashlib.sha256(got[path]).hexdigest(), path
        assert res["bytes"] == len(got[path]), path
    digest = json.loads(got["datapackage-digest.json"])
    assert digest["hash"] == "sha256:" + hashlib.sha256(got["datapackage.json"]).hexdigest()
    assert package["wacz_version"] and package["title"] == "nianbao archive"


def test_cdxj_index_has_every_capture_at_its_catalog_offset(archive):
    index = {(e["filename"], int(e["offset"])): e for _, _, e in cdxj(archive["wacz"])}
    rows = archive["db"].execute("SELECT * FROM captures").fetchall()
    by_visit = {(e["url"], ts): e for _, ts, e in cdxj(archive["wacz"])}
    unchanged = 0
    for row in rows:
        if row["record_type"] == "unchanged":  # a revisit record made for the export
            entry = by_visit[(row["final_url"], ts14(row["fetched_at"]))]
            assert entry["filename"].startswith("nianbao-unchanged-revisits-")
            assert entry["mime"] == "warc/revisit"
            unchanged += 1
        else:
            entry = index[(row["warc_file"], row["warc_offset"])]
            assert int(entry["length"]) == row["warc_length"]
        assert entry["url"] == row["final_url"]
        assert int(entry["status"]) == row["status"]
    assert unchanged == archive["result"].unchanged > 0
    # only what replays is indexed: never the request, metadata or conversion records
    ours = {name for name, _ in index if (archive["data"] / "warc" / name).exists()}
    types = {name: record_types(archive["data"] / "warc" / name) for name in ours}
    assert {types[name][offset] for name, offset in index if name in ours} <= {
        "response", "revisit", "resource", "warcinfo"}
    assert "metadata" in {t for recs in types.values() for t in recs.values()}


def test_pages_list_report_documents_and_pages(archive):
    header, listed = pages(archive["wacz"])
    assert header["format"] == "json-pages-1.0" and header["id"] == "pages"
    db = archive["db"]
    by_id = {p["id"]: p for p in listed}
    assert len(by_id) == len(listed) == archive["result"].pages
    # every report document, with its title, at its first capture of each payload
    documents = db.execute("SELECT id, url, title FROM documents").fetchall()
    assert len(documents) == archive["result"].documents == 6
    for doc in documents:
        (first,) = db.execute(
            "SELECT min(c.id) FROM document_captures dc JOIN captures c ON c.id = dc.capture_id "
            "WHERE dc.document_id = ? AND c.status = 200", (doc["id"],)).fetchone()
        page = by_id[f"capture-{first}"]
        assert (page["url"], page["title"]) == (doc["url"], doc["title"])
    # and every HTML page fetched with status 200; a revisit of bytes listed is not again
    html = db.execute("SELECT id, final_url, payload_sha256 FROM captures WHERE status = 200 "
                      "AND content_type LIKE 'text/html%' ORDER BY id").fetchall()
    first_of = {}
    for row in html:
        first_of.setdefault((row["final_url"], row["payload_sha256"]), row["id"])
    assert {f"capture-{i}" for i in first_of.values()} <= set(by_id)
    assert not [r for r in html if r["id"] not in first_of.values()
                and f"capture-{r['id']}" in by_id]
    # the home page is only a revisit in the second run: listed once
    assert len([p for p in listed if p["url"].endswith("/county/")]) == 1
    # each page is in the index at its own time
    keys = {(e["url"], ts) for _, ts, e in cdxj(archive["wacz"])}
    for page in listed:
        assert (page["url"], ts14(page["ts"])) in keys, page
        assert page["ts"] == db.execute("SELECT fetched_at FROM captures WHERE id = ?", (
            int(page["id"].split("-")[1]),)).fetchone()[0]


def test_nothing_to_export(tmp_path):
    with pytest.raises(ExportError, match="no WARC files"):
        export_wacz(tmp_path, tmp_path / "x.wacz")
    assert not (tmp_path / "x.wacz").exists()


# -- torn records ------------------------------------------------------------------------
def _records(path: Path) -> list[tuple[int, int, str]]:
    """(offset, length, type) of every record."""
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        return [(it.get_record_offset(), it.get_record_length(), r.rec_type) for r in it]


def _copy_data(archive, name: str) -> Path:
    data = archive["tmp"] / name / "data"
    shutil.copytree(archive["data"], data, ignore=shutil.ignore_patterns("jobs", "logs", "*.lock"))
    return data


@pytest.mark.parametrize("how", ["killed while writing a response", "half a record appended"])
def test_torn_last_record_is_left_out_and_reported(archive, how):
    data = _copy_data(archive, how.replace(" ", "-"))
    first_run = sorted((data / "warc").glob("*.warc.gz"))[0]
    whole = first_run.read_bytes()
    if how == "killed while writing a response":
        offset, length, _ = [r for r in _records(first_run) if r[2] == "response"][-1]
        first_run.write_bytes(whole[:offset + length // 2])
        kept = whole[:offset]
    else:
        offset, length, _ = _records(first_run)[-1]
        first_run.write_bytes(whole + whole[offset:offset + length // 2])
        kept = whole
    result = export_wacz(data, data.parent / "torn.wacz")

    assert len(result.skipped) == 1 and result.skipped[0].startswith(first_run.name)
    assert "torn" in result.skipped[0] and "torn" in result.describe()
    assert result.skipped_bytes == first_run.stat().st_size - len(kept)
    assert members(result.path)[f"archive/{first_run.name}"] == kept
    validate(result.path)
    # a capture whose record was cut is neither in the index nor in pages.jsonl, and is named
    db = sqlite3.connect(data / "archive.db")
    cut = {cid for (cid,) in db.execute("SELECT id FROM captures WHERE warc_file = ? AND "
                                        "warc_offset >= ?", (first_run.name, len(kept)))}
    (total,) = db.execute("SELECT count(*) FROM captures").fetchone()
    db.close()
    assert bool(cut) == (how == "killed while writing a response")
    assert result.captures == total - len(cut)
    _, listed = pages(result.path)
    assert not {p["id"] for p in listed} & {f"capture-{c}" for c in cut}
    assert all(int(e["offset"]) < len(kept) for _, _, e in cdxj(result.path)
               if e["filename"] == first_run.name)
    if cut:
        assert [n for n in result.notes if n.endswith(", ".join(map(str, sorted(cut))))]


# -- replay through pywb -----------------------------------------------------------------
def _pywb_bin() -> Path | None:
    candidates = [os.environ.get("NIANBAO_PYWB"), str(Path(sys.executable).parent)]
    which = shutil.which("wayback")
    candidates.append(str(Path(which).parent) if which else None)
    for c in candidates:
        if c and (Path(c) / "wayback").exists() and (Path(c) / "wb-manager").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pywb(archive):
    bin_dir = _pywb_bin()
    if bin_dir is None:
        pytest.skip("pywb not found: set NIANBAO_PYWB to the bin directory of a venv with pywb")
    root = archive["tmp"] / "pywb"
    root.mkdir()
    for args in (["init", "nianbao"], ["add", "--unpack-wacz", "nianbao", str(archive["wacz"])]):
        out = subprocess.run([str(bin_dir / "wb-manager"), *args], cwd=root, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    port = _free_port()
    server = subprocess.Popen([str(bin_dir / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
                              cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(server.stdout.read().decode()[-3000:])
                time.sleep(0.2)
        yield base + "/nianbao"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _replay(coll: str, url: str, ts: str) -> bytes:
    # id_: the archived payload as stored, not rewritten for the browser
    with urllib.request.urlopen(f"{coll}/{ts}id_/{url}", timeout=20) as r:
        assert r.status == 200
        return r.read()


def test_pywb_replays_archived_bytes(archive, pywb):
    db, data = archive["db"], archive["data"]
    _, listed = pages(archive["wacz"])
    gbk = next(p for p in listed if "/gbk/zwgk/ndbg/2022/" in p["url"])
    pdf = next(p for p in listed if p["url"].endswith(".pdf"))
    for page in (gbk, pdf):
        row = db.execute("SELECT * FROM captures WHERE id = ?",
                         (int(page["id"].split("-")[1]),)).fetchone()
        stored = read_record(data / "warc" / row["warc_file"], row["warc_offset"]).raw_payload
        body = _replay(pywb, page["url"], ts14(page["ts"]))
        assert body == stored
        assert hashlib.sha256(body).hexdigest() == row["payload_sha256"]
    # the second run's unchanged home page (a ledger entry, a revisit record in the export)
    # replays its original's bytes, as a visit of its own time
    revisit = db.execute("SELECT * FROM captures WHERE record_type = 'unchanged' AND status = 200 "
                         "AND url LIKE '%/county/' ORDER BY id DESC").fetchone()
    original = db.execute("SELECT * FROM captures WHERE id = ?", (revisit["refers_to"],)).fetchone()
    assert ts14(revisit["fetched_at"]) != ts14(original["fetched_at"])
    body = _replay(pywb, revisit["final_url"], ts14(revisit["fetched_at"]))
    assert body == read_record(data / "warc" / original["warc_file"],
                               original["warc_offset"]).raw_payload
    url = f"{pywb}/{ts14(revisit['fetched_at'])}id_/{revisit['final_url']}"
    with urllib.request.urlopen(url, timeout=20) as r:
        when = email.utils.parsedate_to_datetime(r.headers["Memento-Datetime"])
    assert when.strftime("%Y%m%d%H%M%S") == ts14(revisit["fetched_at"])
