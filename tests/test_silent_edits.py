"""Reports that change under the same URL or disappear, seen by two real crawls of the farm's
`demo-revised` portal: the first of its edition 1, the second after the farm switched to
edition 2 (one report replaced by a corrected file, one taken down, one redirecting to the
list). Both captures of the replaced report are kept and the change is recorded; the
removed reports keep their last good capture and are recorded as gone; `document_events`
says so and `document_changes` shows exactly the values the office changed."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
import urllib.request

import pytest

from archive.views import create_views
from crawler.farm.server import load_config, start_farm
from tests.test_crawl_farm import nianbao, run_crawl_subprocess

REVISED = load_config()["revised"]
EXAMPLES = Path(__file__).parent / "examples"
PORTAL = "demo-revised"


@pytest.fixture(scope="module")
def recrawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("revised")
    base, stop = start_farm()
    try:
        first = run_crawl_subprocess(tmp, base, [PORTAL])
        urllib.request.urlopen(base + "/_farm/state?edition=2").read()
        second = run_crawl_subprocess(tmp, base, [PORTAL])
        parsed = subprocess.run(nianbao() + ["parse", "--data", str(tmp / "data")],
                                capture_output=True, text=True, timeout=280)
        assert parsed.returncode == 0, parsed.stderr[-2000:]
        db = sqlite3.connect(tmp / "data" / "archive.db")
        db.row_factory = sqlite3.Row
        create_views(db)
        yield {"base": base, "first": first["run_id"], "second": second["run_id"], "db": db}
    finally:
        stop()


def _captures(recrawl, path: str) -> list[sqlite3.Row]:
    return recrawl["db"].execute(
        "SELECT id, run_id, status, payload_sha256 FROM captures WHERE url = ? ORDER BY id",
        (recrawl["base"] + path,)).fetchall()


def _change(recrawl, path: str, run_id: str) -> str | None:
    row = recrawl["db"].execute(
        "SELECT dc.change FROM document_captures dc JOIN documents d ON d.id = dc.document_id "
        "WHERE d.url = ? AND dc.run_id = ?", (recrawl["base"] + path, run_id)).fetchone()
    return row[0] if row else None


def test_a_replaced_report_keeps_both_captures_and_is_recorded_as_changed(recrawl):
    caps = [c for c in _captures(recrawl, REVISED["replaced"]) if c["status"] == 200]
    assert [c["run_id"] for c in caps] == [recrawl["first"], recrawl["second"]]
    assert caps[0]["payload_sha256"] != caps[1]["payload_sha256"]
    assert _change(recrawl, REVISED["replaced"], recrawl["first"]) == "new"
    assert _change(recrawl, REVISED["replaced"], recrawl["second"]) == "changed"


@pytest.mark.parametrize("kind, status", [("removed", 404), ("redirected", 302)])
def test_a_removed_report_keeps_its_last_good_capture(recrawl, kind, status):
    caps = _captures(recrawl, REVISED[kind])
    assert [(c["run_id"], c["status"]) for c in caps] == [
        (recrawl["first"], 200), (recrawl["second"], status)]
    (doc,) = recrawl["db"].execute("SELECT latest_capture_id FROM documents WHERE url = ?",
                                   (recrawl["base"] + REVISED[kind],)).fetchall()
    assert doc[0] == caps[0]["id"], "the document must still point at its last good capture"
    errors = recrawl["db"].execute("SELECT error FROM crawl_errors WHERE url = ? AND run_id = ?",
                                   (recrawl["base"] + REVISED[kind], recrawl["second"])).fetchall()
    assert len(errors) == 1


def test_the_unchanged_list_page_is_one_payload(recrawl):
    # the list page is the same in both editions (the redirected report leads to it too)
    caps = _captures(recrawl, "/revised/zfxxgknb/")
    assert {c["run_id"] for c in caps} == {recrawl["first"], recrawl["second"]}
    assert len({c["payload_sha256"] for c in caps if c["status"] == 200}) == 1


def _events(recrawl, path: str) -> list[sqlite3.Row]:
    return recrawl["db"].execute(
        "SELECT e.* FROM document_events e JOIN documents d ON d.id = e.document_id "
        "WHERE d.url = ? ORDER BY e.id", (recrawl["base"] + path,)).fetchall()


def test_events_name_what_happened_and_between_which_captures(recrawl):
    replaced = [c["id"] for c in _captures(recrawl, REVISED["replaced"]) if c["status"] == 200]
    (changed,) = _events(recrawl, REVISED["replaced"])
    assert (changed["event"], changed["old_capture_id"], changed["new_capture_id"],
            changed["run_id"]) == ("changed", replaced[0], replaced[1], recrawl["second"])
    for kind, answer in (("removed", "HTTP 404"), ("redirected", "report gone")):
        caps = _captures(recrawl, REVISED[kind])
        (gone,) = _events(recrawl, REVISED[kind])
        assert (gone["event"], gone["old_capture_id"], gone["new_capture_id"]) == (
            "gone", caps[0]["id"], caps[1]["id"])
        assert gone["detail"].startswith(answer)
    total = recrawl["db"].execute("SELECT count(*) FROM document_events").fetchone()[0]
    assert total == 3, "the unchanged pages made no event"


def test_document_changes_shows_exactly_the_corrected_values(recrawl):
    rows = recrawl["db"].execute(
        "SELECT path, old_value, new_value FROM document_changes").fetchall()
    expected = load_config()["revised"]["corrections"]
    old = json.loads((EXAMPLES / "004_1583c84d3300f656.expected.json").read_text("utf-8"))["values"]
    assert {r["path"]: (r["old_value"], r["new_value"]) for r in rows} == {
        path: (old[path], value) for path, value in expected.items()}


def test_reindex_derives_the_same_events_from_the_warc_files(recrawl, tmp_path):
    """The events are the catalog's, not the WARC files': reindex derives them again, run
    by run, and gets the same rows (detected at its run's end)."""
    import shutil

    from archive.reindex import reindex

    src = Path(recrawl["db"].execute("PRAGMA database_list").fetchone()[2]).parent
    shutil.copytree(src / "warc", tmp_path / "warc")
    result = reindex(tmp_path)
    assert result.ok and result.document_events == 3, result.describe()
    cols = "document_id, event, old_capture_id, new_capture_id, run_id, detail"
    query = f"SELECT {cols} FROM document_events ORDER BY document_id, event"
    rebuilt = sqlite3.connect(tmp_path / "archive.db")
    assert rebuilt.execute(query).fetchall() == [
        tuple(r) for r in recrawl["db"].execute(query).fetchall()]
    finished = rebuilt.execute("SELECT finished_at FROM crawl_runs WHERE id = ?",
                               (recrawl["second"],)).fetchone()[0]
    assert {r[0] for r in rebuilt.execute("SELECT detected_at FROM document_events")} == {finished}
