"""The whole path, as a user runs it: the farm stands in for the internet; `nianbao crawl`
archives and parses, `nianbao verify` re-reads every WARC record, `nianbao serve` publishes.

Asserts: every list page and report page captured; every catalog digest matches its WARC
record; one report per report page and attachment, with exactly the example's flat values;
a real Datasette process serves the reports table as JSON and the archived original.
"""
from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from parsers.model import table_values
from crawler.farm.server import load_config, start_farm
from tests.test_crawl_farm import FAST, FARM_PORTALS, nianbao

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "examples"
CONFIG = load_config()
PORTALS = ["demo-county", "demo-gbk"]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    base, stop = start_farm()
    try:
        portals_file = tmp / "portals.yml"
        portals_file.write_text(FARM_PORTALS.read_text("utf-8").replace("{farm}", base),
                                encoding="utf-8")
        cmd = nianbao() + ["crawl", "--data", str(tmp / "data"), "--portals", str(portals_file),
                           "--render", "never", *FAST]
        for name in PORTALS:
            cmd += ["--portal", name]
        crawl = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp)
        assert crawl.returncode == 0, crawl.stderr[-3000:]
        yield {"base": base, "data": tmp / "data", "stdout": crawl.stdout,
               "db": sqlite3.connect(tmp / "data" / "archive.db")}
    finally:
        stop()


def _documents():
    return [d for d in CONFIG["documents"] if d["portal"] in PORTALS]


def test_every_list_and_report_page_captured(archive):
    captured = {u for (u,) in archive["db"].execute(
        "SELECT coalesce(final_url, url) FROM captures WHERE status = 200")}
    for path in CONFIG["list_pages"]:
        if path.startswith(("/county/", "/gbk/")):
            assert archive["base"] + path in captured, path
    for doc in _documents():
        assert archive["base"] + doc["path"] in captured, doc["path"]


def test_verify_finds_every_digest_matching(archive):
    out = subprocess.run(nianbao() + ["verify", "--data", str(archive["data"])],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    (count,) = archive["db"].execute("SELECT count(*) FROM captures").fetchone()
    assert f"{count}/{count}" in out.stdout


def _report_for(archive, path: str) -> dict:
    rows = archive["db"].execute(
        "SELECT r.report_json FROM reports r JOIN documents d ON d.latest_capture_id = r.capture_id "
        "WHERE d.url = ?", (archive["base"] + path,)).fetchall()
    assert len(rows) == 1, f"{path}: {len(rows)} reports"
    return json.loads(rows[0][0])


@pytest.mark.parametrize("doc", _documents(), ids=lambda d: d["path"].rsplit("/", 1)[-1])
def test_one_report_per_document_with_the_example_values(archive, doc):
    report = _report_for(archive, doc["path"])
    if not doc["example"]:
        assert any("attachment" in w for w in report["warnings"])
        return
    expected = json.loads((EXAMPLES / f"{doc['example']}.expected.json").read_text("utf-8"))
    flat = table_values(report)
    assert flat == expected["values"]
    assert report["year"] == expected["meta"]["year"]
    assert report["template"] == expected["meta"]["template"]
    assert report["source"]["capture_id"] is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def test_datasette_serves_reports_and_originals(archive):
    port = _free_port()
    server = subprocess.Popen(nianbao() + ["serve", "--data", str(archive["data"]), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                _get(base + "/-/versions.json")
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(server.stdout.read().decode()[-3000:])
                time.sleep(0.2)
        status, _, body = _get(base + "/archive/reports.json?_shape=array&_size=max")
        rows = json.loads(body)
        (expected,) = archive["db"].execute("SELECT count(*) FROM reports").fetchone()
        assert status == 200 and len(rows) == expected >= len(_documents())
        agencies = {r["agency"] for r in rows}
        assert {"友谊县新镇乡人民政府", "胡集乡人民政府", "淮安市人民政府"} <= agencies
        pdf_row = next(r for r in rows if r["agency"] == "淮安市人民政府" and r["format"] == "pdf")
        status, headers, body = _get(f"{base}/-/original/{pdf_row['capture_id']}")
        assert status == 200 and body.startswith(b"%PDF")
        assert "sandbox" in headers.get("Content-Security-Policy", "")
    finally:
        server.terminate()
        server.wait(timeout=20)
