"""Re-parse after a parser fix: `nianbao parse [--all]` as a user runs it.

The archives here are written with the archive's own writer (`archive_exchange`): copies of
the real examples in tests/examples (text, HTML and PDF), each copy a different payload, so
that every capture is a `response` record parsed by the real parser.

- The parser's output depends only on the bytes: parsing the same archive again changes
  nothing (no `parse_changes` row, the same report JSON). The check is shown to fail on a
  parser that is not deterministic.
- A `nianbao parse` killed with SIGKILL mid-batch resumes: the next run parses what is left
  and nothing twice, a stopped `--all` included; the catalog holds exactly one report per
  capture for the parser version, each with all its long rows; the killed run's workers end.
"""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.catalog import Catalog, archive_exchange, connect
from archive.report_store import utc_now
from archive.warc_writer import WarcWriterFile
from crawler.parse_batch import parse_archive, select_captures
from parsers import PARSER_VERSION, parse_bytes

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "examples"
KINDS = (".txt", ".html", ".pdf")


def nianbao() -> list[str]:
    exe = Path(sys.executable).parent / "nianbao"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]


def example_files() -> list[Path]:
    return [p for p in sorted(EXAMPLES.iterdir()) if p.suffix in KINDS]


def variant(path: Path, i: int) -> bytes:
    """The example's bytes made a distinct payload (not a revisit) without changing its
    content: a comment in HTML, bytes after %%EOF in a PDF, blank lines after a text."""
    data = path.read_bytes()
    if path.suffix == ".html":
        return data + b"\n<!-- copy %d -->\n" % i
    if path.suffix == ".pdf":
        return data + b"\n%% copy %d\n" % i
    return data + b"\n" * (i + 1)


def build_archive(data_dir: Path, copies: int) -> list[int]:
    """`copies` captures, the examples in turn; returns their capture ids."""
    cat = Catalog(data_dir / "archive.db")
    run = cat.start_run(["demo"], {})
    writer = WarcWriterFile(data_dir / "warc", run)
    files = example_files()
    ids = []
    for i in range(copies):
        path = files[i % len(files)]
        url = f"http://www.a.gov.cn/xxgk/ndbg/{i}/{path.name}"
        cid = archive_exchange(cat, writer, run_id=run, url=url, status=200,
                               body=variant(path, i), portal="demo")
        cat.upsert_document("demo", url, None, "attachment", None, run, cid)
        ids.append(cid)
    writer.close()
    cat.finish_run(run, "finished")
    cat.close()
    return ids


def run_parse(data_dir: Path, *args: str) -> str:
    out = subprocess.run(nianbao() + ["parse", "--data", str(data_dir), *args],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def db(data_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(data_dir / "archive.db", timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def reports_by_capture(data_dir: Path) -> dict[int, dict]:
    conn = db(data_dir)
    try:
        return {r["capture_id"]: dict(r) for r in conn.execute(
            "SELECT * FROM reports WHERE parser_version = ?", (PARSER_VERSION,))}
    finally:
        conn.close()


def changes_since(data_dir: Path, after_id: int) -> list[dict]:
    conn = db(data_dir)
    try:
        return [dict(r) for r in conn.execute(
            "SELECT capture_id, path, old_value, new_value FROM parse_changes WHERE id > ? "
            "ORDER BY id", (after_id,))]
    finally:
        conn.close()


def last_change_id(data_dir: Path) -> int:
    conn = db(data_dir)
    try:
        return conn.execute("SELECT coalesce(max(id), 0) FROM parse_changes").fetchone()[0]
    finally:
        conn.close()


def assert_same_results(data_dir: Path, before: dict[int, dict], first_change_id: int):
    """Nothing a re-parse of the same bytes stored differs from what was stored before:
    no parse_changes row, and every report's JSON is the same."""
    changes = changes_since(data_dir, first_change_id)
    assert not changes, f"{len(changes)} value(s) changed on re-parse: {changes[:10]}"
    after = reports_by_capture(data_dir)
    assert set(after) == set(before)
    differ = [cid for cid in before if after[cid]["report_json"] != before[cid]["report_json"]
              or after[cid]["status"] != before[cid]["status"]]
    assert not differ, f"reports differ on re-parse for captures {differ}"


def assert_consistent(data_dir: Path, complete: bool = True) -> None:
    """At most one report per capture and parser version (exactly one for every capture to
    parse, when `complete`), and every report has exactly the long rows its JSON holds (none
    for a failure): no half-written report survives a kill."""
    conn = connect(data_dir / "archive.db")
    try:
        tasks, _ = select_captures(conn, PARSER_VERSION, reparse_all=True)
        per_capture = dict(conn.execute(
            "SELECT capture_id, count(*) FROM reports WHERE parser_version = ? "
            "GROUP BY capture_id", (PARSER_VERSION,)).fetchall())
        assert set(per_capture.values()) <= {1}
        if complete:
            assert {t.capture_id for t in tasks} == set(per_capture)
        else:
            assert set(per_capture) <= {t.capture_id for t in tasks}
        for table in ("applications", "active_disclosure", "review_litigation", "checks",
                      "sections"):
            orphans = conn.execute(f"SELECT count(*) FROM {table} WHERE report_id NOT IN "
                                   f"(SELECT id FROM reports)").fetchone()[0]
            assert orphans == 0, table
        for r in conn.execute("SELECT id, status, report_json FROM reports"):
            have = {t: conn.execute(f"SELECT count(*) FROM {t} WHERE report_id = ?",
                                    (r["id"],)).fetchone()[0]
                    for t in ("applications", "active_disclosure", "review_litigation",
                              "checks", "sections")}
            if r["status"] == "failed":
                assert r["report_json"] is None and not any(have.values()), dict(r)
                continue
            rep = json.loads(r["report_json"])
            want = {
                "applications": sum(len(c) for c in (rep.get("applications") or {}).values()),
                "active_disclosure": len(rep.get("active_disclosure") or []),
                "review_litigation": sum(len(m) for m in
                                         (rep.get("review_litigation") or {}).values()),
                "checks": len(rep.get("checks") or []),
                "sections": sum(1 for t in (rep.get("sections") or {}).values() if t),
            }
            assert have == want, (r["id"], have, want)
    finally:
        conn.close()


# -- the output depends only on the bytes ----------------------------------------------------
def test_reparse_twice_changes_nothing(data_dir):
    build_archive(data_dir, copies=2 * len(example_files()))
    first = run_parse(data_dir, "--workers", "2")
    assert re.search(r"parsed 10 of 10 snapshot\(s\).*0 failed; 0 value\(s\) changed", first)
    before = reports_by_capture(data_dir)
    assert {r["status"] for r in before.values()} <= {"ok", "warnings"}
    for _ in range(2):
        mark = last_change_id(data_dir)
        out = run_parse(data_dir, "--all", "--workers", "2")
        assert "parsed 10 of 10" in out and "0 value(s) changed" in out, out
        assert_same_results(data_dir, before, mark)
        before = reports_by_capture(data_dir)
    # and what was stored is what parse_bytes gives for the original file
    conn = db(data_dir)
    url, cid = conn.execute("SELECT url, id FROM captures WHERE url LIKE '%.pdf' "
                            "ORDER BY id LIMIT 1").fetchone()
    conn.close()
    original = next(p for p in example_files() if p.suffix == ".pdf")
    direct = parse_bytes(variant(original, int(url.split("/")[-2])), filename=original.name,
                         url=url, capture_id=cid)
    assert json.loads(before[cid]["report_json"])["applications"] == direct["applications"]
    assert_consistent(data_dir)


def nondeterministic_parse(data: bytes, **kw) -> dict:
    """The real parser with a value that depends on the clock, as a reader that stops at a
    wall-clock budget would: what the determinism check must catch."""
    report = parse_bytes(data, **kw)
    report["applications"].setdefault("granted", {})["total"] = time.time_ns() % 1_000_003
    return report


def test_the_check_catches_a_nondeterministic_parser(data_dir):
    build_archive(data_dir, copies=3)
    parse_archive(data_dir, workers=2, progress=False, parse_fn=nondeterministic_parse)
    before = reports_by_capture(data_dir)
    mark = last_change_id(data_dir)
    summary = parse_archive(data_dir, reparse_all=True, workers=2, progress=False,
                            parse_fn=nondeterministic_parse)
    assert summary.changed_values == summary.changed_reports == 3
    assert "applications.granted.total" in summary.describe()
    with pytest.raises(AssertionError, match="value\\(s\\) changed on re-parse"):
        assert_same_results(data_dir, before, mark)


def test_parsers_read_no_clock():
    """Bounded by pages, characters and objects, never by elapsed time: no parser module
    asks the clock or a random source (the batch's per-file timeout is outside them)."""
    clock = re.compile(r"\btime\.(time|monotonic|perf_counter|process_time)(_ns)?\(|"
                       r"\bdatetime\.now\(|\bdate\.today\(|^\s*(import|from) random\b",
                       re.MULTILINE)
    offenders = [f"{p.name}: {m.group(0)}" for p in sorted((REPO / "parsers").glob("*.py"))
                 for m in clock.finditer(p.read_text("utf-8"))]
    assert not offenders, offenders


# -- a killed batch resumes ------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent (now init) can reap it


def _count(data_dir: Path, since: str | None = None) -> int:
    conn = sqlite3.connect(f"file:{data_dir / 'archive.db'}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM reports WHERE parser_version = ? AND "
                            "(? IS NULL OR parsed_at >= ?)",
                            (PARSER_VERSION, since, since)).fetchone()[0]
    finally:
        conn.close()


def kill_parse_midway(data_dir: Path, at_least: int, total: int, *args: str,
                      since: str | None = None) -> int:
    """Start `nianbao parse`, SIGKILL it once `at_least` reports (stored since `since`) are
    in, check its workers end; return how many reports it stored."""
    proc = subprocess.Popen(nianbao() + ["parse", "--data", str(data_dir), "--workers", "2",
                                         *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while _count(data_dir, since) < at_least:
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.01)
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = _count(data_dir, since)
    assert at_least <= done < total, "killed too late to test anything"
    deadline = time.monotonic() + 20
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    outlived = [w for w in workers if _alive(w)]
    for w in outlived:  # leave nothing behind, then fail
        os.kill(w, signal.SIGKILL)
    assert not outlived, "workers outlived the killed batch"
    return done


def full_reparse_mark(data_dir: Path) -> dict | None:
    conn = db(data_dir)
    try:
        row = conn.execute("SELECT value FROM catalog_meta WHERE key = 'parse_all'").fetchone()
        return json.loads(row[0]) if row else None
    finally:
        conn.close()


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory):
    data = tmp_path_factory.mktemp("reparse") / "data"
    data.mkdir()
    ids = build_archive(data, copies=150)
    return data, ids


def test_killed_parse_resumes_and_parses_nothing_twice(big_archive):
    data, ids = big_archive
    total = len(ids)
    done = kill_parse_midway(data, 10, total)
    stored = reports_by_capture(data)
    assert len(stored) == done
    assert_consistent(data, complete=False)

    # killed again, later, then finished: each run parses only what the last one left
    done2 = kill_parse_midway(data, done + (total - done) // 2, total)
    out = run_parse(data, "--workers", "2")
    m = re.search(r"parsed (\d+) of (\d+) snapshot\(s\)", out)
    assert m and int(m.group(2)) == total - done2 and int(m.group(1)) == total - done2, out
    assert f"{done2} snapshot(s) already" not in out  # it had work to do
    final = reports_by_capture(data)
    assert set(final) == set(ids)
    for cid, row in stored.items():  # stored before the kill: never parsed again
        assert (final[cid]["id"], final[cid]["parsed_at"]) == (row["id"], row["parsed_at"])
    assert_consistent(data)
    assert "nothing to parse: 150 snapshot(s)" in run_parse(data)


def test_killed_full_reparse_resumes(big_archive):
    data, ids = big_archive
    total = len(ids)
    if len(reports_by_capture(data)) < total:  # run alone: parse everything first
        run_parse(data, "--workers", "2")
    before = reports_by_capture(data)
    mark_id = last_change_id(data)

    t0 = utc_now()  # what the batch stores from now on counts
    done = kill_parse_midway(data, 10, total, "--all", since=t0)
    mark = full_reparse_mark(data)
    assert mark and mark["parser_version"] == PARSER_VERSION and mark["started_at"] >= t0
    since = mark["started_at"]
    assert _count(data, since) == done
    assert_consistent(data)  # a report per capture all along: old or new, never half

    # the next run, even without --all, finishes the stopped re-parse, and only that
    out = run_parse(data, "--workers", "2")
    assert "resumed the re-parse of every snapshot started " + since in out, out
    assert f"parsed {total - done} of {total - done} snapshot(s)" in out, out
    assert "0 value(s) changed" in out
    assert full_reparse_mark(data) is None
    after = reports_by_capture(data)
    assert all(r["parsed_at"] >= since for r in after.values())
    assert_same_results(data, before, mark_id)  # same bytes, same reports
    assert_consistent(data)

    assert "nothing to parse" in run_parse(data)
    assert f"parsed {total} of {total}" in run_parse(data, "--all", "--workers", "2")
    assert full_reparse_mark(data) is None
