"""A real crawl of the portal farm: `nianbao crawl` in a subprocess, the farm in this process.

Checks the crawl against tests/farm/sites/farm.json: every list page and report page
captured, robots.txt obeyed, the 404 / 503 / oversized cases recorded, a documents row per
report page and attachment linked to its capture, the endless pagination capped, WARC files
written.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from crawler.farm.server import load_config, start_farm

REPO = Path(__file__).resolve().parents[1]
CONFIG = load_config()
PLAIN_PORTALS = ["demo-county", "demo-gbk", "demo-trap"]


def nianbao() -> list[str]:
    exe = REPO / ".venv" / "bin" / "nianbao"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]


def run_crawl_subprocess(tmp: Path, base: str, portals: list[str], render: str):
    portals_file = tmp / "portals.yml"
    portals_file.write_text((REPO / "portals.yml").read_text("utf-8").replace("{farm}", base),
                            encoding="utf-8")
    cmd = nianbao() + ["crawl", "--data", str(tmp / "data"), "--portals", str(portals_file),
                       "--no-parse", "--render", render]
    for name in portals:
        cmd += ["--portal", name]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp)
    assert out.returncode == 0, out.stderr[-3000:]
    stats = json.loads(out.stdout)
    farm_log = json.load(urllib.request.urlopen(base + "/_farm/requests"))
    return stats, sqlite3.connect(tmp / "data" / "archive.db"), farm_log


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl")
    base, stop = start_farm()
    try:
        stats, db, farm_log = run_crawl_subprocess(tmp, base, PLAIN_PORTALS, "never")
        yield {"base": base, "stats": stats, "db": db, "farm_log": farm_log,
               "data": tmp / "data"}
    finally:
        stop()


def q(crawl, sql, *args):
    return crawl["db"].execute(sql, args).fetchall()


def test_run_finished(crawl):
    stats = crawl["stats"]
    assert stats["status"] == "finished" and stats["portals"] == PLAIN_PORTALS
    (status, docs), = q(crawl, "SELECT status, documents FROM crawl_runs WHERE id = ?",
                        stats["run_id"])
    assert status == "finished" and docs == stats["documents"]


def test_every_list_page_captured(crawl):
    base = crawl["base"]
    captured = {u for (u,) in q(crawl, "SELECT url FROM captures WHERE status = 200")}
    for path in CONFIG["list_pages"]:
        if path.startswith("/jslist/"):
            continue  # needs the browser: test_crawl_renders_scripted_list
        assert base + path in captured, path


def test_every_report_page_and_attachment_is_a_document(crawl):
    base = crawl["base"]
    wanted = [d for d in CONFIG["documents"] if d["portal"] in PLAIN_PORTALS]
    assert len(wanted) == 6
    for doc in wanted:
        rows = q(crawl, "SELECT d.kind, d.portal, c.status, c.final_url, c.record_type "
                        "FROM documents d JOIN captures c ON c.id = d.latest_capture_id "
                        "WHERE d.url = ?", base + doc["path"])
        assert rows == [(doc["kind"], doc["portal"], 200, base + doc["path"], "response")], doc
    assert q(crawl, "SELECT count(*) FROM documents")[0][0] == len(wanted)


def test_robots_txt_obeyed(crawl):
    fetched = {r["path"] for r in crawl["farm_log"]}
    assert "/robots.txt" in fetched
    for path in CONFIG["never_fetch"]:
        assert path not in fetched
        assert not q(crawl, "SELECT id FROM captures WHERE url LIKE ?", "%" + path)


def test_404_recorded(crawl):
    path = next(e["path"] for e in CONFIG["errors"] if e["status"] == 404)
    url = crawl["base"] + path
    assert q(crawl, "SELECT status FROM captures WHERE url = ?", url) == [(404,)]
    assert q(crawl, "SELECT error FROM crawl_errors WHERE url = ?", url) == [("HTTP 404",)]


def test_flaky_503_captured_then_retried(crawl):
    url = crawl["base"] + CONFIG["flaky"][0]
    assert [s for (s,) in q(crawl, "SELECT status FROM captures WHERE url = ? ORDER BY id", url)] \
        == [503, 200]
    assert not q(crawl, "SELECT id FROM crawl_errors WHERE url = ?", url)


def test_redirect_captured_and_followed(crawl):
    (src, dst), = CONFIG["redirects"].items()
    base = crawl["base"]
    assert q(crawl, "SELECT status FROM captures WHERE url = ?", base + src) == [(301,)]
    assert q(crawl, "SELECT referrer FROM captures WHERE url = ?", base + dst) == [(base + src,)]


def test_oversized_download_cancelled_and_recorded(crawl):
    (path, _), = CONFIG["oversized"].items()
    url = crawl["base"] + path
    assert not q(crawl, "SELECT id FROM captures WHERE url = ?", url)
    (error,), = q(crawl, "SELECT error FROM crawl_errors WHERE url = ?", url)
    assert "max size" in error


def test_endless_pagination_capped(crawl):
    trap = [u for (u,) in q(crawl, "SELECT url FROM captures WHERE url LIKE ?",
                            crawl["base"] + CONFIG["trap"] + "%")]
    assert 2 <= len(trap) <= 5  # demo-trap: max_pages 5


def test_requests_name_us_and_their_referrer(crawl):
    log = [r for r in crawl["farm_log"] if r["path"] != "/_farm/requests"]
    assert log and all(r["user_agent"].startswith("nianbao/") for r in log)
    report = next(d for d in CONFIG["documents"] if d["example"] == "004_1583c84d3300f656")
    (req,) = [r for r in log if r["path"] == report["path"]]
    assert req["referer"] == crawl["base"] + "/county/zfxxgknb/"


def test_warc_files_hold_the_captures(crawl):
    files = {p.name: p for p in (crawl["data"] / "warc").glob("*.warc.gz")}
    assert files
    for name, offset, length in q(crawl, "SELECT warc_file, warc_offset, warc_length FROM captures"):
        assert name in files and offset + length <= files[name].stat().st_size
    assert list((crawl["data"] / "logs").glob("*.log"))


@pytest.mark.browser
def test_crawl_renders_scripted_list(tmp_path):
    """render auto: the JavaScript-built list is fetched plainly, then through Chromium."""
    base, stop = start_farm()
    try:
        stats, db, _ = run_crawl_subprocess(tmp_path, base, ["demo-js"], "auto")
    finally:
        stop()
    assert stats["status"] == "finished"
    doc = next(d for d in CONFIG["documents"] if d["portal"] == "demo-js")
    col = base + "/jslist/xxgk/ndbg/"
    assert db.execute("SELECT rendered FROM captures WHERE url = ? ORDER BY id", (col,)).fetchall() \
        == [(0,), (1,)]
    assert db.execute("SELECT kind FROM documents WHERE url = ?", (base + doc["path"],)).fetchall() \
        == [("page",)]
