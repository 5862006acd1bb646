"""Crash repair, run at the start of every crawl: torn WARC tails and the catalog rows behind them.

A crawl killed outright (SIGKILL, a power cut) can leave, at the end of the WARC file it was
writing, a record cut short (a gzip member without its trailer, a payload shorter than its
Content-Length), and catalog rows that do not match the files. The writer never appends to
an existing file, so damage is only ever at a file's tail. `repair_warcs(data_dir)`:

- finds, in each `data/warc/*.warc*` file, the end of its last complete record (read with
  warcio's ArchiveIterator: whole payload, gzip member ending in its trailer). The scan starts
  at the file's last catalogued record, when it is one, so a large archive is not re-read at
  every start; otherwise from the file's beginning;
- moves any bytes after that end to `data/quarantine/<file>.<offset>.torn` (copied and
  fsynced first: never deleted) and truncates the file there;
- deletes the `captures` rows whose record is beyond a file's good end or whose file is
  missing. Deleted, not marked: `nianbao verify` checks every captures row against the WARC
  files and the schema has no column to mark one with; the bytes are in quarantine. What
  points only to such a capture goes too (its document_captures row, reports and their rows,
  parse changes, document events); a document whose latest capture is removed points to its
  previous remaining capture (or none); a revisit referring to it loses its refers_to;
- catalogs the complete response/revisit records after a file's last catalogued one (a kill
  between the record and its catalog commit), from the exchange and its `capture` metadata
  record when there is one, as `nianbao reindex` would, and the entries of an unchanged
  ledger record written there: a row waiting for it gets its place, a missing one is added;
- deletes, as above, the `unchanged` captures still waiting for a ledger record that was
  never written (the kill came first): the pages are checked again by the next crawl.

Nothing complete is lost; `describe()` says what was done.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.verify import gzip_member_complete

QUARANTINE = "quarantine"
# rows that hang off a report (archive/schema.py)
_REPORT_CHILDREN = ("applications", "active_disclosure", "review_litigation", "checks",
                    "sections", "parse_changes")


@dataclass
class RepairResult:
    files: int = 0
    truncated: list[tuple[str, int, int, str]] = field(default_factory=list)
    # (file, good end offset, bytes moved, quarantine path relative to the data dir)
    removed_captures: list[int] = field(default_factory=list)
    added_captures: list[int] = field(default_factory=list)
    repointed_documents: list[int] = field(default_factory=list)
    placed_captures: list[int] = field(default_factory=list)  # unchanged: their ledger found
    notes: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> bool:
        return bool(self.truncated or self.removed_captures or self.added_captures
                    or self.placed_captures)

    def describe(self) -> str:
        if not self.repaired:
            return f"{self.files} WARC files checked: nothing to repair"
        lines = [f"{self.files} WARC files checked: repaired after a crash"]
        for name, end, size, where in self.truncated:
            lines.append(f"  {name}: {size} torn bytes after offset {end} moved to {where}")
        if self.removed_captures:
            lines.append(f"  {len(self.removed_captures)} catalog capture(s) without a "
                         f"complete record removed: {self.removed_captures}")
        if self.repointed_documents:
            lines.append(f"  documents pointed back to their previous capture: "
                         f"{self.repointed_documents}")
        if self.added_captures:
            lines.append(f"  {len(self.added_captures)} complete record(s) the catalog missed "
                         f"catalogued as captures {self.added_captures}")
        if self.placed_captures:
            lines.append(f"  {len(self.placed_captures)} unchanged capture(s) given the place "
                         f"of their ledger record: {self.placed_captures}")
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


def _scan(path: Path, start: int):
    """(records, good end) of the complete records from `start`: records are
    (offset, length, warcio record fields) for response/revisit/request/metadata/conversion."""
    from archive.warc_index import read_through

    out: list = []
    good = start
    with open(path, "rb") as fh:
        fh.seek(start)
        it = ArchiveIterator(fh)
        try:
            for record in it:
                kept, _ = read_through(record, it, path.name, start)
                if kept is None or not gzip_member_complete(path, kept.offset, kept.length):
                    break
                out.append(kept)
                good = kept.offset + kept.length
        except Exception:  # a torn or corrupt record: everything before it is good
            pass
    return out, good


def _quarantine(data_dir: Path, path: Path, good: int) -> tuple[str, int]:
    qdir = data_dir / QUARANTINE
    qdir.mkdir(parents=True, exist_ok=True)
    dest = qdir / f"{path.name}.{good}.torn"
    n = 0
    while dest.exists():
        n += 1
        dest = qdir / f"{path.name}.{good}.torn.{n}"
    with open(path, "rb") as src, open(dest, "xb") as out:
        src.seek(good)
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())
    size = dest.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(good)
        fh.flush()
        os.fsync(fh.fileno())
    return str(dest.relative_to(data_dir)), size


def _remove_captures(conn: sqlite3.Connection, ids: list[int], result: RepairResult) -> None:
    marks = ",".join("?" * len(ids))
    reports = [r[0] for r in conn.execute(
        f"SELECT id FROM reports WHERE capture_id IN ({marks})", ids)]
    if reports:
        rmarks = ",".join("?" * len(reports))
        for table in _REPORT_CHILDREN:
            conn.execute(f"DELETE FROM {table} WHERE report_id IN ({rmarks})", reports)
        conn.execute(f"DELETE FROM reports WHERE id IN ({rmarks})", reports)
        result.notes.append(f"reports of removed captures deleted: {reports}")
    conn.execute(f"DELETE FROM parse_changes WHERE capture_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM document_events WHERE old_capture_id IN ({marks}) "
                 f"OR new_capture_id IN ({marks})", ids + ids)
    conn.execute(f"DELETE FROM document_captures WHERE capture_id IN ({marks})", ids)
    conn.execute(f"UPDATE captures SET refers_to = NULL WHERE refers_to IN ({marks})", ids)
    docs = [r[0] for r in conn.execute(
        f"SELECT id FROM documents WHERE latest_capture_id IN ({marks})", ids)]
    conn.execute(f"DELETE FROM captures WHERE id IN ({marks})", ids)
    for doc in docs:  # its previous good capture: the latest one left of its URL
        conn.execute(
            "UPDATE documents SET latest_capture_id = (SELECT MAX(dc.capture_id) FROM "
            "document_captures dc WHERE dc.document_id = documents.id AND dc.capture_id IN "
            "(SELECT id FROM captures)) WHERE id = ?", (doc,))
    result.repointed_documents += docs
    result.removed_captures += ids


def _add_captures(conn: sqlite3.Connection, records: list, result: RepairResult) -> None:
    """Catalog the complete exchanges no capture row names (as reindex does)."""
    from archive.catalog import CAPTURE_COLUMNS, UNCHANGED
    from archive.reindex import ReindexResult
    from archive.warc_index import WarcIndex, capture_rows

    known = {r[0] for r in conn.execute("SELECT warc_record_id FROM captures WHERE "
                                        "warc_record_id IS NOT NULL")}
    taken = {r[0] for r in conn.execute("SELECT id FROM captures")}
    waiting = {r[0] for r in conn.execute("SELECT id FROM captures WHERE warc_file IS NULL")}
    index = WarcIndex()
    for rec in records:
        if rec.rec_type in ("response", "revisit") and rec.h("WARC-Record-ID") in known:
            continue
        before = len(index.unchanged)
        index.add(rec)
        # a ledger written whose rows were never given its place (killed in between)
        for _, entry in index.unchanged[before:]:
            if entry.get("id") in waiting:
                conn.execute("UPDATE captures SET warc_file = ?, warc_offset = ?, "
                             "warc_length = ?, warc_record_id = ? WHERE id = ?",
                             (rec.file, rec.offset, rec.length, rec.h("WARC-Record-ID"),
                              entry["id"]))
                waiting.discard(entry["id"])
                result.placed_captures.append(entry["id"])
        index.unchanged[before:] = [(r, e) for r, e in index.unchanged[before:]
                                    if e.get("id") not in taken]
    if not index.exchanges and not index.unchanged:
        return
    rows = capture_rows(index, ReindexResult())
    by_place = {(r.file, r.offset): r for r in index.exchanges}
    by_place.update({(r.file, r.offset): r for r, _ in index.unchanged})
    ledger_entry = {e["id"]: e for _, e in index.unchanged}
    for row in rows:
        rec = by_place[(row["warc_file"], row["warc_offset"])]
        meta = (index.capture_meta.get(rec.h("WARC-Record-ID")) if rec.rec_type != "metadata"
                else ledger_entry.get(row["id"]))
        if row["record_type"] == UNCHANGED:
            orig = conn.execute("SELECT id FROM captures WHERE warc_record_id = ?",
                                ((meta or {}).get("refers_to_record"),)).fetchone()
            if orig is not None:
                row["refers_to"] = orig[0]
            meta = {"capture_id": (meta or {}).get("id")}
        if rec.rec_type == "revisit" and row["refers_to"] is None:
            orig = conn.execute("SELECT id, payload_size FROM captures WHERE warc_record_id = ?",
                                (rec.h("WARC-Refers-To"),)).fetchone()
            if orig is not None:
                row["refers_to"], row["payload_size"] = orig[0], orig[1]
        if conn.execute("SELECT 1 FROM crawl_runs WHERE id = ?", (row["run_id"],)).fetchone() is None:
            result.notes.append(f"{rec.file}:{rec.offset}: run {row['run_id']} not in the "
                                "catalog: record left uncatalogued (run `nianbao reindex`)")
            continue
        values = {k: row[k] for k in CAPTURE_COLUMNS}
        values["headers"] = json.dumps([list(h) for h in row["headers"]], ensure_ascii=False)
        if meta and meta.get("capture_id") is not None and meta["capture_id"] not in taken:
            values = {"id": meta["capture_id"], **values}
        cur = conn.execute(f"INSERT INTO captures ({', '.join(values)}) VALUES "
                           f"({', '.join('?' * len(values))})", list(values.values()))
        taken.add(cur.lastrowid)
        result.added_captures.append(cur.lastrowid)


def repair_warcs(data_dir: Path | str) -> RepairResult:
    """Truncate torn WARC tails into quarantine and make the catalog match (module docstring)."""
    from archive.catalog import connect

    data_dir = Path(data_dir)
    warc_dir = data_dir / "warc"
    result = RepairResult()
    files = sorted(p for p in warc_dir.glob("*.warc*") if p.is_file()) if warc_dir.is_dir() else []
    db = data_dir / "archive.db"
    conn = connect(db) if db.exists() or files else None
    if conn is None:
        return result
    try:
        with conn:
            last = dict(conn.execute("SELECT warc_file, MAX(warc_offset) FROM captures "
                                     "GROUP BY warc_file").fetchall())
            names = {p.name for p in files}
            stale = [r[0] for r in conn.execute("SELECT id FROM captures WHERE warc_file "
                                                "NOT IN (SELECT value FROM json_each(?))",
                                                (json.dumps(sorted(names)),))]
            for path in files:
                result.files += 1
                size = path.stat().st_size
                start = last.get(path.name) or 0
                start = start if start < size else 0
                records, good = _scan(path, start)
                if start and not (records and records[0].offset == start):
                    records, good = _scan(path, 0)  # not a record start, or torn: from the top
                if good < size:
                    where, moved = _quarantine(data_dir, path, good)
                    result.truncated.append((path.name, good, moved, where))
                stale += [r[0] for r in conn.execute(
                    "SELECT id FROM captures WHERE warc_file = ? AND warc_offset + warc_length > ?",
                    (path.name, good))]
                _add_captures(conn, records, result)
            # unchanged captures whose ledger record was never written: lost with the crawl
            # (their payload is safe in the capture they refer to; the pages are checked
            # again next time)
            stale += [r[0] for r in conn.execute("SELECT id FROM captures WHERE warc_file IS NULL")]
            if stale:
                _remove_captures(conn, sorted(set(stale)), result)
    finally:
        conn.close()
    return result
