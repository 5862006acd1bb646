"""`nianbao parse`: parse archived snapshots into reports, in parallel, one bad file at a time.

For every document, its captures that are `response` records with status 200 (a revisit is
the same payload again) are parsed unless this parser version already has a report for them
(or always, with `reparse_all`). Worker processes read the bytes themselves from the WARC
files (`archive.reader`) and call `parsers.parse_bytes`; the main process stores each result
(`archive.report_store`) and shows a tqdm progress bar on stderr.

One bad file never stops the batch. An exception, or a parse slower than the per-file timeout
(SIGALRM in the worker), is stored as a `failed` report with its reason; so is a DOC or WPS
file LibreOffice could not convert (`parsers.office_convert.ConversionError`, its own
timeout included), never as an empty report. A worker stuck in C code past the timeout is
killed by faulthandler's watchdog; the tasks it shared the pool with are then re-run one by
one, so only the culprit is stored as failed. A failure is retried by `--retry-failed`
(this version's failed captures, perhaps with a longer `--timeout`) or by `--all`.

A batch killed at any moment (Ctrl-C, SIGKILL, a reboot) resumes. Each result is stored in
its own transaction as it arrives, so the next run finds every result stored so far and
parses only what is left; a worker whose main process died exits by itself. A full re-parse
(`reparse_all`) leaves a mark in `catalog_meta` (key `parse_all`: parser version and start
time) until it has gone through every capture; while it is there, the next run, with or
without `--all`, resumes it: it parses the captures with no report by this version stored
since that start, and nothing twice.

One batch per data directory at a time: the batch holds `crawler.lock.ParseLock`
(`parse.lock`) throughout, and a second one raises `ParseLocked` before it reads anything. A
crawl may run meanwhile (the batch parses the captures there were when it started).

What the summary prints: parsed, failed, the values that changed (`parse_changes`, see
`archive.report_store`) and the paths that changed most.
"""
from __future__ import annotations

import faulthandler
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
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
from archive.report_store import report_status, store_failure, store_report, utc_now
from crawler.lock import ParseLock

DEFAULT_TIMEOUT = 120.0
HARD_GRACE = 30.0  # after timeout + this, the worker process is killed outright
LISTED_CHANGES = 20  # changed values listed one by one in the summary
LISTED_PATHS = 10    # paths listed by how many reports they changed in
KEPT_CHANGES = 1000  # changed values kept in ParseSummary.changes (all are in parse_changes)
FULL_REPARSE_KEY = "parse_all"  # catalog_meta: an unfinished full re-parse
PARENT_POLL = 0.5    # seconds between a worker's looks at whether its main process lives


class ParseTimeout(BaseException):
    """Raised in a worker by SIGALRM. A BaseException so a parser's `except Exception`
    cannot swallow it."""


@dataclass
class ParseSummary:
    parser_version: str
    selected: int = 0
    already_parsed: int = 0
    statuses: Counter = field(default_factory=Counter)
    changes: list[dict] = field(default_factory=list)  # the first KEPT_CHANGES
    changed_values: int = 0
    changed_reports: int = 0
    changed_paths: Counter = field(default_factory=Counter)  # path: reports it changed in
    compared_with: Counter = field(default_factory=Counter)  # previous version: reports
    failures: list[tuple[int, str]] = field(default_factory=list)
    resumed_from: str | None = None  # start of the unfinished full re-parse resumed
    timeout: float = DEFAULT_TIMEOUT

    @property
    def parsed(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "failed")

    @property
    def failed(self) -> int:
        return self.statuses.get("failed", 0)

    def add_changes(self, changes: list[dict]) -> None:
        """Count one report's changed values."""
        if not changes:
            return
        self.changed_values += len(changes)
        self.changed_reports += 1
        self.changed_paths.update({c["path"] for c in changes})
        self.compared_with[changes[0].get("previous_parser_version")] += 1
        room = KEPT_CHANGES - len(self.changes)
        if room > 0:
            self.changes.extend(changes[:room])

    def describe(self) -> str:
        lines = []
        if self.resumed_from:
            lines.append(f"resumed the re-parse of every snapshot started {self.resumed_from} "
                         f"(stopped before the end): {self.already_parsed} snapshot(s) "
                         f"were done")
        if not self.selected:
            lines.append(f"nothing to parse: {self.already_parsed} snapshot(s) already parsed "
                         f"by parser {self.parser_version} (--all re-parses them)")
            return "\n".join(lines)
        kinds = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()) if s != "failed")
        changed = f"{self.changed_values} value(s) changed"
        if self.changed_values:
            versions = ", ".join(f"{v}" for v, _ in self.compared_with.most_common())
            changed += f" in {self.changed_reports} report(s) (compared with parser {versions})"
        lines.append(f"parser {self.parser_version}: parsed {self.parsed} of {self.selected} "
                     f"snapshot(s) ({kinds or 'none'}), {self.failed} failed; {changed}")
        if self.changed_paths:
            lines.append("  paths that changed most (reports):")
            width = len(str(self.changed_paths.most_common(1)[0][1]))
            for path, n in self.changed_paths.most_common(LISTED_PATHS):
                lines.append(f"    {n:>{width}}  {path}")
            if len(self.changed_paths) > LISTED_PATHS:
                lines.append(f"    ... and {len(self.changed_paths) - LISTED_PATHS} more path(s)")
        for c in self.changes[:LISTED_CHANGES]:
            lines.append(f"  capture {c['capture_id']} {c['path']}: {_show(c['old'])} -> "
                         f"{_show(c['new'])}")
        if self.changed_values > LISTED_CHANGES:
            lines.append(f"  ... and {self.changed_values - LISTED_CHANGES} more (table "
                         f"parse_changes)")
        for capture_id, error in self.failures[:LISTED_CHANGES]:
            lines.append(f"  failed: capture {capture_id}: {error.splitlines()[0][:200]}")
        if len(self.failures) > LISTED_CHANGES:
            lines.append(f"  ... and {len(self.failures) - LISTED_CHANGES} more failure(s) "
                         f"(reports with status 'failed')")
        if self.failures:
            hint = "nianbao parse --retry-failed"
            longer = max(self.timeout * 4, 600)
            slow = any(e.startswith(("timeout", "worker process died")) for _, e in self.failures)
            # LibreOffice has its own limit, under the per-file one: --timeout alone won't do
            slow_office = any(e.startswith("ConversionError: LibreOffice timed out")
                              for _, e in self.failures)
            if slow or slow_office:
                hint += f" --timeout {longer:g}"
            if slow_office:
                hint = f"NIANBAO_SOFFICE_TIMEOUT={longer / 2:g} {hint}"
            lines.append(f"  to try the failed ones again: {hint}")
        return "\n".join(lines)


def _show(value) -> str:
    return "null" if value is None else str(value)


@dataclass(frozen=True)
class _Task:
    capture_id: int
    document_id: int | None
    region_hint: str | None = None  # JSON: the portal's region in the registry


def select_captures(conn, parser_version: str, reparse_all: bool = False, *,
                    since: str | None = None,
                    retry_failed: bool = False) -> tuple[list[_Task], int]:
    """Documents' status-200 response captures to parse, and how many were already parsed.

    A capture is already parsed when it has a report by `parser_version` (stored at or after
    `since`, when given; one that did not fail, with `retry_failed`). `reparse_all` without
    `since` selects every capture.
    """
    rows = conn.execute(
        "WITH links(capture_id, document_id) AS ("
        " SELECT c.id, d.id FROM documents d JOIN captures c ON c.url = d.url"
        " UNION SELECT c.id, d.id FROM documents d JOIN captures c ON c.final_url = d.url"
        " UNION SELECT latest_capture_id, id FROM documents"
        "  WHERE latest_capture_id IS NOT NULL) "
        "SELECT l.capture_id, min(l.document_id), EXISTS (SELECT 1 FROM reports r"
        "  WHERE r.capture_id = l.capture_id AND r.parser_version = ?"
        "  AND (? IS NULL OR r.parsed_at >= ?) AND (NOT ? OR r.status != 'failed')), p.region "
        "FROM links l JOIN captures c ON c.id = l.capture_id "
        "LEFT JOIN portals p ON p.name = c.portal "
        "WHERE c.record_type = 'response' AND c.status = 200 "
        "GROUP BY l.capture_id ORDER BY l.capture_id",
        (parser_version, since, since, int(retry_failed))).fetchall()
    everything = reparse_all and since is None
    tasks = [_Task(r[0], r[1], r[3]) for r in rows if everything or not r[2]]
    return tasks, len(rows) - len(tasks)


def _full_reparse_mark(conn) -> dict | None:
    row = conn.execute("SELECT value FROM catalog_meta WHERE key = ?",
                       (FULL_REPARSE_KEY,)).fetchone()
    try:
        return json.loads(row[0]) if row else None
    except (TypeError, ValueError):
        return None


def _set_full_reparse_mark(conn, mark: dict | None) -> None:
    with conn:
        if mark is None:
            conn.execute("DELETE FROM catalog_meta WHERE key = ?", (FULL_REPARSE_KEY,))
        else:
            conn.execute("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES (?, ?)",
                         (FULL_REPARSE_KEY, json.dumps(mark)))


def _full_reparse_since(conn, parser_version: str, reparse_all: bool,
                        summary: ParseSummary) -> str | None:
    """The start of the full re-parse this run makes or resumes, or None (not one)."""
    mark = _full_reparse_mark(conn)
    if mark and mark.get("parser_version") != parser_version:
        # Another version's re-parse stopped: this version parses every capture anyway.
        _set_full_reparse_mark(conn, None)
        mark = None
    if mark and mark.get("started_at"):
        summary.resumed_from = mark["started_at"]
        return mark["started_at"]
    if not reparse_all:
        return None
    started = utc_now()
    _set_full_reparse_mark(conn, {"parser_version": parser_version, "started_at": started})
    return started


# -- worker side ---------------------------------------------------------------------------
def _init_worker(parent_pid: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    if parent_pid is not None:
        # A main process killed outright (SIGKILL) leaves its workers blocked on the task
        # queue for ever, or finishing a parse nobody will store: they end themselves.
        threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True,
                         name="parent-watch").start()


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL)
    os._exit(1)


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
                               initargs=(os.getpid(),),
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
                  hard_grace: float = HARD_GRACE, retry_failed: bool = False) -> ParseSummary:
    """Parse the archive's report snapshots; store reports, failures and changed values.

    Resumes a full re-parse that stopped before its end (see the module's docstring).

    :param data_dir: the archive directory (`archive.db`, `warc/`)
    :param reparse_all: parse every snapshot, not only those this parser version has not seen
    :param workers: worker processes (default: every core)
    :param progress: show a progress bar on stderr
    :param parse_fn: stands in for `parsers.parse_bytes` (a module-level function: it is
        pickled to the workers)
    :param timeout: seconds one file may take before it is stored as failed
    :param hard_grace: a worker still busy `hard_grace` s after its timeout is killed
    :param retry_failed: parse again the snapshots whose report by this version failed
    :raises crawler.lock.ParseLocked: another batch is parsing this data directory
    """
    from parsers import PARSER_VERSION

    data_dir = Path(data_dir)
    summary = ParseSummary(PARSER_VERSION, timeout=timeout)
    if not (data_dir / "archive.db").exists():
        return summary
    with ParseLock(data_dir):
        conn = connect(data_dir / "archive.db")
        try:
            since = _full_reparse_since(conn, PARSER_VERSION, reparse_all, summary)
            tasks, summary.already_parsed = select_captures(conn, PARSER_VERSION, since=since,
                                                            retry_failed=retry_failed)
            summary.selected = len(tasks)
            if tasks:
                _parse_tasks(conn, data_dir, tasks, summary, workers, progress, parse_fn,
                             timeout, hard_grace)
            if since is not None:  # every capture went through: the full re-parse is done
                _set_full_reparse_mark(conn, None)
        finally:
            conn.close()
    return summary


def _parse_tasks(conn, data_dir: Path, tasks: list[_Task], summary: ParseSummary,
                 workers: int | None, progress: bool, parse_fn, timeout: float,
                 hard_grace: float) -> None:
    version = summary.parser_version
    bar = tqdm(total=len(tasks), file=sys.stderr, disable=not progress, unit="file",
               desc="parse")

    def handle(task: _Task, outcome: tuple) -> None:
        kind, value = outcome
        if kind == "ok":
            value.setdefault("parser_version", version)
            _, changes = store_report(conn, task.capture_id, task.document_id, value)
            summary.statuses[report_status(value)] += 1
            summary.add_changes(changes)
        else:
            store_failure(conn, task.capture_id, task.document_id, version, value)
            summary.statuses["failed"] += 1
            summary.failures.append((task.capture_id, value))
        bar.update(1)

    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    args = (str(data_dir), timeout, parse_fn, hard_grace)
    try:
        suspects = _run_pool(deque(tasks), workers, args, handle)
        for task in suspects:  # alone now: if the pool breaks again, this one did it
            if _run_pool(deque([task]), 1, args, handle):
                handle(task, ("failed", "worker process died (crashed, or hung past "
                                        f"{timeout + hard_grace:g} s)"))
    finally:
        bar.close()
