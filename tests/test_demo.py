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
    parsed = db.execute("SELECT count(*) FROM reports r JOIN documents d "
                        "ON d.latest_capture_id = r.capture_id").fetchone()[0]
    assert parsed == sum(kinds.values())
    assert db.execute("SELECT count(*) FROM captures WHERE rendered = 1").fetchone()[0] >= 1
