"""Real crawls of the portal farm: `nianbao crawl` in a subprocess, the farm in this process.

Every plain farm portal is crawled from its start URL (a home page for most) in one run of
the one spider; the crawl is checked against crawler/farm/sites/farm.json: exactly the
report candidates captured, nothing the farm marks never-to-fetch requested, the faults
recorded. A second run of the unchanged farm stores no new payload.
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
from spiders.portals import load_portals

REPO = Path(__file__).resolve().parents[1]
FARM_PORTALS = REPO / "crawler" / "farm" / "portals.yml"
CONFIG = load_config()
# the farm serves every site on one host: politeness off, as bench/ does
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "NIANBAO_PROGRESS=off"]


def farm_portals(base: str | None = None):
    return load_portals(FARM_PORTALS, base or "http://farm.invalid")


PLAIN_PORTALS = [p.name for p in farm_portals() if p.render == "never"]
PREFIX = {p.name: p.allow[0].split("farm.invalid", 1)[1] for p in farm_portals()}


def nianbao() -> list[str]:
    exe = REPO / ".venv" / "bin" / "nianbao"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]


def portals_file(tmp: Path, base: str) -> Path:
    path = tmp / "portals.yml"
    path.write_text(FARM_PORTALS.read_text("utf-8").replace("{farm}", base), encoding="utf-8")
    return path


def run_crawl_subprocess(tmp: Path, base: str, portals: list[str], render: str = "never",
                         data: Path | None = None, extra: list[str] = (), check: bool = True):
    data = data or tmp / "data"
    cmd = nianbao() + ["crawl", "--data", str(data), "--portals", str(portals_file(tmp, base)),
                       "--no-parse", "--render", render, *FAST, *extra]
    for name in portals:
        cmd += ["--portal", name]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=tmp)
    if not check:
        return out
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def farm_log(base: str) -> list[dict]:
    return [r for r in json.load(urllib.request.urlopen(base + "/_farm/requests"))]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl")
    base, stop = start_farm()
    try:
        first = run_crawl_subprocess(tmp, base, PLAIN_PORTALS)
        log_first = farm_log(base)
        second = run_crawl_subprocess(tmp, base, PLAIN_PORTALS)
        yield {"base": base, "stats": first, "again": second, "farm_log": log_first,
               "db": sqlite3.connect(tmp / "data" / "archive.db"), "data": tmp / "data"}
    finally:
        stop()


def q(crawl, sql, *args):
    return crawl["db"].execute(sql, args).fetchall()


def run_rows(crawl, sql, *args):
    """Rows of the first run only."""
    return q(crawl, sql.replace("WHERE", "WHERE run_id = ? AND", 1), crawl["stats"]["run_id"], *args)


def test_run_finished(crawl):
    stats = crawl["stats"]
    assert stats["status"] == "finished" and stats["portals"] == PLAIN_PORTALS
    (status, docs, settings), = q(crawl, "SELECT status, documents, settings FROM crawl_runs "
                                         "WHERE id = ?", stats["run_id"])
    assert status == "finished" and docs == stats["documents"]
    assert stats["resumed"] is False and crawl["again"]["resumed"] is False  # each run anew
    assert json.loads(settings)["render"] == "never" and json.loads(settings)["robots_txt"]
    assert {r["portal"] for r in stats["per_portal"]} == set(PLAIN_PORTALS)


@pytest.mark.parametrize("portal", PLAIN_PORTALS)
def test_exactly_the_report_candidates_are_documents(crawl, portal):
    base = crawl["base"]
    wanted = {base + d["path"]: d["kind"] for d in CONFIG["documents"] if d["portal"] == portal}
    got = dict(q(crawl, "SELECT url, kind FROM documents WHERE portal = ?", portal))
    assert got == wanted
    for url in wanted:
        (status, final), = q(crawl, "SELECT c.status, c.final_url FROM documents d JOIN "
                                    "document_captures dc ON dc.document_id = d.id JOIN captures c "
                                    "ON c.id = dc.capture_id WHERE d.url = ? AND dc.run_id = ?",
                             url, crawl["stats"]["run_id"])
        assert (status, final) == (200, url)


@pytest.mark.parametrize("portal", PLAIN_PORTALS)
def test_every_list_page_captured(crawl, portal):
    captured = {u for (u,) in q(crawl, "SELECT url FROM captures WHERE status = 200 AND portal = ?",
                                portal)}
    pages = [p for p in CONFIG["list_pages"] if p.startswith(PREFIX[portal])]
    assert [p for p in pages if crawl["base"] + p not in captured] == []


def test_documents_know_where_they_were_found(crawl):
    rows = q(crawl, "SELECT d.title, dc.found_on, dc.link_text, d.portal FROM documents d "
                    "JOIN document_captures dc ON dc.document_id = d.id")
    assert rows and all(found and title for title, found, _, _ in rows)
    base = crawl["base"]
    (found_on, text), = q(crawl, "SELECT dc.found_on, dc.link_text FROM documents d JOIN "
                                 "document_captures dc ON dc.document_id = d.id WHERE d.url = ? "
                                 "AND dc.run_id = ?",
                          base + "/township/zwgk/fdzdgknr/zfxxgknb/files/2021nb.docx",
                          crawl["stats"]["run_id"])
    assert found_on == base + "/township/zwgk/fdzdgknr/zfxxgknb/list.jsp"
    assert text == "友谊县新镇乡人民政府2021年政府信息公开工作年度报告"


def test_nothing_outside_the_portals_or_never_to_fetch(crawl):
    fetched = [r["path"].split("?")[0] for r in crawl["farm_log"]]
    assert "/robots.txt" in fetched
    for path in CONFIG["never_fetch"]:
        assert path not in fetched, path
    prefixes = [PREFIX[p] for p in PLAIN_PORTALS]
    stray = [p for p in fetched if p != "/robots.txt" and not any(p.startswith(x) for x in prefixes)]
    assert stray == []
    # the off-site report link (another county's domain) was never asked for
    assert not q(crawl, "SELECT url FROM crawl_errors WHERE url LIKE '%invalid%'")
    assert not q(crawl, "SELECT url FROM captures WHERE url LIKE '%invalid%'")


def test_404_recorded(crawl):
    path = next(e["path"] for e in CONFIG["errors"] if e["status"] == 404)
    url = crawl["base"] + path
    assert run_rows(crawl, "SELECT status FROM captures WHERE url = ?", url) == [(404,)]
    assert run_rows(crawl, "SELECT error FROM crawl_errors WHERE url = ?", url) == [("HTTP 404",)]


def test_deleted_report_redirecting_to_its_list_is_recorded_not_archived(crawl):
    gone = next(e for e in CONFIG["errors"] if e["status"] == 302)
    url = crawl["base"] + gone["path"]
    (error,), = run_rows(crawl, "SELECT error FROM crawl_errors WHERE url = ?", url)
    assert error.startswith("report gone: redirects to the list")
    assert not q(crawl, "SELECT id FROM documents WHERE url = ?", url)
    assert run_rows(crawl, "SELECT status FROM captures WHERE url = ?", url) == [(302,)]


def test_flaky_503_captured_then_retried(crawl):
    url = crawl["base"] + CONFIG["flaky"][0]
    assert [s for (s,) in run_rows(crawl, "SELECT status FROM captures WHERE url = ? ORDER BY id",
                                   url)] == [503, 200]
    assert not q(crawl, "SELECT id FROM crawl_errors WHERE url = ?", url)


def test_redirect_captured_and_followed(crawl):
    (src, dst), = CONFIG["redirects"].items()
    base = crawl["base"]
    assert run_rows(crawl, "SELECT status FROM captures WHERE url = ?", base + src) == [(301,)]
    assert run_rows(crawl, "SELECT referrer FROM captures WHERE url = ?", base + dst) == \
        [(base + src,)]


def test_oversized_download_cancelled_and_recorded(crawl):
    (path, _), = CONFIG["oversized"].items()
    url = crawl["base"] + path
    assert not q(crawl, "SELECT id FROM captures WHERE url = ?", url)
    (error,), = run_rows(crawl, "SELECT error FROM crawl_errors WHERE url = ?", url)
    assert "max size" in error


def test_endless_pagination_capped(crawl):
    trap = [u for (u,) in run_rows(crawl, "SELECT url FROM captures WHERE url LIKE ?",
                                   crawl["base"] + "/trap/%")]
    assert 2 <= len(trap) <= 5  # demo-trap: max_pages 5


def test_requests_name_us_and_their_referrer(crawl):
    log = [r for r in crawl["farm_log"] if r["path"] != "/_farm/requests"]
    assert log and all(r["user_agent"].startswith("nianbao/") for r in log)
    report = next(d for d in CONFIG["documents"] if d["example"] == "004_1583c84d3300f656"
                  and d["portal"] == "demo-county")
    (req,) = [r for r in log if r["path"] == report["path"]]
    assert req["referer"] == crawl["base"] + "/county/zfxxgknb/"


def test_warc_files_hold_the_captures(crawl):
    files = {p.name: p for p in (crawl["data"] / "warc").glob("*.warc.gz")}
    assert files
    for name, offset, length in q(crawl, "SELECT warc_file, warc_offset, warc_length FROM captures"):
        assert name in files and offset + length <= files[name].stat().st_size
    assert list((crawl["data"] / "logs").glob("*.log"))


# --- the second run of the unchanged farm ---------------------------------------------------

def test_rerun_of_an_unchanged_farm_stores_no_new_payload(crawl):
    again = crawl["again"]["run_id"]
    kinds = dict(q(crawl, "SELECT record_type, count(*) FROM captures WHERE run_id = ? "
                          "GROUP BY record_type", again))
    assert kinds.get("response", 0) == 0 and kinds["revisit"] > 0


def test_rerun_asks_for_known_documents_conditionally(crawl):
    again = crawl["again"]["run_id"]
    not_modified = q(crawl, "SELECT count(*) FROM captures WHERE run_id = ? AND status = 304", again)
    documents = sum(r["documents"] for r in crawl["again"]["per_portal"])
    assert not_modified[0][0] >= documents - 1  # every document but the flaky one's retry
    for row in crawl["again"]["per_portal"]:
        assert (row["new_reports"], row["changed_reports"]) == (0, 0), row
        assert row["unchanged_reports"] == row["documents"], row
    first = {r["portal"]: r["documents"] for r in crawl["stats"]["per_portal"]}
    assert first == {r["portal"]: r["documents"] for r in crawl["again"]["per_portal"]}
