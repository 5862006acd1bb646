"""What the WARC files say of the catalog: every record read through (torn ones found),
sorted out by kind (`WarcIndex`), and the `captures` rows the exchanges and the JSON metadata
records give (`capture_rows`). Used by `nianbao reindex` (archive.reindex) to rebuild the
whole catalog and by crash repair (archive.repair) for the records a killed crawl left
uncatalogued.

`capture_rows` and `read_file` report what they leave out into `result.problems` (and count
captures found without their metadata record in `result.without_metadata`): `result` is the
caller's result object (archive.reindex.ReindexResult, or any with those two fields).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.catalog import (CAPTURE_COLUMNS, RECORD_CAPTURE, RECORD_DOCUMENT, RECORD_ERROR,
                             RECORD_RUN, UNCHANGED)
from archive.verify import gzip_member_complete
from archive.warc_writer import METADATA_TYPE, original_headers, warc_digest_to_sha256

_CHUNK = 1 << 16


@dataclass
class Record:
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


def read_through(record, records, name: str, base: int = 0) -> tuple[Record | None, str]:
    """Read the record `records` (a warcio ArchiveIterator over a file read from offset
    `base`) is at to its end: (the `Record` kept of it, ''), or (None, why) when its payload
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
    return Record(
        record.rec_type, name, offset, length, headers,
        [tuple(x) for x in http.headers] if http is not None else [],
        http.statusline if http is not None else None,
        http.protocol if http is not None else None,
        digest.hexdigest(), size, b"".join(chunks) if keep_content else None), ""


def read_file(path: Path, problems: list[str]) -> list[Record]:
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


def _json(rec: Record) -> dict | None:
    if not (rec.h("Content-Type") or "").startswith(METADATA_TYPE):
        return None
    try:
        value = json.loads(rec.content or b"")
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("nianbao") else None


def _warcinfo_run(rec: Record) -> str | None:
    for line in (rec.content or b"").decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("nianbao-run-id", "isPartOf") and value.strip():
            return value.strip()
    return None


def run_of_file(name: str) -> str | None:
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


class WarcIndex:
    """The records of every file, sorted out by what they say."""

    def __init__(self):
        self.exchanges: list[Record] = []             # response and revisit records
        self.requests: dict[str, Record] = {}         # by WARC-Record-ID
        self.conversions: set[str] = set()             # WARC-Refers-To of conversion records
        self.capture_meta: dict[str, dict] = {}        # by the response record's id
        self.unchanged: list[tuple[Record, dict]] = []  # ledger entries, with their record
        self.tables: dict[str, list[tuple[tuple, dict]]] = {
            RECORD_RUN: [], RECORD_DOCUMENT: [], RECORD_ERROR: []}
        self.file_runs: dict[str, str] = {}

    def add(self, rec: Record) -> None:
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


def _claim(row: dict, rec: Record, taken: set[int], result) -> None:
    """Keep the capture id the record gives, unless another record took it (then None:
    a new id is given later)."""
    if row["id"] in taken:
        result.problems.append(f"{rec.file}:{rec.offset}: capture id {row['id']} is "
                               "claimed twice: given a new one")
        row["id"] = None
    if row["id"] is not None:
        taken.add(row["id"])


def capture_rows(index: WarcIndex, result) -> list[dict]:
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
                    or run_of_file(rec.file)),
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
