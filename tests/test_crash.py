"""Crash safety: a `nianbao crawl` killed with SIGKILL at any moment, then started again.

The next crawl repairs the archive before it writes (archive.repair): a torn last record is
moved to data/quarantine/ and cut off, the catalog rows without a complete record go, and
complete records the catalog missed are catalogued; `nianbao verify` then passes and every
complete record written before the kill is still there, byte for byte.
"""
from __future__ import annotations

import hashlib
import random
import signal
import sqlite3
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.repair import repair_warcs
from archive.verify import verify_archive
from crawler.farm.server import start_farm
from test_crawl_farm import FAST, nianbao, portals_file, run_crawl_subprocess

PORTALS = ["demo-gbk", "demo-county"]  # demo-gbk: a slow page and a 3 GB attachment


@pytest.fixture(scope="module")
def farm():
    base, stop = start_farm()
    try:
        yield base
    finally:
        stop()


def crawl_cmd(tmp: Path, base: str) -> list[str]:
    cmd = nianbao() + ["crawl", "--data", str(tmp / "data"), "--portals",
                       str(portals_file(tmp, base)), "--no-parse", "--render", "never", *FAST]
    for name in PORTALS:
        cmd += ["--portal", name]
    return cmd


def complete_records(data: Path) -> dict[tuple[str, int], tuple]:
    """{(file, offset): (record id, type, sha256 of the record's bytes)} of every complete
    record (its gzip member whole, its payload all there), read independently of repair."""
    out = {}
    for path in sorted((data / "warc").glob("*.warc*")):
        raw = path.read_bytes()
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            try:
                for rec in it:
                    size = len(rec.raw_stream.read())
                    off, length = it.get_record_offset(), it.get_record_length()
                    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    d.decompress(raw[off:off + length])
                    expected = rec.payload_length if rec.payload_length >= 0 else rec.length
                    if not d.eof or (expected is not None and size < expected):
                        break
                    out[(path.name, off)] = (rec.rec_headers.get_header("WARC-Record-ID"),
                                             rec.rec_type,
                                             hashlib.sha256(raw[off:off + length]).hexdigest())
            except Exception:
                pass
    return out


def good_ends(records: dict) -> dict[str, int]:
    ends: dict[str, int] = {}
    for (name, off), _ in records.items():
        ends[name] = max(ends.get(name, 0), off)
    return ends


def kill_after(tmp: Path, base: str, delay: float, until_warc: bool = False) -> None:
    """Start a crawl and SIGKILL it `delay` s after it starts (or after its first WARC
    records appear, with `until_warc`)."""
    proc = subprocess.Popen(crawl_cmd(tmp, base), cwd=tmp, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        if until_warc:
            deadline = time.monotonic() + 30
            warc = tmp / "data" / "warc"
            while time.monotonic() < deadline and proc.poll() is None and not any(
                    p.stat().st_size > 0 for p in warc.glob("*.warc*")):
                time.sleep(0.02)
        time.sleep(delay)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def torn_tails(data: Path, before: dict) -> dict[str, int]:
    """{file: offset where its complete records end} for files with bytes after that."""
    out = {}
    for path in sorted((data / "warc").glob("*.warc*")):
        recs = [(off, v) for (n, off), v in before.items() if n == path.name]
        end = 0
        if recs:
            off = max(o for o, _ in recs)
            end = off + _length(path, off)
        if end < path.stat().st_size:
            out[path.name] = end
    return out


def _length(path: Path, offset: int) -> int:
    with open(path, "rb") as fh:
        fh.seek(offset)
        it = ArchiveIterator(fh)
        rec = next(iter(it))
        rec.raw_stream.read()
        it.read_to_end(rec)
        return it.get_record_length()


def check_quarantine(data: Path, tails: dict[str, int], originals: dict[str, bytes]) -> None:
    for name, end in tails.items():
        torn = data / "quarantine" / f"{name}.{end}.torn"
        assert torn.exists(), sorted(p.name for p in (data / "quarantine").glob("*"))
        assert torn.read_bytes() == originals[name][end:]
        assert (data / "warc" / name).read_bytes() == originals[name][:end]


@pytest.mark.parametrize("where", ["between request and response", "mid-record"])
def test_torn_last_record_quarantined_and_crawl_recovers(farm, tmp_path, where):
    run_crawl_subprocess(tmp_path, farm, PORTALS)
    data = tmp_path / "data"
    db = sqlite3.connect(data / "archive.db")
    (name, offset, length), = db.execute(
        "SELECT warc_file, warc_offset, warc_length FROM captures WHERE record_type = "
        "'response' ORDER BY warc_offset DESC LIMIT 1")
    db.close()
    path = data / "warc" / name
    cut = offset if where == "between request and response" else offset + length // 2
    with open(path, "r+b") as fh:  # what a kill at that moment leaves
        fh.truncate(cut)
    originals = {name: path.read_bytes()}
    before = complete_records(data)
    tails = torn_tails(data, before)
    assert (tails == {name: offset}) if where == "mid-record" else (tails == {})
    assert not verify_archive(data).ok  # the catalog names a capture that is not there

    run_crawl_subprocess(tmp_path, farm, PORTALS)
    result = verify_archive(data)
    assert result.ok, result.describe()
    after = complete_records(data)
    assert {k: after.get(k) for k in before} == before  # nothing complete lost
    check_quarantine(data, tails, originals)
    db = sqlite3.connect(data / "archive.db")
    errors = [e for (e,) in db.execute("SELECT error FROM crawl_errors WHERE url = "
                                       "'urn:nianbao:repair'")]
    assert len(errors) == 1 and "catalog capture(s) without a complete record removed" in errors[0]
    # no document points to a removed capture
    assert db.execute("SELECT COUNT(*) FROM documents WHERE latest_capture_id IS NOT NULL AND "
                      "latest_capture_id NOT IN (SELECT id FROM captures)").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM document_captures WHERE capture_id IS NOT NULL AND "
                      "capture_id NOT IN (SELECT id FROM captures)").fetchone() == (0,)


def test_kill_during_a_large_download_then_recover(farm, tmp_path):
    # the 3 GB attachment streams until the 200 MB DOWNLOAD_MAXSIZE: kill while it does
    kill_after(tmp_path, farm, 0.8, until_warc=True)
    data = tmp_path / "data"
    before = complete_records(data)
    assert before, "the crawl was killed before it wrote anything"
    originals = {p.name: p.read_bytes() for p in (data / "warc").glob("*.warc*")}
    tails = torn_tails(data, before)
    run_crawl_subprocess(tmp_path, farm, PORTALS)
    result = verify_archive(data)
    assert result.ok, result.describe()
    after = complete_records(data)
    assert {k: after.get(k) for k in before} == before
    check_quarantine(data, tails, originals)


def test_killed_at_random_moments_then_recover(farm, tmp_path):
    rng = random.Random(9)
    data = tmp_path / "data"
    seen: dict = {}
    for _ in range(4):
        kill_after(tmp_path, farm, rng.uniform(0.0, 1.5), until_warc=rng.random() < 0.75)
        before = complete_records(data)
        originals = {p.name: p.read_bytes() for p in (data / "warc").glob("*.warc*")}
        tails = torn_tails(data, before)
        assert {k: before.get(k) for k in seen} == seen  # earlier records survive later kills
        # the next start repairs (done by the crawl; here directly, to check each kill)
        repaired = repair_warcs(data)
        check_quarantine(data, tails, originals)
        result = verify_archive(data)
        assert result.ok, (repaired.describe(), result.describe())
        seen = complete_records(data)
        assert {k: seen.get(k) for k in before} == before
    stats = run_crawl_subprocess(tmp_path, farm, PORTALS)
    assert stats["status"] == "finished"
    result = verify_archive(data)
    assert result.ok, result.describe()
    assert {k: v for k, v in complete_records(data).items() if k in seen} == seen
