"""crawler.lock: one crawl (and one parse) per data directory, held by a real flock in a real
second process."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from crawler.lock import (LOCK_NAME, PARSE_LOCK_NAME, CrawlLock, CrawlLocked, ParseLock,
                          ParseLocked, holder)

HOLD = textwrap.dedent("""
    import sys, time
    from crawler.lock import CrawlLock
    lock = CrawlLock(sys.argv[1], run_id=sys.argv[2]).acquire()
    print("held", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def child_holding(data_dir, repo_root):
    """Start a Python process that takes the lock on data_dir and sleeps; yield its Popen."""
    procs = []

    def start(run_id="run-child"):
        env = dict(os.environ, PYTHONPATH=str(repo_root))
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir), run_id],
                                cwd=repo_root, env=env, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_second_process_is_refused_and_told_who_holds_it(data_dir, child_holding):
    child = child_holding("20261201T190000-abc")
    with pytest.raises(CrawlLocked) as caught:
        CrawlLock(data_dir).acquire()
    message = str(caught.value)
    assert message.startswith(f"{data_dir}/ is being crawled by pid {child.pid} "
                              f"on host {socket.gethostname()} since ")
    assert re.search(r" since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(run 20261201T190000-abc\)",
                     message)
    assert message.endswith(": wait for it or stop it")
    assert caught.value.holder["pid"] == child.pid
    assert isinstance(caught.value, RuntimeError)


def test_holder_reports_the_child(data_dir, child_holding):
    assert holder(data_dir) is None
    before = datetime.now(timezone.utc).replace(microsecond=0)
    child = child_holding("run-42")
    info = holder(data_dir)
    assert info["pid"] == child.pid
    assert info["hostname"] == socket.gethostname()
    assert info["run_id"] == "run-42"
    started = datetime.strptime(info["started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= started <= datetime.now(timezone.utc)
    assert "-c" in info["command"] and str(data_dir) in info["command"]
    # holder() only looked: the child still has the lock
    with pytest.raises(CrawlLocked):
        CrawlLock(data_dir).acquire()


def test_sigkilled_holder_releases_the_lock(data_dir, child_holding):
    child = child_holding()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    # the dead child's details are still in the file, but nobody holds the lock
    assert json.loads((data_dir / LOCK_NAME).read_text())["pid"] == child.pid
    assert holder(data_dir) is None
    with CrawlLock(data_dir, run_id="after-kill") as lock:
        assert lock.held
        assert holder(data_dir)["pid"] == os.getpid()
        assert holder(data_dir)["run_id"] == "after-kill"


def test_context_exit_releases(data_dir):
    with CrawlLock(data_dir) as lock:
        assert lock.held
        # a second lock is refused even in the same process (the lock is per open file)
        with pytest.raises(CrawlLocked, match=f"pid {os.getpid()} "):
            CrawlLock(data_dir).acquire()
    assert not lock.held
    assert holder(data_dir) is None
    assert (data_dir / LOCK_NAME).read_text() == ""  # no stale details after a clean release
    with CrawlLock(data_dir):
        pass


def test_context_exit_releases_on_error(data_dir):
    with pytest.raises(ValueError):
        with CrawlLock(data_dir):
            raise ValueError("crawl failed")
    assert holder(data_dir) is None


def test_explicit_acquire_release(tmp_path):
    data = tmp_path / "not-yet" / "data"
    lock = CrawlLock(data, run_id="r1")
    assert holder(data) is None and not data.exists()  # holder() creates nothing
    assert lock.acquire() is lock
    with pytest.raises(RuntimeError, match="already held"):
        lock.acquire()
    assert holder(data)["run_id"] == "r1"
    lock.release()
    lock.release()  # harmless
    assert holder(data) is None
    CrawlLock(data).acquire().release()


def test_message_without_details(data_dir):
    assert str(CrawlLocked(data_dir, None)) == (
        f"{data_dir}/ is being crawled by another process (no details in "
        f"{data_dir}/crawl.lock yet): wait for it or stop it")


def test_parse_lock_is_its_own_lock(data_dir):
    with CrawlLock(data_dir, run_id="crawling"), ParseLock(data_dir) as parse:
        # a crawl and a parse do not exclude each other; each refuses its own kind only
        assert parse.held and repr(parse) == f"ParseLock({str(data_dir)!r}, held=True)"
        with pytest.raises(ParseLocked) as caught:
            ParseLock(data_dir).acquire()
        assert not isinstance(caught.value, CrawlLocked)
        assert str(caught.value).startswith(f"{data_dir}/ is being parsed by pid {os.getpid()} ")
        assert caught.value.holder["pid"] == os.getpid()
        with pytest.raises(CrawlLocked):
            CrawlLock(data_dir).acquire()
        assert holder(data_dir)["run_id"] == "crawling"
        assert holder(data_dir, PARSE_LOCK_NAME)["run_id"] is None
    assert holder(data_dir) is None and holder(data_dir, PARSE_LOCK_NAME) is None
    assert (data_dir / PARSE_LOCK_NAME).read_text() == ""


def test_parse_lock_message_without_details(data_dir):
    assert str(ParseLocked(data_dir, None)) == (
        f"{data_dir}/ is being parsed by another process (no details in "
        f"{data_dir}/parse.lock yet): wait for it or stop it")
