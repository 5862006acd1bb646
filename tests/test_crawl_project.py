"""The crawl as a Scrapy project: `scrapy crawl portal` from the repository root gives the same
catalog as `nianbao crawl`; a second crawl of a locked data directory exits saying who holds
it; a crawl interrupted mid-way resumes its run from the JOBDIR."""
from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.farm.server import start_farm
from crawler.lock import CrawlLock
from tests.test_crawl_farm import FAST, portals_file, run_crawl_subprocess

REPO = Path(__file__).resolve().parents[1]
PORTALS = ["demo-county", "demo-township", "demo-hanweb"]


def scrapy_exe() -> list[str]:
    exe = REPO / ".venv" / "bin" / "scrapy"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "scrapy"]


def catalog_view(data: Path) -> dict:
    """What a crawl archived, independent of run ids, capture ids and times."""
    db = sqlite3.connect(data / "archive.db")
    def path(u):
        return urlsplit(u)._replace(scheme="", netloc="").geturl() if u else u
    captures = sorted((path(u), s, sha) for u, s, sha in db.execute(
        "SELECT url, status, payload_sha256 FROM captures"))
    documents = sorted((path(u), k, p, t) for u, k, p, t in db.execute(
        "SELECT url, kind, portal, title FROM documents"))
    errors = sorted((path(u), re.sub(r"https?://[^/]+", "", e))
                    for u, e in db.execute("SELECT url, error FROM crawl_errors"))
    portals = sorted(tuple(r) for r in db.execute(
        "SELECT portal, pages, documents, new_reports, errors FROM crawl_run_portals"))
    return {"captures": captures, "documents": documents, "errors": errors, "portals": portals}


@pytest.fixture(scope="module")
def farm():
    base, stop = start_farm()
    yield base
    stop()


def test_scrapy_crawl_and_nianbao_crawl_give_the_same_catalog(farm, tmp_path):
    run_crawl_subprocess(tmp_path, farm, PORTALS, data=tmp_path / "by-nianbao")
    fresh, stop = start_farm()  # a farm of its own: the flaky page answers 503 once per farm
    try:
        _scrapy_crawl(tmp_path, fresh)
    finally:
        stop()
    by_nianbao, by_scrapy = catalog_view(tmp_path / "by-nianbao"), catalog_view(tmp_path / "by-scrapy")
    assert by_nianbao["documents"] and by_nianbao == by_scrapy
    (status,), = sqlite3.connect(tmp_path / "by-scrapy" / "archive.db").execute(
        "SELECT status FROM crawl_runs")
    assert status == "finished"


def _scrapy_crawl(tmp_path: Path, farm: str) -> None:
    registry = portals_file(tmp_path, farm)
    cmd = scrapy_exe() + ["crawl", "portal", "-a", "portals=" + ",".join(PORTALS),
                          "-s", f"NIANBAO_DATA_DIR={tmp_path / 'by-scrapy'}",
                          "-s", f"NIANBAO_PORTALS={registry}", "-s", "NIANBAO_RENDER=never",
                          "-s", "LOG_LEVEL=WARNING", *FAST]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]


def test_scrapy_lists_the_portal_spider():
    out = subprocess.run(scrapy_exe() + ["list"], capture_output=True, text=True, timeout=60,
                         cwd=REPO)
    assert out.returncode == 0 and out.stdout.split() == ["portal"], out.stderr[-2000:]


def test_a_second_crawl_of_a_locked_data_directory_says_who_holds_it(farm, tmp_path):
    data = tmp_path / "data"
    with CrawlLock(data, run_id="20261201T000000Z-000000"):
        out = run_crawl_subprocess(tmp_path, farm, ["demo-county"], data=data, check=False)
    assert out.returncode == 3
    assert "being crawled" in out.stderr and "20261201T000000Z-000000" in out.stderr
    assert not (data / "warc").exists() or not list((data / "warc").iterdir())


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_crawl_resumes_its_run(farm, tmp_path, stop):
    """Ctrl-C (SIGINT) or kill -9 mid-way: the run's JOBDIR is kept; the next crawl of the
    same portals resumes the same run and finishes what was left."""
    data = tmp_path / "data"
    registry = portals_file(tmp_path, farm)
    exe = REPO / ".venv" / "bin" / "nianbao"
    cmd = ([str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]) + [
        "crawl", "--data", str(data), "--portals", str(registry), "--no-parse",
        "--render", "never", "--portal", "demo-hanweb",
        "-s", "DOWNLOAD_DELAY=0.25", "-s", "DOWNLOAD_DELAY_JITTER=0",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
        "-s", "NIANBAO_PROGRESS=off"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    db_path = data / "archive.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some reports are in
        time.sleep(0.3)
        if db_path.exists():
            try:
                n = sqlite3.connect(db_path).execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.Error:
                continue
            if n >= 3:
                break
    proc.send_signal(stop)
    out, err = proc.communicate(timeout=120)
    db = sqlite3.connect(db_path)
    (run_id, status), = db.execute("SELECT id, status FROM crawl_runs").fetchall()
    if stop == signal.SIGINT:
        assert json.loads(out)["status"] == status == "interrupted", err[-2000:]
    else:
        assert status == "running"  # killed: nothing closed it
    jobdirs = list((data / "jobs").iterdir())
    assert len(jobdirs) == 1 and (jobdirs[0] / "nianbao-run.json").exists()
    partial = db.execute("SELECT count(*) FROM documents").fetchone()[0]

    again = subprocess.run(cmd[:-2] + ["-s", "DOWNLOAD_DELAY=0", "-s", "NIANBAO_PROGRESS=off"],
                           capture_output=True, text=True, timeout=280, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    second = json.loads(again.stdout)
    assert second["run_id"] == run_id and second["resumed"] is True
    assert ("was killed" in again.stderr) is (stop == signal.SIGKILL)
    assert second["status"] == "finished"
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM crawl_runs").fetchone()[0] == 1
    total = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert total == 41 and partial < total
    assert not (data / "jobs" / jobdirs[0].name).exists()  # a finished run empties its JOBDIR


def test_progress_line_and_per_portal_table(farm, tmp_path):
    out = run_crawl_subprocess(tmp_path, farm, ["demo-county", "demo-gbk"], check=False,
                               extra=["-s", "NIANBAO_PROGRESS=on"])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "2 portal(s) · " in out.stderr and " reports · " in out.stderr
    table = [line.split() for line in out.stderr.splitlines() if line.startswith("demo-")]
    stats = json.loads(out.stdout)
    rows = {r["portal"]: r for r in stats["per_portal"]}
    assert {t[0] for t in table} == {"demo-county", "demo-gbk"}
    for name, pages, docs, new, *_ in table:
        assert (int(pages), int(docs), int(new)) == (rows[name]["pages"], rows[name]["documents"],
                                                     rows[name]["new_reports"])
