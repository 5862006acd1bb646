"""A real `nianbao serve --port 0` for the tests that browse the archive, and the small WARC
file of responses their catalogs point into.

Its output goes to files, never a pipe: uvicorn logs every request line to stdout (a
dashboard chart's SQL makes them long), and a pipe nobody reads fills up and stops the
server mid-test. Ctrl-C (SIGINT) stops it, and it must then exit cleanly."""
from __future__ import annotations

import contextlib
import io
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

NIANBAO = Path(sys.executable).with_name("nianbao")


@contextlib.contextmanager
def serving(data_dir: Path, log_dir: Path):
    """Yields (base URL, (stdout path, stderr path)) while the server runs."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([str(NIANBAO), "serve", "--data", str(data_dir), "--port", "0"],
                                stdout=out, stderr=err)
    try:
        base = None
        for _ in range(600):
            match = re.search(r"http://127\.0\.0\.1:\d+/", out_path.read_text("utf-8", "replace"))
            if match:
                base = match.group(0).rstrip("/")
                break
            assert proc.poll() is None, err_path.read_text("utf-8", "replace")
            time.sleep(0.1)
        assert base, f"no URL printed; stderr: {err_path.read_text('utf-8', 'replace')}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        yield base, (out_path, err_path)
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (
        "Ctrl-C did not stop the server cleanly: " + err_path.read_text("utf-8", "replace"))


def write_responses(path: Path, captures: dict) -> dict:
    """Write a gzipped WARC file of 200 responses, `captures` being {key: (url, body,
    content type, extra headers)}; return {key: (offset, length, WARC-Record-ID)}."""
    out = {}
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for cid, (url, body, ctype, extra) in captures.items():
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype),
                                                  ("Content-Length", str(len(body))), *extra],
                                       protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                               http_headers=headers)
            start = fh.tell()
            writer.write_record(record)
            out[cid] = (start, fh.tell() - start, record.rec_headers.get_header("WARC-Record-ID"))
    return out
