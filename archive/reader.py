"""Read an archived capture back from its WARC record.

`read_capture(data_dir, capture)` seeks to the record at (warc_file, warc_offset), parses it
with warcio's `ArchiveIterator` and returns the HTTP status, headers and the decoded entity
body (chunking and Content-Encoding undone by warcio). A `revisit` record holds no payload:
the body comes from the capture it refers to (`refers_to`), as does an `unchanged`
capture's, whose status and headers are its row's (its run's ledger record holds the same).
A page a browser rendered has its DOM in the `conversion` record right after its response
(or revisit) record, referring to it: that DOM is the body by default (what the spider saw
and the parser reads), the server's own bytes with `server_bytes=True`.
"""
from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.catalog import UNCHANGED

DB_NAME = "archive.db"
WARC_DIR = "warc"


class ArchiveReadError(Exception):
    """A capture's record could not be read: missing file, bad offset, truncated record."""


@dataclass
class Capture:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    content_type: str | None
    url: str
    record_type: str = "response"
    capture_id: int | None = None
    warc_headers: list[tuple[str, str]] = field(default_factory=list)
    from_conversion: bool = False  # body is the rendered DOM, not the server's bytes


@dataclass
class RawRecord:
    """One WARC record as read from disk."""
    rec_type: str
    warc_headers: list[tuple[str, str]]
    status: int | None
    http_headers: list[tuple[str, str]]
    raw_payload: bytes      # the payload as stored (still content-encoded)
    body: bytes | None      # the payload decoded, None if decoding failed
    complete: bool          # all bytes the record's Content-Length promises were there


def _load_capture_row(data_dir: Path, capture_id: int) -> dict:
    db = data_dir / DB_NAME
    if not db.exists():
        raise ArchiveReadError(f"no catalog at {db}")
    conn = sqlite3.connect(str(db))
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM captures WHERE id = ?", (capture_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise ArchiveReadError(f"capture {capture_id} is not in the catalog")
    return dict(row)


def read_record(path: Path, offset: int, decode: bool = True) -> RawRecord:
    """Read the single record starting at `offset` in the WARC file `path`."""
    if not path.is_file():
        raise ArchiveReadError(f"WARC file missing: {path}")
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)))
            raw = record.raw_stream.read()
            expected = record.payload_length if record.payload_length >= 0 else record.length
            body = None
            if decode:
                body = _decode(record, raw)
    except StopIteration:
        raise ArchiveReadError(f"no WARC record at {path.name}:{offset}") from None
    except Exception as e:  # warcio raises many kinds on a damaged file
        raise ArchiveReadError(f"unreadable WARC record at {path.name}:{offset}: "
                               f"{type(e).__name__}: {e}") from e
    http = record.http_headers
    status = None
    if http is not None and http.statusline and record.rec_type != "request":
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
    return RawRecord(
        rec_type=record.rec_type,
        warc_headers=list(record.rec_headers.headers),
        status=status,
        http_headers=list(http.headers) if http is not None else [],
        raw_payload=raw,
        body=body,
        complete=len(raw) >= (expected or 0),
    )


def _decode(record, raw: bytes) -> bytes | None:
    """Undo chunking and Content-Encoding the way warcio's content_stream does."""
    record.raw_stream = io.BytesIO(raw)
    try:
        return record.content_stream().read()
    except Exception:  # a body that claims gzip but is not: keep the raw bytes
        return None


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    return next((v for n, v in headers if n.lower() == name), None)


def _rendered_dom(path: Path, row: dict) -> bytes | None:
    """The DOM of a rendered capture: the conversion record just after its record."""
    try:
        rec = read_record(path, int(row["warc_offset"]) + int(row["warc_length"]))
    except ArchiveReadError:
        return None
    if (rec.rec_type != "conversion" or not rec.complete or not row.get("warc_record_id")
            or _header(rec.warc_headers, "WARC-Refers-To") != row["warc_record_id"]):
        return None
    return rec.body if rec.body is not None else rec.raw_payload


def read_capture(data_dir: Path | str, capture: dict | int,
                 server_bytes: bool = False) -> Capture:
    """The capture's status, headers and decoded body, read from its WARC record.

    :param data_dir: the archive directory (holding `warc/` and `archive.db`)
    :param capture: a captures row (dict) or a capture id (looked up in `archive.db`)
    :param server_bytes: for a page the browser rendered, the server's bytes rather than
        the rendered DOM (there is no DOM when the browser gave no server bytes)
    :raises ArchiveReadError: missing file, no record at the offset, truncated record
    """
    data_dir = Path(data_dir)
    row = capture if isinstance(capture, dict) else _load_capture_row(data_dir, int(capture))
    if row.get("record_type") == UNCHANGED:
        return _read_unchanged(data_dir, row, server_bytes)
    path = data_dir / WARC_DIR / row["warc_file"]
    rec = read_record(path, int(row["warc_offset"]))
    # A wrong offset can land warcio on a later record (it skips what it cannot read): make
    # sure the record is this capture's own.
    found_id = next((v for n, v in rec.warc_headers if n.lower() == "warc-record-id"), None)
    found_uri = next((v for n, v in rec.warc_headers if n.lower() == "warc-target-uri"), None)
    if (row.get("warc_record_id") and found_id != row["warc_record_id"]) or (
            not row.get("warc_record_id") and found_uri not in (row.get("url"), row.get("final_url"))):
        raise ArchiveReadError(f"the record at {row['warc_file']}:{row['warc_offset']} is not "
                               f"capture {row.get('id')}'s ({found_id or found_uri})")
    if rec.rec_type not in ("response", "revisit"):
        raise ArchiveReadError(f"record at {row['warc_file']}:{row['warc_offset']} is a "
                               f"{rec.rec_type} record, not a response")
    if not rec.complete:
        raise ArchiveReadError(f"truncated WARC record at {row['warc_file']}:"
                               f"{row['warc_offset']} ({len(rec.raw_payload)} payload bytes)")
    body = rec.body if rec.body is not None else rec.raw_payload
    dom = _rendered_dom(path, row) if row.get("rendered") and not server_bytes else None
    if dom is not None:
        body = dom
    elif rec.rec_type == "revisit":
        if row.get("refers_to") is None:
            raise ArchiveReadError(f"revisit capture {row.get('id')} has no refers_to")
        # the payload the digest names: the original's server bytes, never its DOM
        original = read_capture(data_dir, _load_capture_row(data_dir, int(row["refers_to"])),
                                server_bytes=True)
        body = original.body
    content_type = row.get("content_type")
    if content_type is None:
        content_type = next((v for n, v in rec.http_headers if n.lower() == "content-type"),
                            None)
    return Capture(
        status=rec.status if rec.status is not None else int(row["status"]),
        headers=rec.http_headers,
        body=body,
        content_type=content_type,
        url=row.get("final_url") or row["url"],
        record_type=rec.rec_type,
        capture_id=row.get("id"),
        warc_headers=rec.warc_headers,
        from_conversion=dom is not None,
    )


def _read_unchanged(data_dir: Path, row: dict, server_bytes: bool) -> Capture:
    """An unchanged capture: its status and headers as its row (and its run's ledger
    record) has them, the payload its original's."""
    if row.get("refers_to") is None:
        raise ArchiveReadError(f"unchanged capture {row.get('id')} has no refers_to")
    original = read_capture(data_dir, _load_capture_row(data_dir, int(row["refers_to"])),
                            server_bytes=server_bytes)
    headers = row["headers"]
    if isinstance(headers, str):
        headers = json.loads(headers)
    return Capture(
        status=int(row["status"]), headers=[tuple(h) for h in headers], body=original.body,
        content_type=row.get("content_type") or original.content_type,
        url=row.get("final_url") or row["url"], record_type=UNCHANGED,
        capture_id=row.get("id"), warc_headers=[], from_conversion=original.from_conversion)
