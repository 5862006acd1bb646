"""Farm crawls that need the real Chromium: a list built by JavaScript, and a portal behind a
JavaScript cookie challenge (HTTP 412), both with `render: auto`."""
from __future__ import annotations

import sqlite3

import pytest

from crawler.farm.server import load_config, start_farm
from tests.test_crawl_farm import farm_log, run_crawl_subprocess

pytestmark = pytest.mark.browser
CONFIG = load_config()


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    base, stop = start_farm()
    try:
        stats = run_crawl_subprocess(tmp, base, ["demo-js", "demo-guarded"], render="auto")
        yield {"base": base, "stats": stats, "log": farm_log(base),
               "db": sqlite3.connect(tmp / "data" / "archive.db")}
    finally:
        stop()


def test_scripted_list_fetched_plainly_then_rendered(crawl):
    base = crawl["base"]
    col = base + "/jslist/xxgk/ndbg/"
    rendered = crawl["db"].execute("SELECT rendered FROM captures WHERE url = ? ORDER BY id",
                                   (col,)).fetchall()
    assert rendered == [(0,), (1,)]
    doc = next(d for d in CONFIG["documents"] if d["portal"] == "demo-js")
    assert crawl["db"].execute("SELECT kind FROM documents WHERE url = ?",
                               (base + doc["path"],)).fetchall() == [("page",)]


def test_challenge_solved_once_then_cookies_reused_plainly(crawl):
    db, base = crawl["db"], crawl["base"]
    rows = db.execute("SELECT url, status, rendered, challenge FROM captures WHERE portal = ? "
                      "AND url NOT LIKE '%robots.txt' ORDER BY id", ("demo-guarded",)).fetchall()
    first, solved, *rest = rows
    assert first == (base + "/guarded/", 412, 0, None)  # the challenge, archived as served
    assert solved[:3] == (base + "/guarded/", 200, 1) and solved[3].startswith("js-cookie")
    assert rest and all(status == 200 and rendered == 0 for _, status, rendered, _ in rest)
    plain_later = [r for r in crawl["log"] if r["path"].startswith("/guarded/xxgk/")]
    assert plain_later and all("nb_guard=" in (r["cookie"] or "") for r in plain_later)
    (challenges,), = db.execute("SELECT challenges FROM crawl_run_portals WHERE portal = ?",
                                ("demo-guarded",)).fetchall()
    assert challenges == 1


def test_every_guarded_report_archived(crawl):
    base = crawl["base"]
    wanted = {base + d["path"]: d["kind"] for d in CONFIG["documents"]
              if d["portal"] == "demo-guarded"}
    got = dict(crawl["db"].execute("SELECT url, kind FROM documents WHERE portal = ?",
                                   ("demo-guarded",)).fetchall())
    assert got == wanted and wanted
