"""`nianbao verify`: re-read every WARC record and check it against the catalog.

Every file under `data/warc/` is read to its end with warcio (`check_digests=True`); each
record's payload sha256 is recomputed. Then every catalog capture must be found at its file
and offset, with the same record type and payload sha256 (an `unchanged` capture: in the
unchanged ledger record there, with its original's sha256); response and revisit records and
ledger entries the catalog does not know are reported, as are unreadable or truncated files (a half-written
last record after a crash). Verify reports problems; it never raises on a damaged archive.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.catalog import UNCHANGED
from archive.warc_writer import UNCHANGED_URI, warc_digest_to_sha256

MAX_LISTED = 50
_CHUNK = 1 << 16


@dataclass
class _Rec:
    rec_type: str
    length: int
    sha256: str | None  # payload sha256 (revisit: the one its digest header names)
    ledger: dict | None = None  # an unchanged ledger: {capture id: payload sha256}


@dataclass
class VerifyResult:
    files: int = 0
    records: int = 0
    captures: int = 0
    captures_ok: int = 0
    uncatalogued: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = (f"{self.files} WARC files, {self.records} records, "
                f"{self.captures_ok}/{self.captures} catalog captures verified")
        if self.ok:
            return head + ": OK"
        lines = [head + f": {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more")
        return "\n".join(lines)


def gzip_member_complete(path: Path, offset: int, length: int) -> bool:
    """Whether the gzip member at [offset, offset+length) ends with its trailer."""
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with open(path, "rb") as fh:
        fh.seek(offset)
        remaining = length
        while remaining > 0 and not d.eof:
            buf = fh.read(min(_CHUNK, remaining))
            if not buf:
                break
            remaining -= len(buf)
            try:
                d.decompress(buf)
            except zlib.error:
                return False
    return d.eof


def scan_file(path: Path, problems: list[str]) -> dict[int, _Rec]:
    """Read every record of one WARC file; return {offset: record}, appending problems."""
    name = path.name
    recs: dict[int, _Rec] = {}
    end = 0
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh, check_digests=True)
            for record in it:
                digest = hashlib.sha256()
                size = 0
                is_ledger = record.rec_type == "metadata" and (
                    record.rec_headers.get_header("WARC-Target-URI") or "").startswith(UNCHANGED_URI)
                chunks = []
                while buf := record.raw_stream.read(_CHUNK):
                    digest.update(buf)
                    size += len(buf)
                    if is_ledger:
                        chunks.append(buf)
                offset, length = it.get_record_offset(), it.get_record_length()
                end = offset + length
                expected = record.payload_length if record.payload_length >= 0 else record.length
                if expected is not None and size < expected:
                    problems.append(f"{name}:{offset}: truncated {record.rec_type} record "
                                    f"({size} of {expected} payload bytes)")
                if record.digest_checker.passed is False:
                    problems.append(f"{name}:{offset}: {record.rec_type} record fails its "
                                    f"WARC digest: {'; '.join(record.digest_checker.problems)}")
                sha = digest.hexdigest()
                if record.rec_type == "revisit":
                    sha = warc_digest_to_sha256(
                        record.rec_headers.get_header("WARC-Payload-Digest"))
                recs[offset] = _Rec(record.rec_type, length, sha,
                                    _ledger(b"".join(chunks)) if is_ledger else None)
    except Exception as e:  # a damaged file must not stop verify
        problems.append(f"{name}: unreadable after offset {end} "
                        f"(truncated or corrupt record?): {type(e).__name__}: {e}")
        return recs
    size = path.stat().st_size
    if end < size:
        problems.append(f"{name}: {size - end} bytes after the last complete record at "
                        f"offset {end} (a half-written record?)")
    elif recs:
        last = max(recs)
        if not gzip_member_complete(path, last, recs[last].length):
            problems.append(f"{name}:{last}: last record's gzip member is truncated "
                            f"(a half-written record?)")
    return recs


def _ledger(block: bytes) -> dict:
    """{capture id: payload sha256} of an unchanged ledger record ({} if unreadable)."""
    try:
        entries = json.loads(block).get("captures") or []
        return {e["id"]: e.get("payload_sha256") for e in entries}
    except (ValueError, AttributeError, KeyError, TypeError):
        return {}


def _catalog_rows(db: Path) -> list[dict]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(
            "SELECT id, warc_file, warc_offset, warc_length, record_type, payload_sha256, "
            "refers_to FROM captures ORDER BY id")]
    finally:
        conn.close()


def verify_archive(data_dir: Path | str) -> VerifyResult:
    """Check every WARC record against the catalog (`data_dir/archive.db`)."""
    data_dir = Path(data_dir)
    warc_dir = data_dir / "warc"
    result = VerifyResult()
    files = sorted(p for p in warc_dir.glob("*.warc*") if p.is_file()) if warc_dir.is_dir() else []
    scanned: dict[str, dict[int, _Rec]] = {}
    for path in files:
        recs = scan_file(path, result.problems)
        scanned[path.name] = recs
        result.files += 1
        result.records += len(recs)

    db = data_dir / "archive.db"
    if not db.exists():
        if files:
            result.problems.append(f"no catalog at {db} for {len(files)} WARC file(s)")
        return result
    rows = _catalog_rows(db)
    sha_of = {row["id"]: row["payload_sha256"] for row in rows}
    known: set[tuple[str, int]] = set()
    in_ledgers: set[int] = set()
    for row in rows:
        result.captures += 1
        where = f"capture {row['id']} ({row['warc_file']}:{row['warc_offset']})"
        if row["warc_file"] is None:
            result.problems.append(
                f"capture {row['id']}: unchanged, waiting for its run's ledger record (a "
                "crawl is running, or one was killed: the next crawl's repair settles it)")
            continue
        known.add((row["warc_file"], row["warc_offset"]))
        recs = scanned.get(row["warc_file"])
        if recs is None:
            result.problems.append(f"{where}: WARC file missing")
            continue
        rec = recs.get(row["warc_offset"])
        if rec is None:
            result.problems.append(f"{where}: no readable record at that offset")
        elif row["record_type"] == UNCHANGED:
            if rec.ledger is None or row["id"] not in rec.ledger:
                result.problems.append(f"{where}: not in the unchanged ledger record there")
            elif rec.ledger[row["id"]] != row["payload_sha256"] or (
                    sha_of.get(row["refers_to"]) != row["payload_sha256"]):
                result.problems.append(f"{where}: payload sha256 differs from its ledger "
                                       f"entry's or from capture {row['refers_to']}'s")
            else:
                in_ledgers.add(row["id"])
                result.captures_ok += 1
        elif rec.rec_type != row["record_type"]:
            result.problems.append(f"{where}: record is {rec.rec_type}, catalog says "
                                   f"{row['record_type']}")
        elif rec.sha256 != row["payload_sha256"]:
            result.problems.append(f"{where}: payload sha256 {rec.sha256} does not match "
                                   f"the catalog's {row['payload_sha256']}")
        elif rec.length != row["warc_length"]:
            result.problems.append(f"{where}: record length {rec.length}, catalog says "
                                   f"{row['warc_length']}")
        else:
            result.captures_ok += 1

    for name, recs in scanned.items():
        for offset, rec in sorted(recs.items()):
            if rec.rec_type in ("response", "revisit") and (name, offset) not in known:
                result.uncatalogued += 1
                result.problems.append(f"{name}:{offset}: {rec.rec_type} record not in the "
                                       f"catalog")
            for capture_id in sorted(set(rec.ledger or ()) - in_ledgers):
                result.uncatalogued += 1
                result.problems.append(f"{name}:{offset}: unchanged capture {capture_id} of "
                                       "the ledger there is not in the catalog")
    return result
