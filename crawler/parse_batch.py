"""`nianbao parse`: parse archived snapshots into reports, in parallel, one bad file at a time.

For every document, its captures that are `response` records with status 200 (a revisit is
the same payload again) are parsed unless this parser version already has a report for them
(or always, with `reparse_all`). Worker processes read the bytes themselves from the WARC
files (`archive.reader`) and call `parsers.parse_bytes`; the main process stores each result
(`archive.report_store`) and shows a tqdm progress bar on stderr.

One bad file never stops the batch. An exception, or a parse slower than the per-file timeout
(SIGALRM in the worker), is stored as a `failed` report with its reason. A worker stuck in C
code past the timeout is killed by faulthandler's watchdog; the tasks it shared the pool with
are then re-run one by one, so only the culprit is stored as failed.
"""
from __future__ import annotations

import faulthandler
import json
import multiprocessing
import os
import signal
import sys
import traceback
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tqdm import tqdm

from archive.catalog import connect
from archive.reader import read_capture
from archive.report_store import report_status, store_failure, store_report

DEFAULT_TIMEOUT = 120.0
HARD_GRACE = 30.0  # after timeout + this, the worker process is killed outright
LISTED_CHANGES = 20


class ParseTimeout(BaseException):
    """Raised in a worker by SIGALRM. A BaseException so a parser's `except Exception`
    cannot swallow it."""


@dataclass
class ParseSummary:
    parser_version: str
    selected: int = 0
    already_parsed: int = 0
    statuses: Counter = field(default_factory=Counter)
    changes: list[dict] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def parsed(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "failed")

    @property
    def failed(self) -> int:
        return self.statuses.get("failed", 0)

    def describe(self) -> str:
        if not self.selected:
            return (f"nothing to parse: {self.already_parsed} snapshot(s) already parsed by "
                    f"parser {self.parser_version} (--all re-parses them)")
        kinds = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()) if s != "failed")
        lines = [f"parser {self.parser_version}: parsed {self.parsed} of {self.selected} "
                 f"snapshot(s) ({kinds or 'none'}), {self.failed} failed; "
                 f"{len(self.changes)} value(s) changed"]
        for c in self.changes[:LISTED_CHANGES]:
            lines.append(f"  capture {c['capture_id']} {c['path']}: {c['old']} -> {c['new']}")
        if len(self.changes) > LISTED_CHANGES:
            lines.append(f"  ... and {len(self.changes) - LISTED_CHANGES} more (table "
                         f"parse_changes)")
        for capture_id, error in self.failures[:LISTED_CHANGES]:
            lines.append(f"  failed: capture {capture_id}: {error.splitlines()[0][:200]}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Task:
    capture_id: int
    document_id: int | None
    region_hint: str | None = None  # JSON: the portal's region in the registry


def select_captures(conn, parser_version: str, reparse_all: bool) -> tuple[list[_Task], int]:
    """Documents' status-200 response captures to parse, and how many were already parsed."""
    rows = conn.execute(
        "WITH links(capture_id, document_id) AS ("
        " SELECT c.id, d.id FROM documents d JOIN captures c ON c.url = d.url"
        " UNION SELECT c.id, d.id FROM documents d JOIN captures c ON c.final_url = d.url"
        " UNION SELECT latest_capture_id, id FROM documents"
        "  WHERE latest_capture_id IS NOT NULL) "
        "SELECT l.capture_id, min(l.document_id), EXISTS (SELECT 1 FROM reports r"
        "  WHERE r.capture_id = l.capture_id AND r.parser_version = ?), p.region "
        "FROM links l JOIN captures c ON c.id = l.capture_id "
        "LEFT JOIN portals p ON p.name = c.portal "
        "WHERE c.record_type = 'response' AND c.status = 200 "
        "GROUP BY l.capture_id ORDER BY l.capture_id", (parser_version,)).fetchall()
    tasks = [_Task(r[0], r[1], r[3]) for r in rows if reparse_all or not r[2]]
    return tasks, len(rows) - len(tasks)


# -- worker side ---------------------------------------------------------------------------
def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business


def _on_alarm(signum, frame):
    raise ParseTimeout()


def _filename(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None


def parse_one(capture_id: int, data_dir: str, timeout: float, parse_fn=None,
              hard_grace: float = HARD_GRACE, region_hint: str | None = None) -> tuple:
    """Read and parse one capture: ("ok", report) or ("failed", reason). Runs in a worker."""
    faulthandler.dump_traceback_later(timeout + hard_grace, exit=True)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        if parse_fn is None:
            from parsers import parse_bytes as parse_fn
        capture = read_capture(data_dir, capture_id)
        hint = json.loads(region_hint) if region_hint else None
        report = parse_fn(capture.body, filename=_filename(capture.url), url=capture.url,
                          capture_id=capture_id, region_hint=hint or None)
        return ("ok", report)
    except ParseTimeout:
        return ("failed", f"timeout: parsing took longer than {timeout:g} s")
    except Exception as e:
        tb = traceback.format_exc(limit=-8)
        return ("failed", f"{type(e).__name__}: {e}\n{tb}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


# -- main side -----------------------------------------------------------------------------
def _pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: the caller may hold threads (Scrapy's reactor after a crawl).
    return ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                               mp_context=multiprocessing.get_context("spawn"))


def _run_pool(tasks: deque, workers: int, args: tuple, handle) -> list[_Task]:
    """Run tasks with at most `workers` in flight (so in flight means running); return
    the tasks that were in flight when a worker process died."""
    suspects: list[_Task] = []
    while tasks:
        left = len(tasks)
        with _pool(workers) as ex:
            running: dict = {}
            broken = False
            while (tasks and not broken) or running:
                while tasks and len(running) < workers and not broken:
                    try:
                        running[ex.submit(parse_one, tasks[0].capture_id, *args,
                                          region_hint=tasks[0].region_hint)] = tasks[0]
                        tasks.popleft()
                    except BrokenProcessPool:  # a worker died before we saw its future
                        broken = True
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = running.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:  # a broken pool fails every pending future
                        suspects.append(task)
                        broken = True
                        continue
                    except Exception as e:  # e.g. a report that would not unpickle
                        outcome = ("failed", f"{type(e).__name__}: {e}")
                    handle(task, outcome)
        if tasks and len(tasks) == left:  # no progress at all: never loop forever
            suspects.append(tasks.popleft())
    return suspects


def parse_archive(data_dir: Path | str, reparse_all: bool = False, workers: int | None = None,
                  progress: bool = True, parse_fn=None, timeout: float = DEFAULT_TIMEOUT,
                  hard_grace: float = HARD_GRACE) -> ParseSummary:
    """Parse the archive's report snapshots; store reports, failures and changed values.

    :param data_dir: the archive directory (`archive.db`, `warc/`)
    :param reparse_all: parse every snapshot, not only those this parser version has not seen
    :param workers: worker processes (default: every core)
    :param progress: show a progress bar on stderr
    :param parse_fn: stands in for `parsers.parse_bytes` (a module-level function: it is
        pickled to the workers)
    :param timeout: seconds one file may take before it is stored as failed
    :param hard_grace: a worker still busy `hard_grace` s after its timeout is killed
    """
    from parsers import PARSER_VERSION

    data_dir = Path(data_dir)
    summary = ParseSummary(PARSER_VERSION)
    if not (data_dir / "archive.db").exists():
        return summary
    conn = connect(data_dir / "archive.db")
    try:
        tasks, summary.already_parsed = select_captures(conn, PARSER_VERSION, reparse_all)
        summary.selected = len(tasks)
        if not tasks:
            return summary
        bar = tqdm(total=len(tasks), file=sys.stderr, disable=not progress, unit="file",
                   desc="parse")

        def handle(task: _Task, outcome: tuple) -> None:
            kind, value = outcome
            if kind == "ok":
                value.setdefault("parser_version", PARSER_VERSION)
                _, changes = store_report(conn, task.capture_id, task.document_id, value)
                summary.statuses[report_status(value)] += 1
                summary.changes.extend(changes)
            else:
                store_failure(conn, task.capture_id, task.document_id, PARSER_VERSION, value)
                summary.statuses["failed"] += 1
                summary.failures.append((task.capture_id, value))
            bar.update(1)

        workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
        args = (str(data_dir), timeout, parse_fn, hard_grace)
        suspects = _run_pool(deque(tasks), workers, args, handle)
        for task in suspects:  # alone now: if the pool breaks again, this one did it
            if _run_pool(deque([task]), 1, args, handle):
                handle(task, ("failed", "worker process died (crashed, or hung past "
                                        f"{timeout + hard_grace:g} s)"))
        bar.close()
    finally:
        conn.close()
    return summary
