"""Silent edits and deletions: what happened to a report between two crawls, as rows of
`document_events` (document, event, old and new capture, run, detected at).

- `changed`: the report's URL answered with a payload other than its last capture's (an
  office replaced the file); both captures stay in the archive and both are parsed, and the
  `document_changes` view shows the flat values that differ.
- `gone`: a known report now answers 404 or 410, or redirects to a list or home page; its
  last good capture stays the document's latest, and the event names the answer.

Events are derived after each run from what the catalog already holds (document_captures'
change, crawl_errors on a known report's URL), so they can be derived again for any run,
as `nianbao reindex` does: `record_events` is idempotent. (Run ids sort by start time; a
gone event's old capture is the report's last capture from an earlier run.)
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

_GONE = ("HTTP 404%", "HTTP 410%", "report gone%")


def record_events(conn: sqlite3.Connection, run_id: str, detected_at: str | None = None) -> int:
    """Add the run's events that are not recorded yet; how many were added.

    :param detected_at: when they were found (default now; `reindex` gives the run's end)
    """
    now = detected_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    before = conn.total_changes
    with conn:
        conn.execute("""
INSERT OR IGNORE INTO document_events
  (document_id, event, old_capture_id, new_capture_id, run_id, detail, detected_at)
SELECT dc.document_id, 'changed',
  (SELECT p.capture_id FROM document_captures p JOIN captures pc ON pc.id = p.capture_id
   WHERE p.document_id = dc.document_id AND p.capture_id != dc.capture_id
     AND pc.id < dc.capture_id ORDER BY pc.id DESC LIMIT 1),
  dc.capture_id, dc.run_id, 'a different payload under the same URL', ?
FROM document_captures dc WHERE dc.run_id = ? AND dc.change = 'changed'
""", (now, run_id))
        conn.execute(f"""
INSERT OR IGNORE INTO document_events
  (document_id, event, old_capture_id, new_capture_id, run_id, detail, detected_at)
SELECT d.id, 'gone',
  (SELECT max(p.capture_id) FROM document_captures p
   WHERE p.document_id = d.id AND p.run_id < e.run_id),
  (SELECT c.id FROM captures c WHERE c.url = e.url AND c.run_id = e.run_id
   ORDER BY c.id DESC LIMIT 1),
  e.run_id, e.error, ?
FROM crawl_errors e JOIN documents d ON d.url = e.url
WHERE e.run_id = ? AND ({" OR ".join("e.error LIKE ?" for _ in _GONE)})
""", (now, run_id, *_GONE))
    return conn.total_changes - before
