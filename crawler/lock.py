"""One crawl, and one parse, per data directory at a time: an exclusive `flock` on
`DATA_DIR/crawl.lock` (`CrawlLock`) or `DATA_DIR/parse.lock` (`ParseLock`).

    with CrawlLock(data_dir, run_id=run_id):
        ...  # crawl

The two locks are independent (a crawl and a parse may run together). Both are
`DataDirLock`s, differing only by the file and the error a busy lock raises; what follows
holds for each.

The lock is the kernel's, not the file's existence: `CrawlLock` opens the file, takes
`fcntl.flock(LOCK_EX | LOCK_NB)` and keeps the file open while it is held. When the holder
exits, crashes or is SIGKILLed the kernel drops the lock with the file descriptor, so there
is never a stale lock to clean up; the file itself stays and is reused.

While held, the file contains the holder's details as JSON (pid, hostname, run_id,
started_at in ISO UTC, command), so a second acquirer fails at once with `CrawlLocked`, whose
message says who is crawling since when. `holder(data_dir)` reads those details without
taking the lock (None when nobody holds it, whatever a dead holder left in the file);
`holder(data_dir, PARSE_LOCK_NAME)` the parse lock's. `ParseLocked` says who is parsing.

The lock belongs to the open file, not the process: a second `CrawlLock` on the same
directory in the same process is refused too. The descriptor is not inherited by programs
the crawl starts (Python opens it non-inheritable), but a bare `os.fork()` child shares it
and keeps the lock alive until it exits as well.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

LOCK_NAME = "crawl.lock"
PARSE_LOCK_NAME = "parse.lock"

# An acquirer that finds the lock busy looks again for this long before giving up: `holder()`
# holds a shared lock for a few microseconds, and a new holder needs a moment to write its
# details. Neither should make a crawl fail or report an empty holder.
_BUSY_RETRY_SECONDS = 0.25
_BUSY_RETRY_STEP = 0.02


class DataDirLocked(RuntimeError):
    """Someone else holds this lock on the data directory; `.holder` has their details.
    A subclass names the lock file and what the holder is doing (default: the crawl's)."""

    lock_name = LOCK_NAME
    activity = "crawled"

    def __init__(self, data_dir: Path, holder: dict | None):
        self.data_dir = Path(data_dir)
        self.holder = holder or {}
        super().__init__(describe_holder(self.data_dir, self.holder, lock_name=self.lock_name,
                                         activity=self.activity))


class CrawlLocked(DataDirLocked):
    """The data directory is being crawled by someone else; `.holder` has their details."""


class ParseLocked(DataDirLocked):
    """The data directory is being parsed by someone else; `.holder` has their details."""

    lock_name = PARSE_LOCK_NAME
    activity = "parsed"


def describe_holder(data_dir: Path, info: dict, *, lock_name: str = LOCK_NAME,
                    activity: str = "crawled") -> str:
    """'data/ is being crawled by pid 1234 on host x since ... (run ...): wait for it or stop it'."""
    where = f"{str(data_dir).rstrip('/')}/"
    if not info.get("pid"):
        return (f"{where} is being {activity} by another process (no details in "
                f"{where}{lock_name} yet): wait for it or stop it")
    text = f"{where} is being {activity} by pid {info['pid']}"
    if info.get("hostname"):
        text += f" on host {info['hostname']}"
    if info.get("started_at"):
        text += f" since {info['started_at']}"
    if info.get("run_id"):
        text += f" (run {info['run_id']})"
    return text + ": wait for it or stop it"


class DataDirLock:
    """Exclusive lock on one data directory; a context manager or acquire()/release().
    A subclass names its file (`lock_name`) and the error a busy lock raises (`locked`);
    the defaults are the crawl lock's."""

    lock_name = LOCK_NAME
    locked: type[DataDirLocked] = DataDirLocked

    def __init__(self, data_dir: Path | str, run_id: str | None = None):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / self.lock_name
        self.run_id = run_id
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "DataDirLock":
        """Take the lock or raise `self.locked` at once (no waiting for the holder)."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this {type(self).__name__}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # O_RDWR without O_TRUNC: the file may be another holder's, whose details we must not wipe.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_flock(fd, fcntl.LOCK_EX, _BUSY_RETRY_SECONDS):
                raise self.locked(self.data_dir, _read_details(self.path, wait=True))
            details = {
                "pid": os.getpid(),
                "hostname": socket.gethostname(),
                "run_id": self.run_id,
                "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "command": shlex.join(getattr(sys, "orig_argv", None) or sys.argv),
            }
            data = (json.dumps(details, ensure_ascii=False) + "\n").encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (and clear the holder's details). Releasing twice is harmless."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> "DataDirLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.data_dir)!r}, held={self.held})"


class CrawlLock(DataDirLock):
    """One crawl per data directory (`crawl.lock`); a busy lock raises `CrawlLocked`."""

    locked = CrawlLocked


class ParseLock(DataDirLock):
    """One parse batch per data directory (`parse.lock`); a busy lock raises `ParseLocked`."""

    lock_name = PARSE_LOCK_NAME
    locked = ParseLocked


def holder(data_dir: Path | str, lock_name: str = LOCK_NAME) -> dict | None:
    """The current holder's details, or None if no one holds the lock on `data_dir`
    (the crawl lock, or the one `lock_name` names).

    Does not create anything and never takes the exclusive lock: it probes with a shared
    lock that it drops at once (which only succeeds when nobody holds the exclusive one).
    A holder whose details are not written yet is returned as `{}`.
    """
    path = Path(data_dir) / lock_name
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _try_flock(fd, fcntl.LOCK_SH, 0):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)
    return _read_details(path, wait=True) or {}


def _try_flock(fd: int, kind: int, patience: float) -> bool:
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(_BUSY_RETRY_STEP)


def _read_details(path: Path, wait: bool) -> dict | None:
    """The JSON the holder wrote; if empty (just acquired), look again for a moment."""
    deadline = time.monotonic() + (_BUSY_RETRY_SECONDS if wait else 0)
    while True:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(info, dict):
                return info
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(_BUSY_RETRY_STEP)
