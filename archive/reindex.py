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

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.catalog import (CAPTURE_COLUMNS, RECORD_CAPTURE, RECORD_DOCUMENT, RECORD_ERROR,
                             RECORD_RUN, UNCHANGED, connect)
from archive.events import record_events
from archive.verify import gzip_member_complete
from archive.warc_writer import METADATA_TYPE, original_headers, warc_digest_to_sha256

DB_NAME = "archive.db"
TMP_NAME = "archive.db.reindex-tmp"
MAX_LISTED = 50
_CHUNK = 1 << 16
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


@dataclass
class _Record:
    """What reindex keeps of one WARC record."""
    rec_type: str
    file: str
    offset: int
    length: int
    headers: dict[str, str]          # WARC headers, first value of each
    http: list[tuple[str, str]]      # HTTP headers as stored
    statusline: str | None
    protocol: str | None             # for a request: the method
    sha256: str | None = None        # hex sha256 of the payload (response)
    size: int = 0                    # payload bytes
    content: bytes | None = None     # metadata and warcinfo records: the whole block

    def h(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def order(self) -> tuple:
        return (self.h("WARC-Date") or "", self.file, self.offset)


def read_through(record, records, name: str, base: int = 0) -> tuple[_Record | None, str]:
    """Read the record `records` (a warcio ArchiveIterator over a file read from offset
    `base`) is at to its end: (the `_Record` kept of it, ''), or (None, why) when its payload
    is shorter than its headers say (a torn record). The record's offset and length are
    only known once it has been read through."""
    keep_content = record.rec_type in ("metadata", "warcinfo")
    digest, size, chunks = hashlib.sha256(), 0, []
    while buf := record.raw_stream.read(_CHUNK):
        digest.update(buf)
        size += len(buf)
        if keep_content:
            chunks.append(buf)
    offset, length = base + records.get_record_offset(), records.get_record_length()
    expected = record.payload_length if record.payload_length >= 0 else record.length
    if expected is not None and size < expected:
        return None, f"{offset}: torn {record.rec_type} record ({size} of {expected} bytes)"
    http = record.http_headers
    headers: dict[str, str] = {}
    for n, v in record.rec_headers.headers:
        headers.setdefault(n.lower(), v)
    return _Record(
        record.rec_type, name, offset, length, headers,
        [tuple(x) for x in http.headers] if http is not None else [],
        http.statusline if http is not None else None,
        http.protocol if http is not None else None,
        digest.hexdigest(), size, b"".join(chunks) if keep_content else None), ""


def _read_file(path: Path, problems: list[str]) -> list[_Record]:
    """Every complete record of one WARC file, in order; torn ones reported and left out."""
    name, out, end = path.name, [], 0
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                kept, why = read_through(record, it, name)
                end = it.get_record_offset() + it.get_record_length()
                if kept is None:
                    problems.append(f"{name}:{why}: left out")
                    continue
                out.append(kept)
    except Exception as e:  # a damaged file must not stop the rebuild
        problems.append(f"{name}: unreadable after offset {end} (a torn record?): "
                        f"{type(e).__name__}: {e}; the records before it are indexed")
        return out
    size = path.stat().st_size
    if end < size:
        problems.append(f"{name}: {size - end} bytes after the last complete record at offset "
                        f"{end} (a half-written record?): left out")
    elif out and not gzip_member_complete(path, out[-1].offset, out[-1].length):
        last = out.pop()
        problems.append(f"{name}:{last.offset}: last record's gzip member is torn "
                        f"(a half-written {last.rec_type} record): left out")
    return out


def _json(rec: _Record) -> dict | None:
    if not (rec.h("Content-Type") or "").startswith(METADATA_TYPE):
        return None
    try:
        value = json.loads(rec.content or b"")
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("nianbao") else None


def _warcinfo_run(rec: _Record) -> str | None:
    for line in (rec.content or b"").decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("nianbao-run-id", "isPartOf") and value.strip():
            return value.strip()
    return None


def _run_of_file(name: str) -> str | None:
    # nianbao-<run id>-<NNNNN>.warc.gz
    stem = name.split(".warc", 1)[0]
    if stem.startswith("nianbao-") and stem.count("-") >= 3:
        return stem[len("nianbao-"):].rsplit("-", 1)[0]
    return None


def _status(statusline: str | None) -> int:
    try:
        return int((statusline or "").split(" ", 1)[0])
    except ValueError:
        return 0


class _Index:
    """The records of every file, sorted out by what they say."""

    def __init__(self):
        self.exchanges: list[_Record] = []             # response and revisit records
        self.requests: dict[str, _Record] = {}         # by WARC-Record-ID
        self.conversions: set[str] = set()             # WARC-Refers-To of conversion records
        self.capture_meta: dict[str, dict] = {}        # by the response record's id
        self.unchanged: list[tuple[_Record, dict]] = []  # ledger entries, with their record
        self.tables: dict[str, list[tuple[tuple, dict]]] = {
            RECORD_RUN: [], RECORD_DOCUMENT: [], RECORD_ERROR: []}
        self.file_runs: dict[str, str] = {}

    def add(self, rec: _Record) -> None:
        rid = rec.h("WARC-Record-ID")
        if rec.rec_type in ("response", "revisit"):
            self.exchanges.append(rec)
        elif rec.rec_type == "request" and rid:
            self.requests[rid] = rec
        elif rec.rec_type == "conversion" and rec.h("WARC-Refers-To"):
            self.conversions.add(rec.h("WARC-Refers-To"))
        elif rec.rec_type == "warcinfo":
            run = _warcinfo_run(rec)
            if run:
                self.file_runs.setdefault(rec.file, run)
        elif rec.rec_type == "metadata":
            fields = _json(rec)
            if fields is None:
                return
            kind = fields["nianbao"]
            if kind == RECORD_CAPTURE and rec.h("WARC-Refers-To"):
                self.capture_meta[rec.h("WARC-Refers-To")] = fields
            elif kind == UNCHANGED:
                self.unchanged += [(rec, e) for e in fields.get("captures") or []
                                   if isinstance(e, dict)]
                self.tables[RECORD_DOCUMENT] += [
                    (rec.order + (i,), d) for i, d in enumerate(fields.get("documents") or [])
                    if isinstance(d, dict) and d.get("nianbao") == RECORD_DOCUMENT]
            elif kind in self.tables:
                self.tables[kind].append((rec.order, fields))


def _latest(records: list[tuple[tuple, dict]], key, value) -> dict:
    """{key(fields): value(fields)} keeping, for each key, the latest record's."""
    out: dict = {}
    for _, fields in sorted(records, key=lambda r: r[0]):
        k, v = key(fields), value(fields)
        if k is not None and v is not None:
            out[k] = v
    return out


def _claim(row: dict, rec: _Record, taken: set[int], result: ReindexResult) -> None:
    """Keep the capture id the record gives, unless another record took it (then None:
    a new id is given later)."""
    if row["id"] in taken:
        result.problems.append(f"{rec.file}:{rec.offset}: capture id {row['id']} is "
                               "claimed twice: given a new one")
        row["id"] = None
    if row["id"] is not None:
        taken.add(row["id"])


def _captures(index: _Index, result: ReindexResult) -> list[dict]:
    rows: list[dict] = []
    by_record: dict[str, dict] = {}
    by_target: dict[tuple[str, str], dict] = {}
    taken: set[int] = set()
    for rec in index.exchanges:
        rid = rec.h("WARC-Record-ID")
        meta = index.capture_meta.get(rid, {})
        request = index.requests.get(rec.h("WARC-Concurrent-To") or "")
        headers = meta.get("headers")
        headers = ([tuple(h) for h in headers] if headers is not None
                   else original_headers(rec.http))
        sha = rec.sha256
        if rec.rec_type == "revisit":
            sha = warc_digest_to_sha256(rec.h("WARC-Payload-Digest"))
        elif (warc_digest_to_sha256(rec.h("WARC-Payload-Digest")) or sha) != sha:
            result.problems.append(f"{rec.file}:{rec.offset}: payload does not match its "
                                   "WARC-Payload-Digest")
        referrer = (meta["referrer"] if "referrer" in meta else
                    next((v for n, v in request.http if n.lower() == "referer"), None)
                    if request else None)
        row = dict(
            id=meta.get("capture_id"),
            run_id=(meta.get("run_id") or index.file_runs.get(rec.file)
                    or _run_of_file(rec.file)),
            portal=meta.get("portal"),
            url=(request.h("WARC-Target-URI") if request else None) or meta.get("url")
            or rec.h("WARC-Target-URI"),
            final_url=rec.h("WARC-Target-URI"),
            method=(request.protocol if request and request.protocol else "GET"),
            status=_status(rec.statusline), headers=headers, fetched_at=rec.h("WARC-Date"),
            payload_sha256=sha, payload_size=rec.size if rec.rec_type == "response" else None,
            content_type=next((v for n, v in headers if n.lower() == "content-type"), None),
            referrer=referrer,
            rendered=int(bool(meta.get("rendered", rid in index.conversions))),
            record_type=rec.rec_type, refers_to=None, warc_file=rec.file,
            warc_offset=rec.offset, warc_length=rec.length, warc_record_id=rid,
            challenge=meta.get("challenge"))
        if not meta:
            result.without_metadata += 1
        _claim(row, rec, taken, result)
        row["_meta"], row["_rec"] = meta, rec
        rows.append(row)
        if rid:
            by_record[rid] = row
        if rec.rec_type == "response":
            by_target.setdefault((row["final_url"], row["fetched_at"]), row)

    for rec, entry in index.unchanged:
        row = {c: entry.get(c) for c in CAPTURE_COLUMNS}
        row.update(id=entry.get("id"), record_type=UNCHANGED, warc_file=rec.file,
                   warc_offset=rec.offset, warc_length=rec.length,
                   warc_record_id=rec.h("WARC-Record-ID"),
                   headers=[tuple(h) for h in entry.get("headers") or []],
                   rendered=int(bool(entry.get("rendered"))))
        _claim(row, rec, taken, result)
        row["_meta"], row["_rec"] = entry, rec
        rows.append(row)

    next_id = max(taken, default=0)
    for row in rows:
        if row["id"] is None:
            next_id += 1
            row["id"] = next_id
    for row in rows:
        meta, rec = row.pop("_meta"), row.pop("_rec")
        if row["record_type"] == UNCHANGED:
            original = by_record.get(meta.get("refers_to_record") or "")
            if original is not None:
                row["refers_to"] = original["id"]
            elif row["refers_to"] is None:
                result.problems.append(f"{rec.file}:{rec.offset}: unchanged capture of "
                                       f"{row['url']} refers to a record not in the archive")
            continue
        if rec.rec_type != "revisit":
            continue
        original = by_record.get(rec.h("WARC-Refers-To") or "") or by_target.get(
            (rec.h("WARC-Refers-To-Target-URI"), rec.h("WARC-Refers-To-Date")))
        row["refers_to"] = original["id"] if original else meta.get("refers_to")
        row["payload_size"] = (original["payload_size"] if original
                               else meta.get("payload_size"))
        if original is None:
            result.problems.append(f"{rec.file}:{rec.offset}: revisit of a record not in "
                                   f"the archive ({rec.h('WARC-Refers-To-Target-URI')})")
        if row["payload_size"] is None:
            row["payload_size"] = 0
    return sorted(rows, key=lambda r: r["id"])


def _runs(index: _Index, captures: list[dict], result: ReindexResult):
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
    index = _Index()
    files = sorted(p for p in warc_dir.glob("*.warc*") if p.is_file()) if warc_dir.is_dir() else []
    if not files and (data_dir / DB_NAME).exists():
        # most likely the wrong directory: an empty catalog must not replace a real one
        result.problems.append(f"no WARC files under {warc_dir}: the catalog is left as it is")
        return result
    for path in files:
        records = _read_file(path, result.problems)
        result.files += 1
        result.records += len(records)
        for rec in records:
            index.add(rec)

    captures = _captures(index, result)
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
