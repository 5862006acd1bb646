"""`nianbao reindex`: rebuild the catalog from the WARC files alone.

Every file under `data/warc/` is read in name order with warcio. The HTTP exchanges give each
capture's URL, final URL, method, status, headers, fetch time, payload digest and size, record
type and place; the JSON `metadata` records the crawl wrote (see archive.catalog) give the rest:
the capture's id, run, portal, referrer, whether a browser rendered it, the challenge met, and
the `crawl_runs`, `portals`, `crawl_run_portals`, `documents`, `document_captures` and
`crawl_errors` rows as the crawl left them (the latest record of a row wins), from which each
run's `document_events` (changed and gone reports) are derived again; a run's
unchanged ledger records give its `unchanged` captures, whole, and the document records of
its unchanged documents. A capture
without its metadata record (a crash between the two, or an archive older than these
records) is still indexed, from its exchange alone, with a new id, and reported.

The new catalog is built beside the old one (`archive.db.reindex-tmp`) and only then takes
its place; the old one is moved aside as `archive.db.bak-<UTC timestamp>`, never deleted.
Parsed reports are not in the WARC files: run `nianbao parse --all` afterwards. A torn or
partial record (a crash mid-write) is left out and reported; it never stops the rebuild.
Reindexing twice gives the same catalog.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from archive.catalog import CAPTURE_COLUMNS, RECORD_DOCUMENT, RECORD_ERROR, RECORD_RUN, connect
from archive.events import record_events
from archive.warc_index import WarcIndex, capture_rows, read_file

DB_NAME = "archive.db"
TMP_NAME = "archive.db.reindex-tmp"
MAX_LISTED = 50
_SIDECARS = ("-wal", "-shm")


@dataclass
class ReindexResult:
    files: int = 0
    records: int = 0
    captures: int = 0
    runs: int = 0
    documents: int = 0
    document_captures: int = 0
    crawl_errors: int = 0
    portals: int = 0
    document_events: int = 0
    without_metadata: int = 0   # captures indexed from their exchange alone, with a new id
    backup: str | None = None   # where the old catalog went (file name in the data dir)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = (f"{self.files} WARC files, {self.records} records: {self.captures} captures, "
                f"{self.runs} runs, {self.documents} documents ({self.document_captures} "
                f"captures of them), {self.crawl_errors} crawl errors, {self.document_events} "
                f"document events")
        if self.without_metadata:
            head += f"; {self.without_metadata} captures without their metadata record"
        if self.backup:
            head += f"; the old catalog is now {self.backup}"
        if self.ok:
            return head + ": OK"
        lines = [head + f": {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more")
        return "\n".join(lines)


def _latest(records: list[tuple[tuple, dict]], key, value) -> dict:
    """{key(fields): value(fields)} keeping, for each key, the latest record's."""
    out: dict = {}
    for _, fields in sorted(records, key=lambda r: r[0]):
        k, v = key(fields), value(fields)
        if k is not None and v is not None:
            out[k] = v
    return out


def _runs(index: WarcIndex, captures: list[dict], result: ReindexResult):
    records = index.tables[RECORD_RUN]
    runs = _latest(records, lambda f: (f.get("run") or {}).get("id"), lambda f: f.get("run"))
    per_portal = _latest(records, lambda f: (f.get("run") or {}).get("id"),
                         lambda f: f.get("crawl_run_portals") or None)
    portals: dict[str, dict] = {}
    for _, fields in sorted(records, key=lambda r: r[0]):
        for p in fields.get("portals") or ():
            portals[p["name"]] = p
    for run_id in sorted({c["run_id"] for c in captures} - set(runs)):
        mine = [c for c in captures if c["run_id"] == run_id]
        runs[run_id] = {
            "id": run_id, "started_at": min(c["fetched_at"] for c in mine),
            "status": "unknown", "captures": len(mine),
            "bytes": sum(c["payload_size"] for c in mine),
            "portals": json.dumps(sorted({c["portal"] for c in mine if c["portal"]}),
                                  ensure_ascii=False)}
        result.problems.append(f"run {run_id}: no run record; rebuilt from its "
                               f"{len(mine)} captures alone (status unknown)")
    return runs, [r for rows in per_portal.values() for r in rows], list(portals.values())


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    groups: dict[tuple, list] = {}
    for row in rows:  # rows from one crawl share their columns: one statement each
        names = tuple(n for n in row if n in have)
        groups.setdefault(names, []).append([row[n] for n in names])
    for names, values in groups.items():
        conn.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) "
                         f"VALUES ({', '.join('?' * len(names))})", values)


def _backup_name(data_dir: Path) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name, n = f"{DB_NAME}.bak-{stamp}", 0
    while any((data_dir / (name + s)).exists() for s in ("",) + _SIDECARS):
        n += 1
        name = f"{DB_NAME}.bak-{stamp}-{n}"
    return name


def _move_db(src: Path, dst: Path) -> None:
    """Rename a SQLite database with its WAL files (checkpointed first, so `dst` alone
    holds every committed row)."""
    try:
        conn = sqlite3.connect(str(src))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    except sqlite3.Error:  # a damaged catalog is moved as it is, WAL and all
        pass
    src.rename(dst)
    for suffix in _SIDECARS:
        side = src.with_name(src.name + suffix)
        if side.exists():
            side.rename(dst.with_name(dst.name + suffix))


def reindex(data_dir: Path | str) -> ReindexResult:
    """Rebuild `data_dir/archive.db` from `data_dir/warc/*.warc*` alone (see the module
    docstring); the old catalog, if any, is kept as `archive.db.bak-<timestamp>`. With no
    WARC files at all, an existing catalog is left alone (and that is reported)."""
    data_dir = Path(data_dir)
    warc_dir = data_dir / "warc"
    result = ReindexResult()
    index = WarcIndex()
    files = sorted(p for p in warc_dir.glob("*.warc*") if p.is_file()) if warc_dir.is_dir() else []
    if not files and (data_dir / DB_NAME).exists():
        # most likely the wrong directory: an empty catalog must not replace a real one
        result.problems.append(f"no WARC files under {warc_dir}: the catalog is left as it is")
        return result
    for path in files:
        records = read_file(path, result.problems)
        result.files += 1
        result.records += len(records)
        for rec in records:
            index.add(rec)

    captures = capture_rows(index, result)
    runs, run_portals, portals = _runs(index, captures, result)
    tables = index.tables
    documents = _latest(tables[RECORD_DOCUMENT], lambda f: (f.get("document") or {}).get("id"),
                        lambda f: f.get("document"))
    links = _latest(tables[RECORD_DOCUMENT],
                    lambda f: ((f.get("document_capture") or {}).get("document_id"),
                               (f.get("document_capture") or {}).get("run_id"))
                    if f.get("document_capture") else None,
                    lambda f: f.get("document_capture"))
    errors = _latest(tables[RECORD_ERROR], lambda f: (f.get("crawl_error") or {}).get("id"),
                     lambda f: f.get("crawl_error"))
    known = {c["id"] for c in captures}
    for link in links.values():
        if link.get("capture_id") is not None and link["capture_id"] not in known:
            result.problems.append(f"document {link['document_id']} (run {link['run_id']}): "
                                   f"its capture {link['capture_id']} is not in the archive")

    tmp = data_dir / TMP_NAME
    for suffix in ("",) + _SIDECARS:  # an earlier reindex that stopped half-way
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)
    conn = connect(tmp)
    try:
        with conn:
            _insert(conn, "crawl_runs", sorted(runs.values(), key=lambda r: r["id"]))
            _insert(conn, "portals", sorted(portals, key=lambda r: r["name"]))
            _insert(conn, "crawl_run_portals", run_portals)
            for row in captures:
                row["headers"] = json.dumps([list(h) for h in row["headers"]],
                                            ensure_ascii=False)
            _insert(conn, "captures", [{"id": c["id"], **{k: c[k] for k in CAPTURE_COLUMNS}}
                                       for c in captures])
            _insert(conn, "crawl_errors", sorted(errors.values(), key=lambda r: r["id"]))
            _insert(conn, "documents", sorted(documents.values(), key=lambda r: r["id"]))
            _insert(conn, "document_captures", sorted(
                links.values(), key=lambda r: (r["document_id"], r["run_id"])))
        for run_id in sorted(runs):  # changed and gone reports, derived as each run did
            run = runs[run_id]
            result.document_events += record_events(
                conn, run_id, detected_at=run.get("finished_at") or run.get("started_at"))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()

    db = data_dir / DB_NAME
    if db.exists():
        result.backup = _backup_name(data_dir)
        _move_db(db, data_dir / result.backup)
    _move_db(tmp, db)
    result.captures, result.runs = len(captures), len(runs)
    result.documents, result.document_captures = len(documents), len(links)
    result.crawl_errors, result.portals = len(errors), len(portals)
    return result
