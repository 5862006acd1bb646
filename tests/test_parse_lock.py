"""One `nianbao parse` per data directory: the real CLI, against a parse lock held by a real
second process (crawler.lock.ParseLock, `data/parse.lock`).

- While another process holds it, `nianbao parse` exits with 3 and one line naming the
  holder (pid, host, start time), and stores nothing; once released, the same command parses.
- A holder killed with SIGKILL leaves its details in the file but never blocks.
- The batch holds the lock from start to end; a crawl's lock does not stop a parse, and
  `nianbao reindex` refuses to swap the catalog under a parse.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.catalog import Catalog, archive_exchange
from archive.warc_writer import WarcWriterFile
from crawler.cli import cli
from crawler.lock import LOCK_NAME, PARSE_LOCK_NAME, holder
from crawler.parse_batch import parse_archive
from parsers import PARSER_VERSION, parse_bytes

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "tests" / "examples" / "000_26e4c39d6db4dceb.txt"

# Takes the lock named by argv[2] ("parse" or "crawl"), says so, and keeps it until its
# stdin is closed (then releases it cleanly) or it is killed.
HOLD = textwrap.dedent("""
    import sys
    from crawler.lock import CrawlLock, ParseLock
    lock = {"parse": ParseLock, "crawl": CrawlLock}[sys.argv[2]](sys.argv[1]).acquire()
    print("held", flush=True)
    sys.stdin.read()
    lock.release()
    print("released", flush=True)
""")


def nianbao() -> list[str]:
    exe = Path(sys.executable).parent / "nianbao"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]


def run_nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(nianbao() + list(args), capture_output=True, text=True, timeout=240,
                          cwd=REPO)


def build_archive(data_dir: Path, copies: int = 2) -> list[int]:
    """`copies` captures of a real text report, each a distinct payload."""
    cat = Catalog(data_dir / "archive.db")
    run = cat.start_run(["demo"], {})
    writer = WarcWriterFile(data_dir / "warc", run)
    ids = []
    for i in range(copies):
        url = f"http://www.a.gov.cn/xxgk/ndbg/{i}/{EXAMPLE.name}"
        cid = archive_exchange(cat, writer, run_id=run, url=url, status=200,
                               body=EXAMPLE.read_bytes() + b"\n" * (i + 1), portal="demo")
        cat.upsert_document("demo", url, None, "attachment", None, run, cid)
        ids.append(cid)
    writer.close()
    cat.finish_run(run, "finished")
    cat.close()
    return ids


def stored(data_dir: Path) -> dict[int, str]:
    conn = sqlite3.connect(data_dir / "archive.db", timeout=30)
    try:
        return dict(conn.execute("SELECT capture_id, status FROM reports WHERE "
                                 "parser_version = ?", (PARSER_VERSION,)).fetchall())
    finally:
        conn.close()


@pytest.fixture
def archive(data_dir) -> tuple[Path, list[int]]:
    return data_dir, build_archive(data_dir)


@pytest.fixture
def hold(data_dir):
    """hold(kind) starts a process holding `kind`'s lock on data_dir; yields its Popen."""
    procs = []

    def start(kind: str = "parse") -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir), kind], cwd=REPO,
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdin.close()
        proc.stdout.close()


def test_second_parse_exits_3_naming_the_holder_then_runs_once_released(archive, hold):
    data, ids = archive
    child = hold("parse")
    out = run_nianbao("parse", "--data", str(data), "--workers", "1")
    assert out.returncode == 3, out.stderr[-3000:]
    assert out.stdout == ""
    [line] = out.stderr.splitlines()
    assert re.fullmatch(rf"nianbao parse: {re.escape(str(data))}/ is being parsed by pid "
                        rf"{child.pid} on host {re.escape(socket.gethostname())} since "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: wait for it or stop it", line), line
    assert stored(data) == {}  # it read nothing and wrote nothing

    child.stdin.close()  # the holder releases the lock and exits
    assert child.stdout.readline().strip() == "released"
    assert child.wait(timeout=10) == 0
    out = run_nianbao("parse", "--data", str(data), "--workers", "1")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "parsed 2 of 2" in out.stdout
    assert set(stored(data)) == set(ids)
    assert holder(data, PARSE_LOCK_NAME) is None


def test_a_sigkilled_holder_does_not_block(archive, hold):
    data, ids = archive
    child = hold("parse")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert f'"pid": {child.pid}' in (data / PARSE_LOCK_NAME).read_text()  # left behind
    out = run_nianbao("parse", "--data", str(data), "--workers", "1")
    assert out.returncode == 0, out.stderr[-3000:]
    assert set(stored(data)) == set(ids)
    assert (data / PARSE_LOCK_NAME).read_text() == ""  # cleared on a clean release


def test_a_crawl_does_not_stop_a_parse(archive, hold):
    data, ids = archive
    hold("crawl")
    out = run_nianbao("parse", "--data", str(data), "--workers", "1")
    assert out.returncode == 0, out.stderr[-3000:]
    assert set(stored(data)) == set(ids)
    assert holder(data, LOCK_NAME) is not None  # the crawl's lock is untouched


def test_reindex_refuses_while_a_parse_runs(archive, hold):
    data, _ = archive
    child = hold("parse")
    result = CliRunner().invoke(cli, ["reindex", "--data", str(data)])
    assert result.exit_code == 3, result.output
    assert f"is being parsed by pid {child.pid}" in result.output
    assert not list(data.glob("archive.db.bak-*"))  # the catalog was not swapped
    assert holder(data, LOCK_NAME) is None  # the crawl lock it took is released again


def parse_reporting_lock_holder(data: bytes, **kw) -> dict:
    """The real parser, noting in the title who held the parse lock during the parse (runs in
    a worker process, which finds the data directory in its environment)."""
    report = parse_bytes(data, **kw)
    info = holder(os.environ["TEST_PARSE_LOCK_DATA"], PARSE_LOCK_NAME) or {}
    report["title"] = f"lock held by {info.get('pid')}"
    return report


def test_the_lock_is_held_through_the_batch(archive, monkeypatch):
    data, ids = archive
    monkeypatch.setenv("TEST_PARSE_LOCK_DATA", str(data))  # the spawned workers inherit it
    summary = parse_archive(data, workers=2, progress=False, parse_fn=parse_reporting_lock_holder)
    assert summary.failed == 0, summary.describe()
    conn = sqlite3.connect(data / "archive.db")
    titles = {t for (t,) in conn.execute("SELECT title FROM reports")}
    conn.close()
    assert titles == {f"lock held by {os.getpid()}"}
    assert holder(data, PARSE_LOCK_NAME) is None
