"""WARC writing with warcio: one `WarcWriterFile` per crawl run.

Files are `data/warc/nianbao-<run_id>-<NNNNN>.warc.gz` (gzip per record, WARC/1.1), rotated
at a size limit, each opening with a `warcinfo` record that every later record names
(WARC-Warcinfo-ID). Each HTTP exchange becomes a `request` record plus either a `response`
record or, when the payload is already archived, a `revisit` record (profile
identical-payload-digest, WARC-Refers-To the record holding it), with WARC-IP-Address when
known; a page a browser rendered gets its DOM as a `conversion` record right after, referring
to the response. `write_metadata` adds a JSON `metadata` record (what the catalog knows that
the HTTP exchange does not say: see archive.reindex). Digests are sha256. Every record is
flushed as soon as it is written, so a crash loses at most the record being written.

A re-crawl that finds the same payload at the same URL writes no records of its own: the
capture goes in the run's unchanged ledger (`note_unchanged`), which `flush_unchanged` writes
as one JSON `metadata` record (WARC-Target-URI `urn:nianbao:unchanged:<run_id>`) for up to
`LEDGER_SIZE` captures. The `document` records of report documents found unchanged go in the
same ledger (`note_unchanged_document`, its "documents" list). A revisit record pair costs
about 1.3 kB gzipped per page and a document record about 0.8 kB; a ledger entry, compressed
beside its neighbours, about a tenth of that. A crash loses the entries
not yet flushed: those pages are checked again next time, and their payload is safe in the
record they refer to.

This module knows nothing of Scrapy: callers hand it plain strings, bytes and header lists.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import time
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from urllib.parse import quote, urlsplit

from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.utils import Digester
from warcio.warcwriter import GzippingWrapper, WARCWriter

DEFAULT_MAX_SIZE = 1_000_000_000
_URL_SAFE = "/%?&=+:;,@!$'()*[]|^`{}"

# Headers that describe the bytes on the wire rather than the bytes we store.
_TRANSFER_HEADERS = {"transfer-encoding"}
RENAMED_PREFIX = "X-Archive-Orig-"
_RENAMEABLE = ("transfer-encoding", "content-encoding", "content-length")
METADATA_TYPE = "application/json"
UNCHANGED_URI = "urn:nianbao:unchanged:"
LEDGER_SIZE = 200      # entries per ledger record, at most
LEDGER_MAX_AGE = 60.0  # seconds an entry may wait, when more unchanged captures follow


def software_version() -> str:
    try:
        return metadata.version("nianbao")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def sha256_to_warc_digest(hex_digest: str) -> str:
    """`sha256:<base32>` as written in WARC-Payload-Digest, from a hex sha256."""
    return "sha256:" + base64.b32encode(bytes.fromhex(hex_digest)).decode("ascii")


def warc_digest_to_sha256(digest: str | None) -> str | None:
    """Hex sha256 from a WARC `sha256:<base32>` digest (None for other algorithms)."""
    if not digest or not digest.lower().startswith("sha256:"):
        return None
    value = digest.split(":", 1)[1]
    try:
        return base64.b32decode(value.upper()).hex()
    except ValueError:
        return None


def warc_date(dt: datetime | None = None) -> str:
    """WARC/1.1 date with microseconds, e.g. 2026-11-23T08:44:00.123456Z."""
    dt = (dt or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return str(value)


def normalize_headers(headers) -> list[tuple[str, str]]:
    """[(name, value)] as str, every value kept in order.

    Accepts a list of pairs, a dict of name -> value or list of values (Scrapy's `Headers`
    yields bytes names and lists of bytes values).
    """
    items = headers.items() if hasattr(headers, "items") else headers
    out: list[tuple[str, str]] = []
    for name, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            out.append((_text(name), _text(v)))
    return out


def _archive_headers(headers: list[tuple[str, str]], body_len: int,
                     decoded_body: bool) -> list[tuple[str, str]]:
    """Rename headers that would misdescribe the stored body (kept as X-Archive-Orig-*)."""
    out = []
    for name, value in headers:
        low = name.lower()
        rename = (low in _TRANSFER_HEADERS
                  or (decoded_body and low == "content-encoding")
                  or (low == "content-length" and value.strip() != str(body_len)))
        out.append((RENAMED_PREFIX + name if rename else name, value))
    return out


def original_headers(stored: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response headers as received, from those stored in a record (renames undone)."""
    out = []
    for name, value in stored:
        if (name[:len(RENAMED_PREFIX)].lower() == RENAMED_PREFIX.lower()
                and name[len(RENAMED_PREFIX):].lower() in _RENAMEABLE):
            name = name[len(RENAMED_PREFIX):]
        out.append((name, value))
    return out


def _stored_headers(http: StatusAndHeaders) -> list[tuple[str, str]]:
    """The header pairs as a reader will parse them from the record (warcio %-encodes
    non-ASCII values and strips whitespace)."""
    buff = http.headers_buff or http.to_ascii_bytes()
    parsed = StatusAndHeadersParser([], verify=False).parse(io.BytesIO(buff))
    return [tuple(h) for h in parsed.headers]


@dataclass(frozen=True)
class RecordInfo:
    """Where one record went: file name relative to data/warc/, offset and length in it."""
    warc_file: str
    offset: int
    length: int
    record_id: str
    record_type: str
    warc_date: str
    payload_sha256: str | None = None


@dataclass(frozen=True)
class Rendered:
    """What a browser made of a response: its DOM, serialised, and where the page ended."""
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    url: str | None = None


@dataclass(frozen=True)
class Exchange:
    request: RecordInfo
    response: RecordInfo  # record_type 'response' or 'revisit'
    payload_sha256: str
    payload_size: int
    stored_headers: tuple = ()                 # response headers as a reader parses them
    conversion: RecordInfo | None = None       # the rendered DOM, if any


SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.0/revisit/server-not-modified"


# zlib's default level. warcio compresses at 9, which on portal HTML takes 1.7 times as long
# for files 0.2 % smaller (measured on the 平潭 page: 4,851 against 4,842 bytes per 20 kB).
GZIP_LEVEL = 6


class _Gzip(GzippingWrapper):
    """One gzip member per record, as warcio writes it, at GZIP_LEVEL."""

    def __init__(self, out):
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self.out = out


class _Sha256WARCWriter(WARCWriter):
    """warcio's writer with sha256 block and payload digests, compressing at GZIP_LEVEL."""

    def __init__(self, filebuf, **kwargs):
        super().__init__(filebuf, gzip=False, **kwargs)  # _Gzip does it instead

    @staticmethod
    def _create_digester():
        return Digester("sha256")

    def write_record(self, record, params=None):
        self._write_warc_record(_Gzip(self.out), record)


class WarcWriterFile:
    """Writes one crawl run's records into rotating gzip WARC files under `warc_dir`.

    :param warc_dir: the `data/warc` directory (created if missing)
    :param run_id: the crawl run id, part of every file name
    :param max_size: start a new file once the current one reaches this many bytes
    :param fsync: also fsync after every record (survives power loss, not just a crash)
    """

    def __init__(self, warc_dir: Path | str, run_id: str, max_size: int = DEFAULT_MAX_SIZE,
                 fsync: bool = False, hostname: str | None = None):
        self.warc_dir = Path(warc_dir)
        self.run_id = run_id
        self.max_size = max_size
        self.fsync = fsync
        self.hostname = hostname or socket.gethostname()
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        self._fh: io.BufferedWriter | None = None
        self._writer: _Sha256WARCWriter | None = None
        self._name: str | None = None
        self._warcinfo_id: str | None = None
        self._seq = 0
        self.files: list[str] = []
        self._unchanged: list[dict] = []
        self._unchanged_documents: list[dict] = []
        self._unchanged_since = 0.0

    # -- files -------------------------------------------------------------------------
    def _open_next(self) -> None:
        self._close_file()
        while True:
            name = f"nianbao-{self.run_id}-{self._seq:05d}.warc.gz"
            self._seq += 1
            try:
                self._fh = open(self.warc_dir / name, "xb")
                break
            except FileExistsError:  # a resumed run: never append to an existing file
                continue
        self._name = name
        self.files.append(name)
        self._writer = _Sha256WARCWriter(self._fh, warc_version="1.1")
        info = {
            "software": f"nianbao/{software_version()} (warcio)",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": self.hostname,
            "isPartOf": self.run_id,
            "nianbao-run-id": self.run_id,
        }
        record = self._writer.create_warcinfo_record(name, info)
        self._warcinfo_id = None
        self._write(record)
        self._warcinfo_id = record.rec_headers.get_header("WARC-Record-ID")

    def _ensure_file(self) -> None:
        if self._fh is None or self._fh.tell() >= self.max_size:
            self._open_next()

    def _close_file(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = self._writer = self._name = self._warcinfo_id = None

    def close(self) -> None:
        """Write what waits in the unchanged ledger, then close the file (catalog the
        ledger first with archive.catalog.flush_unchanged, or `repair` does it later)."""
        if self.unchanged_pending:
            self.flush_unchanged()
        self._close_file()

    def __enter__(self) -> "WarcWriterFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- records -----------------------------------------------------------------------
    def _write(self, record) -> RecordInfo:
        assert self._fh is not None and self._writer is not None and self._name
        if self._warcinfo_id:
            record.rec_headers.add_header("WARC-Warcinfo-ID", self._warcinfo_id)
        start = self._fh.tell()
        self._writer.write_record(record)  # flushes the gzip member and the file
        if self.fsync:
            os.fsync(self._fh.fileno())
        end = self._fh.tell()
        h = record.rec_headers
        return RecordInfo(self._name, start, end - start, h.get_header("WARC-Record-ID"),
                          h.get_header("WARC-Type"), h.get_header("WARC-Date"))

    def write_exchange(self, *, url: str, method: str, request_headers, status: int,
                       response_headers, body: bytes, response_url: str | None = None,
                       reason: str | None = None, protocol: str | None = None,
                       fetched_at: datetime | None = None, request_body: bytes = b"",
                       revisit_of: tuple[str, str] | None = None,
                       revisit_of_id: str | None = None,
                       decoded_body: bool = False,
                       not_modified_sha256: str | None = None,
                       ip_address: str | None = None,
                       rendered: Rendered | None = None,
                       extra_warc_headers: dict | None = None,
                       payload_sha256: str | None = None) -> Exchange:
        """Write a request record and a response (or revisit) record for one exchange.

        :param url: the URL requested (the request record's target; query string kept)
        :param response_url: the URL the response came from, default `url`
        :param request_headers: every request header, as pairs or a multi-value mapping
        :param response_headers: every response header, likewise; order and repeats kept
        :param body: the payload as received (Content-Encoding intact, chunking undone)
        :param revisit_of: (target URI, WARC-Date) of the record already holding this
            payload: a revisit record is written instead of the bytes
        :param revisit_of_id: that record's WARC-Record-ID (the revisit's WARC-Refers-To)
        :param decoded_body: the body is already content-decoded (a browser fetched it):
            Content-Encoding is kept as X-Archive-Orig-Content-Encoding
        :param not_modified_sha256: the server answered 304 to a conditional request for the
            payload `revisit_of` holds, whose sha256 this is: the revisit record gets the
            server-not-modified profile and that payload's digest
        :param ip_address: the server's address (WARC-IP-Address), when known
        :param rendered: the DOM a browser made of the page: a `conversion` record referring
            to the response (or revisit) record, written right after it
        :param extra_warc_headers: more WARC headers for the response (or revisit) record
        :param payload_sha256: for a revisit written without the body (`body` empty), the
            sha256 of the payload `revisit_of` holds
        """
        self._ensure_file()
        protocol = protocol or "HTTP/1.1"
        date = warc_date(fetched_at)
        response_url = response_url or url
        sha = (not_modified_sha256 or (payload_sha256 if revisit_of else None)
               or hashlib.sha256(body).hexdigest())
        writer = self._writer
        assert writer is not None

        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        path = quote(path, safe=_URL_SAFE)  # Scrapy URLs are already escaped: a no-op then
        req_headers = normalize_headers(request_headers)
        if not any(n.lower() == "host" for n, _ in req_headers):
            req_headers.insert(0, ("Host", parts.netloc))
        req_http = StatusAndHeaders(f"{method.upper()} {path} {protocol}", req_headers,
                                    is_http_request=True)
        req_id = StatusAndHeadersParser.make_warc_id()
        resp_id = StatusAndHeadersParser.make_warc_id()

        if reason is None:
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
        resp_http = StatusAndHeaders(
            f"{status} {reason}".strip(),
            _archive_headers(normalize_headers(response_headers), len(body), decoded_body),
            protocol=protocol)

        request = writer.create_warc_record(
            url, "request", payload=io.BytesIO(request_body), length=len(request_body),
            http_headers=req_http,
            warc_headers_dict={"WARC-Type": "request", "WARC-Record-ID": req_id,
                               "WARC-Date": date, "WARC-Concurrent-To": resp_id})
        resp_warc = {"WARC-Record-ID": resp_id, "WARC-Date": date,
                     "WARC-Concurrent-To": req_id}
        if ip_address:
            resp_warc["WARC-IP-Address"] = str(ip_address)
        resp_warc.update(extra_warc_headers or {})
        if revisit_of is None:
            response = writer.create_warc_record(
                response_url, "response", payload=io.BytesIO(body), length=len(body),
                http_headers=resp_http,
                # the digest we already have: warcio would hash the body again for it
                warc_headers_dict={"WARC-Type": "response", **resp_warc,
                                   "WARC-Payload-Digest": sha256_to_warc_digest(sha)})
        else:
            if revisit_of_id:
                resp_warc["WARC-Refers-To"] = revisit_of_id
            response = writer.create_revisit_record(
                response_url, sha256_to_warc_digest(sha), revisit_of[0], revisit_of[1],
                http_headers=resp_http, warc_headers_dict={"WARC-Type": "revisit", **resp_warc})
            if not_modified_sha256:
                response.rec_headers.replace_header("WARC-Profile", SERVER_NOT_MODIFIED)
        req_info = self._write(request)
        resp_info = self._write(response)
        resp_info = replace(resp_info, payload_sha256=sha)
        conversion = None
        if rendered is not None:
            conversion = self._write(writer.create_warc_record(
                rendered.url or response_url, "conversion", payload=io.BytesIO(rendered.body),
                length=len(rendered.body), warc_content_type=rendered.content_type,
                warc_headers_dict={"WARC-Type": "conversion", "WARC-Date": date,
                                   "WARC-Refers-To": resp_id}))
        return Exchange(req_info, resp_info, sha, len(body),
                        stored_headers=tuple(_stored_headers(resp_http)), conversion=conversion)

    @property
    def unchanged_pending(self) -> int:
        """How many entries (captures and documents) wait in the unchanged ledger."""
        return len(self._unchanged) + len(self._unchanged_documents)

    @property
    def ledger_due(self) -> bool:
        """The ledger is full, or its first entry has waited LEDGER_MAX_AGE."""
        pending = self.unchanged_pending
        return bool(pending) and (
            pending >= LEDGER_SIZE
            or time.monotonic() - self._unchanged_since >= LEDGER_MAX_AGE)

    def _noting(self) -> None:
        if not self.unchanged_pending:
            self._unchanged_since = time.monotonic()

    def note_unchanged(self, entry: dict) -> None:
        """Put one unchanged capture (JSON-able fields) in the run's ledger."""
        self._noting()
        self._unchanged.append(entry)

    def note_unchanged_document(self, record: dict) -> None:
        """Put the `document` record of a document found unchanged in the run's ledger."""
        self._noting()
        self._unchanged_documents.append(record)

    def flush_unchanged(self) -> tuple[RecordInfo, list[dict]] | None:
        """Write the ledger's entries as one `metadata` record; that record's place and the
        capture entries it holds (None when the ledger is empty)."""
        if not self.unchanged_pending:
            return None
        entries, self._unchanged = self._unchanged, []
        documents, self._unchanged_documents = self._unchanged_documents, []
        fields: dict = {"nianbao": "unchanged", "format": 1, "captures": entries}
        if documents:
            fields["documents"] = documents
        info = self.write_metadata(UNCHANGED_URI + self.run_id, fields)
        return info, entries

    def write_metadata(self, uri: str, fields: dict, *, refers_to: str | None = None,
                       concurrent_to: str | None = None,
                       date: datetime | None = None) -> RecordInfo:
        """Write a `metadata` record holding `fields` as JSON (application/json).

        :param uri: its WARC-Target-URI (the page it describes, or a urn:nianbao: name)
        :param refers_to: the WARC-Record-ID of the record it describes
        :param concurrent_to: the WARC-Record-ID of a record of the same capture event
        """
        self._ensure_file()
        assert self._writer is not None
        payload = json.dumps(fields, ensure_ascii=False, default=str).encode("utf-8")
        headers = {"WARC-Type": "metadata", "WARC-Date": warc_date(date)}
        if refers_to:
            headers["WARC-Refers-To"] = refers_to
        if concurrent_to:
            headers["WARC-Concurrent-To"] = concurrent_to
        return self._write(self._writer.create_warc_record(
            uri, "metadata", payload=io.BytesIO(payload), length=len(payload),
            warc_content_type=METADATA_TYPE, warc_headers_dict=headers))
