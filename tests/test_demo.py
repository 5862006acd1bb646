"""`nianbao demo`: the farm ships in the package; a full run crawls and parses the demo portals."""
from __future__ import annotations

import sqlite3
from collections import Counter
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from crawler.demo import demo_portal_names
from crawler.farm import server as farm

REPO = Path(__file__).resolve().parents[1]


def test_demo_serves_the_packaged_farm():
    base, stop = farm.start_farm(0)
    try:
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(base + "/county/zfxxgknb/") as r:
            assert "createPageHTML" in r.read().decode("utf-8")
        names = set(demo_portal_names(base))
        assert {"demo-county", "demo-gbk", "demo-js", "demo-trap", "demo-hanweb", "demo-gkmlpt",
                "demo-guarded", "demo-township"} <= names
    finally:
        stop()


@pytest.mark.e2e
@pytest.mark.browser
def test_demo_crawls_and_parses(tmp_path):
    exe = REPO / ".venv" / "bin" / "nianbao"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]
    data = tmp_path / "data"
    # run from elsewhere: the demo finds its farm and registry in the checkout, not the cwd
    out = subprocess.run(cmd + ["demo", "--data", str(data), "--no-serve"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert '"status": "finished"' in out.stdout
    db = sqlite3.connect(data / "archive.db")
    kinds = dict(db.execute("SELECT kind, count(*) FROM documents GROUP BY kind").fetchall())
    assert kinds == dict(Counter(d["kind"] for d in farm.load_config()["documents"]))
    # every document's payload is parsed (a payload several portals serve is parsed once)
    unparsed = db.execute(
        "SELECT d.url FROM documents d JOIN captures c ON c.id = d.latest_capture_id "
        "WHERE NOT EXISTS (SELECT 1 FROM reports r JOIN captures rc ON rc.id = r.capture_id "
        "WHERE rc.payload_sha256 = c.payload_sha256)").fetchall()
    assert unparsed == []
    assert db.execute("SELECT count(DISTINCT capture_id) FROM reports").fetchone()[0] >= 60
    assert db.execute("SELECT count(*) FROM captures WHERE rendered = 1").fetchone()[0] >= 1
