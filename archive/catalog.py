"""The catalog (`data/archive.db`): crawl runs, captures, crawl errors and documents.

`Catalog` is a thin layer over sqlite3 with the tables of `archive.schema`. Every write is
committed at once (WAL mode, `synchronous=NORMAL`), so a crash of the process loses nothing
already written; a power loss may lose the last commits (the WAL is not fsynced at each
commit, as the WARC files are flushed but not fsynced), never the database's consistency.
Rows come back as plain dicts.

The catalog is an index, never the only copy: what it knows beyond the HTTP exchanges goes
into the WARC files too, as JSON `metadata` records (`"nianbao": "capture"`, `"run"`,
`"document"`, `"crawl-error"`; built here, written by the crawl, read by archive.reindex).
"""
from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from archive.schema import ensure_schema

CAPTURE_COLUMNS = (
    "run_id", "portal", "url", "final_url", "method", "status", "headers", "fetched_at",
    "payload_sha256", "payload_size", "content_type", "referrer", "rendered", "record_type",
    "refers_to", "warc_file", "warc_offset", "warc_length", "warc_record_id", "challenge",
)
# Typed crawl_runs columns filled from the stats dict by finish_run.
RUN_STAT_COLUMNS = ("requests", "captures", "bytes", "errors", "documents")

# The `nianbao` key of the JSON metadata records, and their format version.
RECORD_CAPTURE, RECORD_RUN, RECORD_DOCUMENT, RECORD_ERROR = (
    "capture", "run", "document", "crawl-error")
RECORD_FORMAT = 1
# captures.record_type of a re-crawl that found the same payload at the same URL: its WARC
# place is the run's unchanged ledger record (archive.warc_writer), its payload `refers_to`'s.
UNCHANGED = "unchanged"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(now: datetime | None = None) -> str:
    """e.g. 20261123T084400Z-3f2a1c: sortable by start time, unique across machines."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def connect(db_path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) a catalog database with the schema in place."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    conn.row_factory = sqlite3.Row
    ensure_schema(conn)
    # WAL's default (FULL) fsyncs at every commit: ~0.5-2.5 ms a capture here, paid on the
    # crawl's only thread. NORMAL still writes every commit to the WAL at once (a crash of
    # the process loses nothing committed) and syncs at checkpoints.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _row(r: sqlite3.Row | None) -> dict | None:
    return dict(r) if r is not None else None


class Catalog:
    """The archive's index.

    :param db_path: path of `archive.db`; its directory is created if missing
    """

    def __init__(self, db_path: Path | str):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = connect(self.db_path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------------------
    def start_run(self, portals: Iterable[str], settings: dict | None = None,
                  run_id: str | None = None) -> str:
        """Record a new crawl run as `running`; return its id. A row that a component made
        first (`ensure_run`) gets the portals and settings."""
        run_id = run_id or new_run_id()
        self.conn.execute(
            "INSERT INTO crawl_runs (id, started_at, status, portals, settings) "
            "VALUES (?, ?, 'running', ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "portals = excluded.portals, settings = excluded.settings",
            (run_id, utc_now(), json.dumps(list(portals), ensure_ascii=False),
             json.dumps(settings or {}, ensure_ascii=False, default=str)))
        self.conn.commit()
        return run_id

    def upsert_portal(self, name: str, title: str | None, real: bool, start_urls: list[str],
                      region: dict | None) -> None:
        """Record a registry entry as crawled, so parsing can use its region as a hint."""
        self.conn.execute(
            "INSERT INTO portals (name, title, real, start_urls, region, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET title = excluded.title, "
            "real = excluded.real, start_urls = excluded.start_urls, region = excluded.region, "
            "updated_at = excluded.updated_at",
            (name, title, int(real), json.dumps(start_urls, ensure_ascii=False),
             json.dumps(region or {}, ensure_ascii=False), utc_now()))
        self.conn.commit()

    def resume_run(self, run_id: str) -> bool:
        """Mark an unfinished run as running again (a JOBDIR resume); False if unknown."""
        cur = self.conn.execute(
            "UPDATE crawl_runs SET status = 'running', finished_at = NULL WHERE id = ?",
            (run_id,))
        self.conn.commit()
        return cur.rowcount > 0

    def set_run_portals(self, run_id: str, portals: Iterable[str]) -> None:
        self.conn.execute("UPDATE crawl_runs SET portals = ? WHERE id = ?",
                          (json.dumps(list(portals), ensure_ascii=False), run_id))
        self.conn.commit()

    def record_portal_stats(self, run_id: str, portals: Iterable[str]) -> list[dict]:
        """Count each portal's share of a run into `crawl_run_portals`; return the rows."""
        rows = []
        q = self.conn.execute
        for portal in portals:
            pages, size, challenges = q(
                "SELECT count(*), coalesce(sum(payload_size), 0), count(challenge) "
                "FROM captures WHERE run_id = ? AND portal = ?", (run_id, portal)).fetchone()
            changes = dict(q(
                "SELECT dc.change, count(*) FROM document_captures dc JOIN documents d "
                "ON d.id = dc.document_id WHERE dc.run_id = ? AND d.portal = ? "
                "GROUP BY dc.change", (run_id, portal)).fetchall())
            errors = q("SELECT count(*) FROM crawl_errors WHERE run_id = ? AND portal = ?",
                       (run_id, portal)).fetchone()[0]
            row = {"run_id": run_id, "portal": portal, "pages": pages,
                   "documents": sum(changes.values()), "new_reports": changes.get("new", 0),
                   "changed_reports": changes.get("changed", 0),
                   "unchanged_reports": changes.get("unchanged", 0), "errors": errors,
                   "challenges": challenges, "bytes": size}
            names = list(row)
            q(f"INSERT OR REPLACE INTO crawl_run_portals ({', '.join(names)}) "
              f"VALUES ({', '.join('?' * len(names))})", [row[n] for n in names])
            rows.append(row)
        self.conn.commit()
        return rows

    def ensure_run(self, run_id: str, portals: Iterable[str] = ()) -> None:
        """Make sure a crawl_runs row exists for `run_id` (a run started elsewhere)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO crawl_runs (id, started_at, status, portals) "
            "VALUES (?, ?, 'running', ?)",
            (run_id, utc_now(), json.dumps(list(portals), ensure_ascii=False)))
        self.conn.commit()

    def finish_run(self, run_id: str, status: str, stats: dict | None = None) -> None:
        """Close a run: status (finished, failed, interrupted), typed counts and all stats.

        Typed columns take `stats[name]` when given, else they are counted from the catalog
        (captures, bytes, errors, documents of this run).
        """
        stats = dict(stats or {})
        counted = self._run_counts(run_id)
        values = {c: stats.get(c, counted.get(c)) for c in RUN_STAT_COLUMNS}
        self.conn.execute(
            "UPDATE crawl_runs SET finished_at = ?, status = ?, requests = ?, captures = ?, "
            "bytes = ?, errors = ?, documents = ?, stats = ? WHERE id = ?",
            (utc_now(), status, *(values[c] for c in RUN_STAT_COLUMNS),
             json.dumps(stats, ensure_ascii=False, default=str), run_id))
        self.conn.commit()

    def _run_counts(self, run_id: str) -> dict[str, Any]:
        q = self.conn.execute
        captures, size = q("SELECT count(*), sum(payload_size) FROM captures WHERE run_id = ?",
                           (run_id,)).fetchone()
        errors = q("SELECT count(*) FROM crawl_errors WHERE run_id = ?", (run_id,)).fetchone()[0]
        documents = q("SELECT count(*) FROM documents WHERE last_run_id = ?",
                      (run_id,)).fetchone()[0]
        return {"captures": captures, "bytes": size or 0, "errors": errors,
                "documents": documents}

    def get_run(self, run_id: str) -> dict | None:
        return _row(self.conn.execute("SELECT * FROM crawl_runs WHERE id = ?",
                                      (run_id,)).fetchone())

    # -- captures ------------------------------------------------------------------------
    def find_payload(self, sha256: str) -> dict | None:
        """The first `response` capture holding this payload, or None."""
        return _row(self.conn.execute(
            "SELECT * FROM captures WHERE payload_sha256 = ? AND record_type = 'response' "
            "ORDER BY id LIMIT 1", (sha256,)).fetchone())

    def add_capture(self, **columns: Any) -> int:
        """Insert one captures row (columns as in archive.schema) and commit; return its id.

        `headers` may be given as a list of (name, value) pairs: it is stored as JSON.
        """
        unknown = set(columns) - set(CAPTURE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown capture columns: {sorted(unknown)}")
        if not isinstance(columns.get("headers"), (str, type(None))):
            columns["headers"] = json.dumps([list(h) for h in columns["headers"]],
                                            ensure_ascii=False)
        if "rendered" in columns:
            columns["rendered"] = int(bool(columns["rendered"]))
        names = list(columns)
        cur = self.conn.execute(
            f"INSERT INTO captures ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [columns[n] for n in names])
        self.conn.commit()
        return cur.lastrowid

    def get_capture(self, capture_id: int) -> dict | None:
        return _row(self.conn.execute("SELECT * FROM captures WHERE id = ?",
                                      (capture_id,)).fetchone())

    def latest_ok_capture(self, url: str) -> dict | None:
        """The most recent 200 (or confirmed 304) capture of `url`, for a conditional GET."""
        return _row(self.conn.execute(
            "SELECT * FROM captures WHERE (url = ? OR final_url = ?) AND status IN (200, 304) "
            "ORDER BY id DESC LIMIT 1", (url, url)).fetchone())

    def last_capture_from(self, final_url: str) -> dict | None:
        """The most recent capture served from `final_url`, whatever its status."""
        return _row(self.conn.execute(
            "SELECT * FROM captures WHERE final_url = ? ORDER BY id DESC LIMIT 1",
            (final_url,)).fetchone())

    def latest_capture_for_url(self, url: str) -> dict | None:
        """The most recent capture requested at, or served from, `url`."""
        return _row(self.conn.execute(
            "SELECT * FROM captures WHERE url = ? OR final_url = ? ORDER BY id DESC LIMIT 1",
            (url, url)).fetchone())

    def add_crawl_error(self, run_id: str, portal: str | None, url: str, error: str,
                        referrer: str | None = None) -> int:
        cur = self.conn.execute(
            "INSERT INTO crawl_errors (run_id, portal, url, referrer, error, at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (run_id, portal, url, referrer, error, utc_now()))
        self.conn.commit()
        return cur.lastrowid

    # -- documents -----------------------------------------------------------------------
    def upsert_document(self, portal: str | None, url: str, title: str | None, kind: str,
                        referrer: str | None, run_id: str, capture_id: int | None,
                        not_modified: bool = False) -> tuple[int, str]:
        """Add a report candidate or update it (last run, latest capture, a better title),
        and link it to this run's capture in `document_captures`.

        The first run that found it is kept; a None title or capture never overwrites one.
        Returns (document id, change): "new" (never seen), "changed" (its payload differs
        from the latest capture before this one) or "unchanged" (same payload, or a 304).
        """
        before = self.get_document(url)
        change = "new"
        if before is not None:
            change = "unchanged" if not_modified else self._payload_change(
                before["latest_capture_id"], capture_id)
        self.conn.execute(
            "INSERT INTO documents (portal, url, title, kind, referrer, first_run_id, "
            "last_run_id, latest_capture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET "
            "portal = coalesce(excluded.portal, portal), "
            "title = coalesce(excluded.title, title), kind = excluded.kind, "
            "referrer = coalesce(excluded.referrer, referrer), "
            "last_run_id = excluded.last_run_id, "
            "latest_capture_id = coalesce(excluded.latest_capture_id, latest_capture_id)",
            (portal, url, title, kind, referrer, run_id, run_id, capture_id))
        doc_id = self.conn.execute("SELECT id FROM documents WHERE url = ?", (url,)).fetchone()[0]
        self.conn.execute(
            "INSERT INTO document_captures (document_id, capture_id, run_id, change, found_on, "
            "link_text) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(document_id, run_id) DO UPDATE "
            "SET capture_id = coalesce(excluded.capture_id, capture_id)",
            (doc_id, capture_id, run_id, change, referrer, title))
        self.conn.commit()
        return doc_id, change

    def _payload_change(self, old_capture: int | None, new_capture: int | None) -> str:
        if old_capture == new_capture:
            return "unchanged"
        if old_capture is None or new_capture is None:
            return "changed"
        shas = {r[0] for r in self.conn.execute(
            "SELECT payload_sha256 FROM captures WHERE id IN (?, ?)", (old_capture, new_capture))}
        return "unchanged" if len(shas) == 1 else "changed"

    def get_document(self, url: str) -> dict | None:
        return _row(self.conn.execute("SELECT * FROM documents WHERE url = ?",
                                      (url,)).fetchone())

    # -- what the WARC files keep of the catalog (see archive.reindex) ---------------------
    def run_record(self, run_id: str) -> dict:
        """A `run` metadata record: the crawl_runs row as it is now, the portals it crawls,
        and its crawl_run_portals rows (once the run is closed)."""
        q = self.conn.execute
        run = self.get_run(run_id)
        names = json.loads(run["portals"]) if run and run.get("portals") else []
        portals = [dict(r) for r in q(
            f"SELECT * FROM portals WHERE name IN ({', '.join('?' * len(names))}) "
            "ORDER BY name", names)] if names else []
        per_portal = [dict(r) for r in q(
            "SELECT * FROM crawl_run_portals WHERE run_id = ? ORDER BY portal", (run_id,))]
        return {"nianbao": RECORD_RUN, "format": RECORD_FORMAT, "run": run,
                "portals": portals, "crawl_run_portals": per_portal}

    def document_record(self, url: str, run_id: str) -> dict | None:
        """A `document` metadata record: the documents row of `url` and its
        document_captures row for `run_id`, as the pipeline left them."""
        doc = self.get_document(url)
        if doc is None:
            return None
        link = _row(self.conn.execute(
            "SELECT * FROM document_captures WHERE document_id = ? AND run_id = ?",
            (doc["id"], run_id)).fetchone())
        return {"nianbao": RECORD_DOCUMENT, "format": RECORD_FORMAT, "document": doc,
                "document_capture": link}

    def crawl_errors_after(self, run_id: str, after_id: int) -> list[dict]:
        """This run's crawl_errors rows with an id above `after_id`, oldest first."""
        return [dict(r) for r in self.conn.execute(
            "SELECT * FROM crawl_errors WHERE run_id = ? AND id > ? ORDER BY id",
            (run_id, after_id))]


def archive_exchange(catalog: Catalog, writer, **exchange) -> int:
    """Archive one HTTP exchange (see `archive_exchange_row`); return its capture id."""
    return archive_exchange_row(catalog, writer, **exchange)["id"]


def archive_exchange_row(catalog: Catalog, writer, *, run_id: str, url: str, status: int,
                     body: bytes, response_headers=(), request_headers=(), method: str = "GET",
                     final_url: str | None = None, portal: str | None = None,
                     referrer: str | None = None, rendered: bool = False,
                     protocol: str | None = None, request_body: bytes = b"",
                     not_modified_of: dict | None = None,
                     challenge: str | None = None, ip_address: str | None = None,
                     rendered_dom: bytes | None = None, dom_content_type: str | None = None,
                     dom_url: str | None = None, metadata: dict | None = None) -> dict:
    """Archive one HTTP exchange: WARC records (a revisit if the payload is already stored)
    and its `captures` row. Returns that row's columns, with its `id`.

    :param writer: the run's `archive.warc_writer.WarcWriterFile`
    :param rendered: a browser fetched the body (already content-decoded)
    :param not_modified_of: the capture a 304 answer confirms (a conditional request): the
        304 becomes a server-not-modified revisit of it, with its payload digest
    :param challenge: the bot challenge met on the way to this response, if any
    :param ip_address: the server's IP address, when known (WARC-IP-Address)
    :param rendered_dom: the DOM the browser made of `body` (the server's bytes): written as
        a `conversion` record referring to the response record
    :param metadata: when given (even empty), a `capture` metadata record follows the
        catalog row: every column the WARC records do not say, plus these fields
    """
    from archive.warc_writer import Rendered, normalize_headers, original_headers

    if status == 304 and not_modified_of is not None:
        sha = not_modified_of["payload_sha256"]
        original = (not_modified_of if not_modified_of["record_type"] == "response"
                    else catalog.get_capture(not_modified_of["refers_to"]))
    else:
        sha = hashlib.sha256(body).hexdigest()
        original = catalog.find_payload(sha)
    revisit_of = ((original["final_url"] or original["url"], original["fetched_at"])
                  if original else None)
    if (original is not None and rendered_dom is None and hasattr(writer, "note_unchanged")
            and _unchanged(catalog, original, sha, status, final_url or url)):
        return _note_unchanged(
            catalog, writer, original, sha, run_id=run_id, url=url, status=status,
            response_headers=response_headers, request_headers=request_headers,
            method=method, final_url=final_url or url, portal=portal, referrer=referrer,
            rendered=rendered, protocol=protocol, challenge=challenge,
            ip_address=ip_address, metadata=metadata)
    dom = None
    if rendered_dom is not None:
        dom = Rendered(rendered_dom, dom_content_type or "text/html; charset=utf-8", dom_url)
    exchange = writer.write_exchange(
        url=url, method=method, request_headers=request_headers, request_body=request_body,
        status=status, response_headers=response_headers, body=body,
        response_url=final_url or url, protocol=protocol, revisit_of=revisit_of,
        revisit_of_id=original["warc_record_id"] if original else None,
        decoded_body=rendered, not_modified_sha256=sha if status == 304 and original else None,
        ip_address=ip_address, rendered=dom)
    rec = exchange.response
    headers = normalize_headers(response_headers)
    content_type = next((v for n, v in headers if n.lower() == "content-type"), None)
    row = dict(
        run_id=run_id, portal=portal, url=url, final_url=final_url or url, method=method,
        status=status, headers=headers, fetched_at=rec.warc_date, payload_sha256=sha,
        payload_size=original["payload_size"] if status == 304 and original else len(body),
        content_type=content_type, referrer=referrer, challenge=challenge,
        rendered=int(rendered), record_type=rec.record_type,
        refers_to=original["id"] if original else None, warc_file=rec.warc_file,
        warc_offset=rec.offset, warc_length=rec.length, warc_record_id=rec.record_id)
    row["id"] = catalog.add_capture(**row)
    if metadata is not None:
        fields = {"nianbao": RECORD_CAPTURE, "format": RECORD_FORMAT, "capture_id": row["id"],
                  "run_id": run_id, "portal": portal, "url": url, "referrer": referrer,
                  "rendered": bool(rendered), "challenge": challenge, **metadata}
        if rec.record_type == "revisit":
            fields.update(refers_to=row["refers_to"], payload_size=row["payload_size"])
        if original_headers(list(exchange.stored_headers)) != headers:
            fields["headers"] = headers  # not as the record has them (non-ASCII values)
        writer.write_metadata(row["final_url"], fields, refers_to=rec.record_id,
                              concurrent_to=rec.record_id)
    return row


def _unchanged(catalog: Catalog, original: dict, sha: str, status: int, place: str) -> bool:
    """The same answer as before at the same place: a 200 (or a 304 confirming it) with the
    payload first archived from there, or the same status and payload as the last capture
    served from there (an error page, a redirect: their bodies are often shared by many
    URLs, so the payload's first record may be another URL's)."""
    if (status == 304 or status == original["status"] == 200) and place == (
            original["final_url"] or original["url"]):
        return True
    if status == 304:
        return False
    previous = catalog.last_capture_from(place)
    return (previous is not None and previous["status"] == status
            and previous["payload_sha256"] == sha)


def _note_unchanged(catalog: Catalog, writer, original: dict, sha: str, *, run_id: str,
                    url: str, status: int, response_headers, request_headers, method: str,
                    final_url: str, portal, referrer, rendered: bool, protocol,
                    challenge, ip_address, metadata: dict | None) -> dict:
    """A re-crawl found the payload `original` holds, at the same URL: an `unchanged`
    capture, noted in the run's ledger (see archive.warc_writer). Its row has no WARC place
    until `flush_unchanged` writes the ledger; the payload is read from `refers_to`."""
    from archive.warc_writer import normalize_headers, warc_date

    headers = normalize_headers(response_headers)
    row = dict(
        run_id=run_id, portal=portal, url=url, final_url=final_url, method=method,
        status=status, headers=headers, fetched_at=warc_date(), payload_sha256=sha,
        payload_size=original["payload_size"],
        content_type=next((v for n, v in headers if n.lower() == "content-type"), None),
        referrer=referrer, challenge=challenge, rendered=int(rendered),
        record_type=UNCHANGED, refers_to=original["id"], warc_file=None, warc_offset=None,
        warc_length=None, warc_record_id=None)
    row["id"] = catalog.add_capture(**row)
    entry = {k: v for k, v in row.items() if not k.startswith("warc_")}
    entry.update(refers_to_record=original["warc_record_id"],
                 request_headers=normalize_headers(request_headers),
                 protocol=protocol, ip_address=ip_address)
    if metadata:
        entry["metadata"] = metadata
    writer.note_unchanged(entry)
    if writer.ledger_due:
        flush_unchanged(catalog, writer)
    return row


def flush_unchanged(catalog: Catalog, writer) -> int:
    """Write the run's unchanged ledger and give its captures their WARC place; how many."""
    flushed = writer.flush_unchanged()
    if flushed is None:
        return 0
    rec, entries = flushed
    catalog.conn.executemany(
        "UPDATE captures SET warc_file = ?, warc_offset = ?, warc_length = ?, "
        "warc_record_id = ? WHERE id = ?",
        [(rec.warc_file, rec.offset, rec.length, rec.record_id, e["id"]) for e in entries])
    catalog.conn.commit()
    return len(entries)
