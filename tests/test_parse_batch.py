"""crawler.parse_batch: which captures get parsed, in worker processes, and what is stored.

The stand-in parsers below are module-level functions so they pickle to the workers; each
reads instructions from the archived body (b"RAISE", b"SLEEP", ...). At the end, DOC and WPS
captures go through the real parser to a stand-in soffice (NIANBAO_SOFFICE) that hangs or
fails: a failed parse with LibreOffice's reason, never an empty report.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time

import pytest

from archive.catalog import Catalog, archive_exchange
from archive.warc_writer import WarcWriterFile
from crawler.parse_batch import parse_archive
from parsers import PARSER_VERSION
from parsers.model import new_report


def fake_parse(data: bytes, *, filename=None, url=None, capture_id=None, **kw) -> dict:
    if data.startswith(b"RAISE"):
        raise ValueError("this table defeats the parser")
    if data.startswith(b"SLEEP"):
        time.sleep(60)
    if data.startswith(b"HANG"):  # stuck where SIGALRM cannot reach (as if in C code)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        time.sleep(60)
    if data.startswith(b"KILL"):  # a crash in a C extension
        os.kill(os.getpid(), signal.SIGKILL)
    report = new_report(PARSER_VERSION)
    values = json.loads(data)
    report.update(agency=values.get("agency"), year=values.get("year"), title=filename)
    report["applications"] = {"granted": {"total": values.get("granted")}}
    report["source"].update(url=url, capture_id=capture_id, format="txt")
    return report


def patient_parse(data: bytes, **kw) -> dict:
    """The same parser on a faster machine: what was slow now takes a moment."""
    if data.startswith(b"SLEEP"):
        return fake_parse(body(granted=7), **kw)
    return fake_parse(data, **kw)


def fake_parse_v2(data: bytes, **kw) -> dict:
    report = fake_parse(data, **kw)
    if report["applications"]["granted"]["total"] is not None:
        report["applications"]["granted"]["total"] += 1
    return report


def fake_parse_v3(data: bytes, **kw) -> dict:
    """Changes every granted total, and one year."""
    report = fake_parse_v2(data, **kw)
    if report["year"] == 2022:
        report["year"] = 2023
    return report


def body(agency="某镇人民政府", year=2023, granted=3) -> bytes:
    return json.dumps({"agency": agency, "year": year, "granted": granted}).encode()


class Archive:
    def __init__(self, data_dir):
        self.dir = data_dir
        self.cat = Catalog(data_dir / "archive.db")
        self.run = self.cat.start_run(["demo"], {})
        self.writer = WarcWriterFile(data_dir / "warc", self.run)

    def add(self, url, data, status=200, document=True, final_url=None):
        cid = archive_exchange(self.cat, self.writer, run_id=self.run, url=url, status=status,
                               body=data, final_url=final_url)
        if document:
            self.cat.upsert_document("demo", final_url or url, None, "attachment", None,
                                     self.run, cid)
        return cid

    def close(self):
        self.writer.close()
        self.cat.close()

    def reports(self) -> dict[int, dict]:
        conn = sqlite3.connect(self.dir / "archive.db")
        conn.row_factory = sqlite3.Row
        rows = {r["capture_id"]: dict(r) for r in conn.execute("SELECT * FROM reports")}
        conn.close()
        return rows


@pytest.fixture
def archive(data_dir):
    a = Archive(data_dir)
    yield a
    a.close()


def test_picks_document_responses_with_status_200(archive):
    ok = archive.add("http://a.gov.cn/files/2023%E5%B9%B4%E6%8A%A5.txt", body())
    moved = archive.add("http://a.gov.cn/old.txt", body(granted=5),
                        final_url="http://a.gov.cn/new.txt")
    missing = archive.add("http://a.gov.cn/gone.txt", b"not found", status=404)
    revisit = archive.add("http://a.gov.cn/copy.txt", body())        # same payload as `ok`
    listing = archive.add("http://a.gov.cn/list.html", b"<html>list</html>", document=False)
    archive.writer.close()

    summary = parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse)
    reports = archive.reports()
    assert set(reports) == {ok, moved}
    assert missing not in reports and revisit not in reports and listing not in reports
    assert reports[ok]["status"] == "ok" and reports[ok]["parser_version"] == PARSER_VERSION
    assert reports[ok]["title"] == "2023年报.txt"  # the last path segment, unquoted
    assert reports[ok]["document_id"] == archive.cat.get_document(
        "http://a.gov.cn/files/2023%E5%B9%B4%E6%8A%A5.txt")["id"]
    assert json.loads(reports[moved]["report_json"])["applications"]["granted"]["total"] == 5
    assert (summary.selected, summary.parsed, summary.failed) == (2, 2, 0)
    assert "parsed 2 of 2" in summary.describe()

    again = parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse)
    assert again.selected == 0 and again.already_parsed == 2
    assert "nothing to parse" in again.describe()


def test_failure_is_stored_and_batch_goes_on(archive):
    good = [archive.add(f"http://a.gov.cn/{i}.txt", body(granted=i)) for i in range(4)]
    bad = archive.add("http://a.gov.cn/bad.txt", b"RAISE please")
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse)
    reports = archive.reports()
    assert all(reports[c]["status"] == "ok" for c in good)
    assert reports[bad]["status"] == "failed"
    assert reports[bad]["error"].startswith("ValueError: this table defeats the parser")
    assert reports[bad]["parser_version"] == PARSER_VERSION
    assert (summary.parsed, summary.failed) == (4, 1)
    assert f"failed: capture {bad}: ValueError" in summary.describe()


def test_unreadable_capture_is_a_failure(archive):
    cid = archive.add("http://a.gov.cn/x.txt", body())
    archive.writer.close()
    for f in (archive.dir / "warc").iterdir():
        f.unlink()
    summary = parse_archive(archive.dir, workers=1, progress=False, parse_fn=fake_parse)
    assert summary.failed == 1
    assert archive.reports()[cid]["error"].startswith("ArchiveReadError")


def test_reparse_all_lists_changed_values(archive):
    a = archive.add("http://a.gov.cn/a.txt", body(granted=3))
    b = archive.add("http://a.gov.cn/b.txt", body(granted=None))
    archive.writer.close()
    parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse)
    summary = parse_archive(archive.dir, reparse_all=True, workers=2, progress=False,
                            parse_fn=fake_parse_v2)
    assert summary.selected == 2
    assert [(c["capture_id"], c["path"], c["old"], c["new"]) for c in summary.changes] == [
        (a, "applications.granted.total", 3, 4)]
    assert f"capture {a} applications.granted.total: 3 -> 4" in summary.describe()
    assert b not in {c["capture_id"] for c in summary.changes}
    assert (summary.changed_values, summary.changed_reports) == (1, 1)
    assert f"1 value(s) changed in 1 report(s) (compared with parser {PARSER_VERSION})" in (
        summary.describe())


def test_summary_names_the_paths_that_changed_most(archive):
    for i in range(3):
        archive.add(f"http://a.gov.cn/{i}.txt", body(granted=i, year=2020 + i))
    archive.writer.close()
    parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse)
    summary = parse_archive(archive.dir, reparse_all=True, workers=2, progress=False,
                            parse_fn=fake_parse_v3)
    assert summary.changed_paths == {"applications.granted.total": 3, "year": 1}
    text = summary.describe()
    assert "parsed 3 of 3 snapshot(s) (3 ok), 0 failed; 4 value(s) changed in 3 report(s)" in text
    lines = text.splitlines()
    i = lines.index("  paths that changed most (reports):")
    assert lines[i + 1:i + 3] == ["    3  applications.granted.total", "    1  year"]
    assert any(line.endswith("year: 2022 -> 2023") for line in lines)


def test_summary_keeps_a_bounded_sample_of_changes():
    from crawler.parse_batch import KEPT_CHANGES, LISTED_CHANGES, ParseSummary

    summary = ParseSummary("9.9", selected=1)
    summary.statuses["ok"] = 1
    for cid in range(3):
        summary.add_changes([{"capture_id": cid, "path": f"p.{k}", "old": None, "new": k,
                              "previous_parser_version": "9.8"} for k in range(KEPT_CHANGES)])
    assert len(summary.changes) == KEPT_CHANGES and summary.changed_values == 3 * KEPT_CHANGES
    text = summary.describe()
    assert f"... and {3 * KEPT_CHANGES - LISTED_CHANGES} more (table parse_changes)" in text
    assert "capture 0 p.0: null -> 0" in text


def test_timeout_is_a_failure_retried_by_retry_failed_and_by_all(archive):
    quick = archive.add("http://a.gov.cn/quick.txt", body())
    slow = archive.add("http://a.gov.cn/slow.txt", b"SLEEP")
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse,
                            timeout=1)
    assert archive.reports()[slow]["error"] == "timeout: parsing took longer than 1 s"
    assert "to try the failed ones again: nianbao parse --retry-failed --timeout 600" in (
        summary.describe())
    # a plain run leaves it (this version has seen it); --retry-failed takes only it
    assert parse_archive(archive.dir, progress=False, parse_fn=patient_parse).selected == 0
    retry = parse_archive(archive.dir, retry_failed=True, workers=1, progress=False,
                          parse_fn=patient_parse)
    assert (retry.selected, retry.parsed, retry.failed, retry.already_parsed) == (1, 1, 0, 1)
    reports = archive.reports()
    assert reports[slow]["status"] == "ok" and reports[slow]["error"] is None
    assert retry.changed_values == 0  # a retry of this version's failure is not a change
    # --all takes it too, failed or not
    parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse, timeout=1)
    assert parse_archive(archive.dir, reparse_all=True, workers=2, progress=False,
                         parse_fn=patient_parse).selected == 2
    assert archive.reports()[slow]["status"] == "ok"
    assert quick in archive.reports()


def test_a_stopped_full_reparse_is_resumed_by_the_next_run(archive):
    ids = [archive.add(f"http://a.gov.cn/{i}.txt", body(granted=i)) for i in range(4)]
    archive.writer.close()
    parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse)
    conn = sqlite3.connect(archive.dir / "archive.db")
    first = dict(conn.execute("SELECT capture_id, parsed_at FROM reports").fetchall())
    # as a full re-parse killed after storing its first two results leaves the catalog
    started = max(first.values())
    conn.execute("UPDATE reports SET parsed_at = '9999' WHERE capture_id IN (?, ?)", ids[:2])
    conn.execute("INSERT INTO catalog_meta (key, value) VALUES ('parse_all', ?)",
                 (json.dumps({"parser_version": PARSER_VERSION, "started_at": started + "~"}),))
    conn.commit()
    summary = parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse)
    assert (summary.selected, summary.already_parsed) == (2, 2)
    assert summary.resumed_from == started + "~"
    assert summary.describe().startswith(f"resumed the re-parse of every snapshot started "
                                         f"{started}~ (stopped before the end): 2 snapshot(s)")
    assert conn.execute("SELECT count(*) FROM catalog_meta WHERE key = 'parse_all'"
                        ).fetchone()[0] == 0
    assert parse_archive(archive.dir, progress=False, parse_fn=fake_parse).selected == 0
    # a stopped re-parse by another parser version is dropped: this one parses anyway
    conn.execute("INSERT INTO catalog_meta (key, value) VALUES ('parse_all', ?)",
                 (json.dumps({"parser_version": "0.0.1", "started_at": "9999"}),))
    conn.commit()
    summary = parse_archive(archive.dir, progress=False, parse_fn=fake_parse)
    assert summary.selected == 0 and summary.resumed_from is None
    assert conn.execute("SELECT count(*) FROM catalog_meta WHERE key = 'parse_all'"
                        ).fetchone()[0] == 0
    conn.close()


def test_slow_parse_times_out_and_is_stored(archive):
    quick = archive.add("http://a.gov.cn/quick.txt", body())
    slow = archive.add("http://a.gov.cn/slow.txt", b"SLEEP")
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse,
                            timeout=1)
    reports = archive.reports()
    assert reports[quick]["status"] == "ok"
    assert reports[slow]["status"] == "failed"
    assert reports[slow]["error"].startswith("timeout")
    assert summary.failed == 1


def test_crashed_or_hung_worker_fails_only_its_file(archive):
    good = [archive.add(f"http://a.gov.cn/{i}.txt", body(granted=i)) for i in range(3)]
    crash = archive.add("http://a.gov.cn/crash.txt", b"KILL")
    hang = archive.add("http://a.gov.cn/hang.txt", b"HANG")
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=2, progress=False, parse_fn=fake_parse,
                            timeout=1, hard_grace=1)
    reports = archive.reports()
    assert all(reports[c]["status"] == "ok" for c in good), {c: reports[c] for c in good}
    for cid in (crash, hang):
        assert reports[cid]["status"] == "failed"
        assert "worker process died" in reports[cid]["error"]
    assert (summary.parsed, summary.failed) == (3, 2)


def test_progress_bar_on_stderr(archive, capsys):
    archive.add("http://a.gov.cn/a.txt", body())
    archive.writer.close()
    parse_archive(archive.dir, workers=1, progress=True, parse_fn=fake_parse)
    captured = capsys.readouterr()
    assert "parse" in captured.err and "1/1" in captured.err
    assert captured.out == ""


def test_no_archive_yet(tmp_path):
    summary = parse_archive(tmp_path, progress=False, parse_fn=fake_parse)
    assert summary.selected == 0 and "nothing to parse" in summary.describe()


@pytest.mark.parametrize("example", ["000_26e4c39d6db4dceb.txt", "real_pingtan_2020.html"])
def test_with_the_real_parser(archive, examples_dir, example):
    """The batch hands parsers.parse_bytes the archived bytes, file name and URL: what it
    stores is what parse_bytes gives for the original file."""
    from parsers import parse_bytes
    from parsers.model import flatten

    data = (examples_dir / example).read_bytes()
    url = f"http://www.a.gov.cn/xxgk/ndbg/{example}"
    cid = archive.add(url, data)
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=2, progress=False)
    assert (summary.parsed, summary.failed) == (1, 0), summary.describe()
    stored = archive.reports()[cid]
    report = json.loads(stored["report_json"])
    direct = parse_bytes(data, filename=example, url=url, capture_id=cid)
    assert flatten(report) == flatten(direct)
    assert report["source"]["capture_id"] == cid and report["source"]["url"] == url
    expected = json.loads((examples_dir / example).with_suffix(".expected.json").read_text())
    assert stored["year"] == expected["meta"]["year"]
    assert stored["status"] in ("ok", "warnings")
    conn = sqlite3.connect(archive.dir / "archive.db")
    n_sections = conn.execute("SELECT count(*) FROM sections WHERE report_id = ? AND "
                              "text != ''", (stored["id"],)).fetchone()[0]
    conn.close()
    assert n_sections >= 1


def test_portal_region_reaches_the_parser(archive):
    """A township report that never names its county gets the county of the portal it came
    from (portals.yml, recorded in the catalog's portals table by the crawl)."""
    archive.cat.upsert_portal("demo", "民权县人民政府", True, ["http://www.a.gov.cn/"],
                              {"province": "河南省", "city": "商丘市", "county": "民权县"})
    text = "某乡人民政府2021年政府信息公开工作年度报告\n一、总体情况\n本乡依法公开政府信息。\n"
    cid = archive_exchange(archive.cat, archive.writer, run_id=archive.run, portal="demo",
                           url="http://www.a.gov.cn/nb/2021.txt", status=200,
                           body=text.encode("utf-8"))
    archive.cat.upsert_document("demo", "http://www.a.gov.cn/nb/2021.txt", None, "page", None,
                                archive.run, cid)
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=1, progress=False)
    assert summary.failed == 0, summary.describe()
    stored = archive.reports()[cid]
    assert (stored["county"], stored["city"], stored["adcode"]) == ("民权县", "商丘市", "411421")
    assert stored["township"] == "某乡"


# -- LibreOffice failing: a stand-in soffice (NIANBAO_SOFFICE), the real parser ---------------
WORD_BINARY = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
               + "WordDocument".encode("utf-16-le"))  # sniffs as doc (.wps by its name)

FAKE_SOFFICE = """#!{python}
# LibreOffice's command line: ... --convert-to FILTER --outdir DIR INPUT
import os, shutil, sys, time
if {mode!r} == "hang":
    time.sleep(600)
args = sys.argv[1:]
name = os.path.splitext(os.path.basename(args[-1]))[0] + ".docx"
shutil.copy({docx!r}, os.path.join(args[args.index("--outdir") + 1], name))
"""

@pytest.fixture
def soffice(tmp_path, monkeypatch):
    """soffice(mode) makes NIANBAO_SOFFICE a stand-in that hangs ("hang") or "converts" any
    file to a DOCX titled as a report ("convert"); the spawned workers inherit it."""
    import docx

    made = tmp_path / "made.docx"
    d = docx.Document()
    d.add_paragraph("某镇人民政府2023年政府信息公开工作年度报告")
    d.save(made)

    def use(mode: str):
        script = tmp_path / f"fake-soffice-{mode}"
        script.write_text(FAKE_SOFFICE.format(python=sys.executable, mode=mode, docx=str(made)))
        script.chmod(0o755)
        monkeypatch.setenv("NIANBAO_SOFFICE", str(script))
        return script

    return use


def processes_using(path) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmd:
            found.append(cmd)
    return found


@pytest.mark.timeout(120)
def test_libreoffice_timeout_is_a_failure_not_an_empty_report(archive, soffice, monkeypatch):
    monkeypatch.setenv("NIANBAO_SOFFICE_TIMEOUT", "0.5")
    hang = soffice("hang")
    doc = archive.add("http://a.gov.cn/nb/2023.doc", WORD_BINARY)
    wps = archive.add("http://a.gov.cn/nb/2023.wps", WORD_BINARY + b"\0")
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=2, progress=False, timeout=60)
    assert (summary.parsed, summary.failed) == (0, 2), summary.describe()
    rows = archive.reports()
    assert set(rows) == {doc, wps}
    for cid in (doc, wps):
        row = rows[cid]
        assert row["status"] == "failed", row
        assert row["error"].startswith("ConversionError: LibreOffice timed out after 0.5 s")
        assert row["report_json"] is None and row["warnings"] is None
    conn = sqlite3.connect(archive.dir / "archive.db")
    for table in ("applications", "active_disclosure", "review_litigation", "checks",
                  "sections", "parse_changes"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    conn.close()
    text = summary.describe()
    assert f"failed: capture {doc}: ConversionError: LibreOffice timed out after 0.5 s" in text
    assert ("to try the failed ones again: NIANBAO_SOFFICE_TIMEOUT=300 nianbao parse "
            "--retry-failed --timeout 600") in text
    assert processes_using(hang) == []  # the hung stand-in was killed with its group


@pytest.mark.timeout(120)
def test_libreoffice_timeout_on_reparse_changes_no_value(archive, soffice, monkeypatch):
    """A snapshot parsed once, whose conversion then times out, keeps no empty report and
    records no values removed; once LibreOffice works again, --retry-failed parses it."""
    soffice("convert")
    cid = archive.add("http://a.gov.cn/nb/2023.doc", WORD_BINARY)
    archive.writer.close()
    first = parse_archive(archive.dir, workers=1, progress=False)
    assert first.failed == 0, first.describe()
    assert archive.reports()[cid]["year"] == 2023

    monkeypatch.setenv("NIANBAO_SOFFICE_TIMEOUT", "0.5")
    soffice("hang")
    summary = parse_archive(archive.dir, reparse_all=True, workers=1, progress=False)
    assert (summary.failed, summary.changed_values) == (1, 0), summary.describe()
    row = archive.reports()[cid]
    assert row["status"] == "failed" and "LibreOffice timed out after 0.5 s" in row["error"]

    soffice("convert")
    retry = parse_archive(archive.dir, retry_failed=True, workers=1, progress=False)
    assert (retry.parsed, retry.failed, retry.changed_values) == (1, 0, 0), retry.describe()
    assert archive.reports()[cid]["year"] == 2023
    conn = sqlite3.connect(archive.dir / "archive.db")
    assert conn.execute("SELECT count(*) FROM parse_changes").fetchone()[0] == 0
    conn.close()


@pytest.mark.timeout(120)
def test_libreoffice_failing_is_a_failure(archive, tmp_path, monkeypatch):
    script = tmp_path / "broken-soffice"
    script.write_text("#!/bin/sh\necho 'javaldx: could not find a Java Runtime' >&2\nexit 77\n")
    script.chmod(0o755)
    monkeypatch.setenv("NIANBAO_SOFFICE", str(script))
    cid = archive.add("http://a.gov.cn/nb/2023.doc", WORD_BINARY)
    archive.writer.close()
    summary = parse_archive(archive.dir, workers=1, progress=False)
    assert summary.failed == 1, summary.describe()
    row = archive.reports()[cid]
    assert row["status"] == "failed" and row["report_json"] is None
    assert row["error"].startswith("ConversionError: LibreOffice failed (exit 77): javaldx")
