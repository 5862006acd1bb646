"""`nianbao export --wacz FILE`: package the archive as one WACZ for ReplayWeb.page and pywb.

The WACZ is made by webrecorder's `wacz` tool (its `wacz create` command, run in a
subprocess of this interpreter): it copies the WARC files into `archive/`, indexes them into
`indexes/index.cdx.gz` + `index.idx` (CDXJ), and writes `datapackage.json` (sha256 and size of
every file) and `datapackage-digest.json`. The unchanged captures of the runs' ledger records
go in as standard revisit records, in a WARC file of their own made for the export
(`nianbao-unchanged-revisits-*.warc.gz`), so a replay tool lists every visit. We hand it `pages/pages.jsonl`, written from the
catalog: every report document (`documents`, with its title) and every HTML page fetched with
status 200, once per distinct payload, at the time of its WARC record.

Each WARC file is read through first. A file whose tail is not a complete record (a crawl
killed mid-write, or a crawl still writing) goes in cut after its last complete record; what
was cut is reported, and captures whose record was cut are left out of the page list.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.verify import gzip_member_complete
from archive.warc_writer import UNCHANGED_URI

WARC_SUFFIXES = (".warc", ".warc.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xhtml")
_CHUNK = 1 << 16
# What the console script `wacz` runs (`python -m wacz` drops main()'s exit status), with one
# change: the CDXJ index leaves out `metadata` records. Ours are JSON about a capture under
# the page's own URL and time, and pywb replayed that JSON instead of the page; `wacz create`
# has no option to choose the record types it indexes (cdxj-indexer's `records`).
WACZ_MAIN = """
import sys
from cdxj_indexer.main import CDXJIndexer
from wacz.main import main
if sys.argv[1:2] == ["create"]:
    CDXJIndexer.DEFAULT_RECORDS.remove("metadata")
sys.exit(main())
"""


class ExportError(Exception):
    """The archive could not be exported (no WARC files, or `wacz create` failed)."""


@dataclass
class _Record:
    rec_type: str
    target_uri: str | None
    date: str | None
    record_id: str | None = None
    unchanged: list | None = None  # an unchanged ledger record: its entries


@dataclass
class _Scan:
    records: dict[int, _Record]   # offset -> record, complete records only
    good_end: int                 # bytes up to the end of the last complete record
    size: int
    problem: str | None = None


@dataclass
class ExportResult:
    path: Path
    warc_files: int = 0
    records: int = 0              # complete WARC records packaged (every type)
    captures: int = 0             # catalog captures whose record is packaged
    unchanged: int = 0            # unchanged captures written out as revisit records
    pages: int = 0                # entries in pages/pages.jsonl
    documents: int = 0            # of which report documents
    size: int = 0                 # bytes of the WACZ file
    skipped_bytes: int = 0        # torn or unreadable tails left out
    skipped: list[str] = field(default_factory=list)   # one line per file cut short
    notes: list[str] = field(default_factory=list)     # captures left out, no catalog

    def describe(self) -> str:
        lines = [f"{self.path}: {self.size:,} bytes, {self.warc_files} WARC file(s), "
                 f"{self.records} records, {self.captures} captures ({self.unchanged} "
                 f"unchanged, as revisit records); pages.jsonl lists "
                 f"{self.pages} pages ({self.documents} report documents)"]
        if self.skipped:
            lines.append(f"left out {self.skipped_bytes:,} bytes of torn or unreadable records:")
            lines += [f"  {s}" for s in self.skipped]
        lines += self.notes
        return "\n".join(lines)


def scan_warc(path: Path) -> _Scan:
    """The complete records of one WARC file and where the last of them ends."""
    records: dict[int, _Record] = {}
    good_end = 0
    size = path.stat().st_size
    last: tuple[int, int] | None = None
    problem = None
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                got, chunks = 0, []
                ledger = record.rec_type == "metadata" and (
                    record.rec_headers.get_header("WARC-Target-URI") or "").startswith(UNCHANGED_URI)
                while buf := record.raw_stream.read(_CHUNK):
                    got += len(buf)
                    if ledger:
                        chunks.append(buf)
                offset, length = it.get_record_offset(), it.get_record_length()
                expected = record.payload_length if record.payload_length >= 0 else record.length
                if expected is not None and got < expected:
                    problem = (f"torn {record.rec_type} record at offset {offset} "
                               f"({got} of {expected} payload bytes)")
                    break
                h = record.rec_headers
                records[offset] = _Record(record.rec_type, h.get_header("WARC-Target-URI"),
                                          h.get_header("WARC-Date"),
                                          h.get_header("WARC-Record-ID"),
                                          _entries(b"".join(chunks)) if ledger else None)
                good_end, last = offset + length, (offset, length)
    except Exception as e:  # warcio raises many kinds on a damaged file
        problem = f"unreadable after offset {good_end}: {type(e).__name__}: {e}"
    # warcio reads a gzip member cut short in its trailer without complaint
    if (problem is None and last is not None and path.name.endswith(".gz")
            and not gzip_member_complete(path, *last)):
        problem = (f"torn {records[last[0]].rec_type} record at offset {last[0]} "
                   f"(gzip member cut short)")
        del records[last[0]]
        good_end = last[0]
    if problem is None and good_end < size:
        problem = f"{size - good_end} bytes after the last complete record (a torn record?)"
    return _Scan(records, good_end, size, problem)


def _entries(block: bytes) -> list:
    try:
        return [e for e in json.loads(block).get("captures") or [] if isinstance(e, dict)]
    except (ValueError, AttributeError):
        return []


def unchanged_revisits(scans: dict[str, _Scan], out_dir: Path) -> tuple[list[Path], int]:
    """The unchanged ledgers' captures as standard revisit records, so that a replay tool
    knows every visit: WARC files under `out_dir` and how many revisits they hold. Each has
    the capture's own time, headers and request, refers to the record holding the payload,
    and names its ledger record in `Nianbao-Unchanged-Ledger`."""
    from archive.warc_writer import WarcWriterFile

    originals = {r.record_id: r for scan in scans.values() for r in scan.records.values()
                 if r.record_id}
    count = 0
    writer = WarcWriterFile(out_dir, "unchanged-revisits")
    with writer:
        for scan in scans.values():
            for rec in scan.records.values():
                for e in rec.unchanged or []:
                    original = originals.get(e.get("refers_to_record"))
                    if original is None or original.rec_type != "response":
                        continue
                    sha = e.get("payload_sha256")
                    writer.write_exchange(
                        url=e["url"], method=e.get("method") or "GET",
                        request_headers=e.get("request_headers") or [],
                        status=int(e["status"]), response_headers=e.get("headers") or [],
                        body=b"", response_url=e.get("final_url"), protocol=e.get("protocol"),
                        fetched_at=datetime.fromisoformat(e["fetched_at"].replace("Z", "+00:00")),
                        revisit_of=(original.target_uri, original.date),
                        revisit_of_id=original.record_id, payload_sha256=sha,
                        not_modified_sha256=sha if int(e["status"]) == 304 else None,
                        ip_address=e.get("ip_address"),
                        extra_warc_headers={"Nianbao-Unchanged-Ledger": rec.record_id})
                    count += 1
    return [out_dir / name for name in writer.files], count


def _catalog(db: Path) -> tuple[list[dict], dict[int, str | None]]:
    """Every capture in id order, and the title of each report document by capture id."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in conn.execute(
            "SELECT id, method, status, content_type, payload_sha256, warc_file, warc_offset "
            "FROM captures ORDER BY id")]
        docs: dict[int, str | None] = {}
        for capture_id, title in conn.execute(
                "SELECT dc.capture_id, d.title FROM document_captures dc "
                "JOIN documents d ON d.id = dc.document_id WHERE dc.capture_id IS NOT NULL "
                "UNION ALL SELECT latest_capture_id, title FROM documents "
                "WHERE latest_capture_id IS NOT NULL"):
            docs.setdefault(capture_id, title)
        return rows, docs
    finally:
        conn.close()


def page_entries(rows: list[dict], docs: dict[int, str | None],
                 scans: dict[str, _Scan]) -> tuple[list[dict], int]:
    """pages.jsonl entries (report documents and HTML pages, one per URL and payload) and
    how many of them are report documents.

    URL and ts are those of the WARC record (what the CDXJ index holds), so a replay tool
    finds the page at exactly that capture.
    """
    seen: set[tuple[str, str]] = set()
    pages, documents = [], 0
    for row in rows:
        if row["status"] != 200 or row["method"] != "GET":
            continue
        is_doc = row["id"] in docs
        mime = (row["content_type"] or "").split(";")[0].strip().lower()
        if not is_doc and mime not in HTML_TYPES:
            continue
        scan = scans.get(row["warc_file"])
        rec = scan.records.get(row["warc_offset"]) if scan else None
        if rec is None or rec.rec_type not in ("response", "revisit") or not rec.target_uri:
            continue
        key = (rec.target_uri, row["payload_sha256"])
        if key in seen:  # a revisit of bytes already listed: the same page again
            continue
        seen.add(key)
        page = {"id": f"capture-{row['id']}", "url": rec.target_uri, "ts": rec.date}
        if is_doc:
            documents += 1
            if docs[row["id"]]:
                page["title"] = docs[row["id"]]
        pages.append(page)
    return pages, documents


def _write_pages(path: Path, pages: list[dict]) -> None:
    header = {"format": "json-pages-1.0", "id": "pages",
              "title": "Report documents and pages"}
    with open(path, "w", encoding="utf-8") as fh:
        for line in [header, *pages]:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def _warc_files(warc_dir: Path) -> list[Path]:
    if not warc_dir.is_dir():
        return []
    files = sorted(p for p in warc_dir.rglob("*")
                   if p.is_file() and p.name.endswith(WARC_SUFFIXES))
    names = [p.name for p in files]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:  # the WACZ keeps base names only (archive/NAME)
        raise ExportError(f"WARC files with the same name in different folders: {dupes}")
    return files


def run_wacz(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run the `wacz` command line (create, validate) with this interpreter."""
    env = dict(os.environ, PYTHONUTF8="1")  # wacz opens pages.jsonl in the locale's encoding
    return subprocess.run([sys.executable, "-c", WACZ_MAIN, *args], capture_output=True,
                          text=True, encoding="utf-8", errors="replace", env=env,
                          timeout=timeout)


def export_wacz(data_dir: Path, out: Path) -> ExportResult:
    """Write the archive under `data_dir` (warc/, archive.db) to the WACZ file `out`.

    `out` is replaced only once the new file is complete.
    :raises ExportError: no WARC files, or `wacz create` failed
    """
    data_dir, out = Path(data_dir), Path(out)
    if importlib.util.find_spec("wacz") is None:
        raise ExportError("the `wacz` package is not installed (pip install wacz)")
    warc_dir = data_dir / "warc"
    files = _warc_files(warc_dir)
    if not files:
        raise ExportError(f"no WARC files under {warc_dir}")
    result = ExportResult(path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nianbao-wacz-", dir=out.parent) as tmp:
        tmp = Path(tmp)
        (tmp / "cut").mkdir()
        scans: dict[str, _Scan] = {}
        inputs: list[Path] = []
        for path in files:
            scan = scan_warc(path)
            scans[path.relative_to(warc_dir).as_posix()] = scan
            if scan.problem:
                result.skipped.append(f"{path.name}: {scan.problem}; packaged up to offset "
                                      f"{scan.good_end}, left out {scan.size - scan.good_end} "
                                      f"bytes")
                result.skipped_bytes += scan.size - scan.good_end
            if not scan.records:
                if not scan.problem:
                    result.notes.append(f"{path.name}: no WARC records, left out")
                continue
            if scan.good_end < scan.size:
                cut = tmp / "cut" / path.name
                with open(path, "rb") as src, open(cut, "wb") as dst:
                    _copy_prefix(src, dst, scan.good_end)
                path = cut
            inputs.append(path)
            result.records += len(scan.records)
        if not inputs:
            raise ExportError(f"no complete WARC record under {warc_dir}")
        result.warc_files = len(inputs)
        revisit_files, result.unchanged = unchanged_revisits(scans, tmp / "unchanged")
        inputs += revisit_files

        db = data_dir / "archive.db"
        pages: list[dict] = []
        if db.exists():
            rows, docs = _catalog(db)
            pages, result.documents = page_entries(rows, docs, scans)
            missing = []
            for row in rows:
                scan = scans.get(row["warc_file"])
                if scan and row["warc_offset"] in scan.records:
                    result.captures += 1
                else:
                    missing.append(row["id"])
            if missing:
                result.notes.append(f"{len(missing)} catalog capture(s) whose record is "
                                      f"missing or was left out: {_ids(missing)}")
        else:
            result.notes.append(f"no catalog at {db}: pages.jsonl is empty")
        result.pages = len(pages)
        pages_file = tmp / "pages.jsonl"
        _write_pages(pages_file, pages)

        partial = tmp / "export.wacz"
        proc = run_wacz(["create", "-o", str(partial), "--pages", str(pages_file),
                         "--copy-pages", "--hash-type", "sha256", "--title", "nianbao archive",
                         "--desc", f"{result.captures} captures, {result.documents} report "
                                   f"documents",
                         *map(str, inputs)])
        if proc.returncode != 0 or not partial.is_file():
            raise ExportError(f"wacz create failed (exit {proc.returncode}): "
                              f"{(proc.stderr or proc.stdout)[-2000:]}")
        os.replace(partial, out)
    result.size = out.stat().st_size
    return result


def _copy_prefix(src, dst, length: int) -> None:
    while length > 0:
        buf = src.read(min(_CHUNK * 16, length))
        if not buf:
            break
        dst.write(buf)
        length -= len(buf)


def _ids(ids: list[int], limit: int = 20) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
