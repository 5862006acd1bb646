"""The portal farm's HTTP server: fixture government portals on 127.0.0.1.

Standard library only (a `ThreadingHTTPServer` in a thread). Static files come from `sites/`
beside this file; `sites/farm.json` (written by tests/farm/build_sites.py) adds the
behaviours real portals have:

- `redirects`: 301 to another path; `flaky`: 503 (Retry-After: 1) on the first request, then 200
- `slow`: seconds to wait before answering; `oversized`: a body of N bytes declared and streamed
- `charset`: site -> charset sent in Content-Type for its HTML (others rely on <meta>)
- `robots_disallow`: paths /robots.txt forbids

Dynamic sites (CMS data calls, bot challenges, the pagination trap) are the modules of
`apps/`. Static files carry an ETag and a Last-Modified date and answer conditional GETs
with 304, as real portal web servers do. Attachments (.pdf .doc .docx .wps .xls .xlsx .zip)
are sent as application/octet-stream, as many portals do. GET /_farm/requests returns the
request log as JSON (tests use it to prove a path was or was never fetched);
GET /_farm/state?edition=2 sets the server's state, which apps read (a site whose reports
are replaced or taken down between two crawls).

    start_farm(port=0) -> (base_url, stop)
    python -m crawler.farm.server --port 8080
"""
from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from email.utils import formatdate
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from crawler.farm.apps import FarmRequest, Reply, load_apps

HERE = Path(__file__).resolve().parent
SITES = HERE / "sites"
ATTACHMENT_EXTS = {".pdf", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".zip", ".rar"}
TYPES = {".html": "text/html", ".htm": "text/html", ".shtml": "text/html", ".css": "text/css",
         ".js": "application/javascript", ".json": "application/json", ".txt": "text/plain",
         ".xml": "text/xml", ".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif"}
# every static file claims this date: the sites are generated, their mtimes mean nothing
LAST_MODIFIED = formatdate(1735689600, usegmt=True)  # 2025-01-01


def load_config(sites: Path | None = None) -> dict:
    return json.loads(((sites or SITES) / "farm.json").read_text("utf-8"))


class FarmServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, config: dict, sites: Path | None = None):
        super().__init__(address, FarmHandler)
        self.config = config
        self.sites = sites or SITES  # the static files served (a benchmark serves others)
        self.apps = load_apps()
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.flaky_seen: set[str] = set()
        self.state: dict[str, str] = {}  # set by GET /_farm/state?name=value


class FarmHandler(BaseHTTPRequestHandler):
    server: FarmServer
    protocol_version = "HTTP/1.1"
    server_version = "FarmHTTP/1.0"
    # headers and body go out as two writes: without TCP_NODELAY every request after the
    # first on a kept-alive connection waits ~40 ms for the delayed ACK
    disable_nagle_algorithm = True

    def log_message(self, format, *args) -> None:  # quiet: the request log is kept in memory
        pass

    def do_HEAD(self) -> None:
        self.handle_request(head=True)

    def do_GET(self) -> None:
        self.handle_request(head=False)

    def do_POST(self) -> None:
        self.handle_request(head=False)

    # --------------------------------------------------------------------------------------
    def handle_request(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        cfg = self.server.config
        with self.server.lock:
            if path != "/_farm/requests":
                self.server.requests.append({"method": self.command, "path": self.path,
                                             "user_agent": self.headers.get("User-Agent"),
                                             "referer": self.headers.get("Referer"),
                                             "cookie": self.headers.get("Cookie")})
        if path == "/_farm/requests":
            with self.server.lock:
                body = json.dumps(self.server.requests).encode()
            return self.send_body(200, body, "application/json", head)
        if path == "/_farm/state":
            with self.server.lock:
                self.server.state.update(parse_qsl(urlsplit(self.path).query))
                body = json.dumps(self.server.state).encode()
            return self.send_body(200, body, "application/json", head)
        if path == "/robots.txt":
            lines = ["User-agent: *"] + [f"Disallow: {p}" for p in cfg["robots_disallow"]]
            return self.send_body(200, ("\n".join(lines) + "\n").encode(), "text/plain", head)
        if path in cfg["slow"]:
            time.sleep(float(cfg["slow"][path]))
        if path in cfg["redirects"]:
            return self.send_body(301, b"", "text/html", head,
                                  extra=[("Location", cfg["redirects"][path])])
        if path in cfg["flaky"]:
            with self.server.lock:
                first = path not in self.server.flaky_seen
                self.server.flaky_seen.add(path)
            if first:
                return self.send_body(503, b"<html><body>Service Unavailable</body></html>",
                                      "text/html", head, extra=[("Retry-After", "1")])
        if path in cfg["oversized"]:
            return self.send_oversized(int(cfg["oversized"][path]), head)
        reply = self.ask_apps(path)
        if reply is not None:
            return self.send_body(reply.status, reply.body, reply.content_type, head,
                                  extra=reply.headers)
        file = self.resolve(path)
        if file is None:
            return self.send_not_found(head)
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        validators = [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
        if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-None-Match") is None
                and self.headers.get("If-Modified-Since") == LAST_MODIFIED):
            return self.send_body(304, b"", self.content_type(path, file), head, extra=validators)
        return self.send_body(200, body, self.content_type(path, file), head, extra=validators)

    def ask_apps(self, path: str) -> Reply | None:
        parts = urlsplit(self.path)
        form: dict[str, str] = {}
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        cookies = SimpleCookie()
        try:
            cookies.load(self.headers.get("Cookie") or "")
        except Exception:
            pass
        req = FarmRequest(method=self.command, path=path, query=dict(parse_qsl(parts.query)),
                          headers={k.lower(): v for k, v in self.headers.items()}, form=form,
                          cookies={k: m.value for k, m in cookies.items()},
                          sites=self.server.sites, state=dict(self.server.state))
        for app in self.server.apps:
            reply = app.respond(req)
            if reply is not None:
                return reply
        return None

    def resolve(self, path: str) -> Path | None:
        sites = self.server.sites.resolve()
        candidate = (sites / path.lstrip("/")).resolve()
        if sites not in candidate.parents and candidate != sites:
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_file() or candidate.name == "farm.json":
            return None
        return candidate

    def content_type(self, path: str, file: Path) -> str:
        ext = file.suffix.lower()
        if ext in ATTACHMENT_EXTS:
            return "application/octet-stream"
        ctype = TYPES.get(ext, "application/octet-stream")
        if ctype == "text/html":
            site = path.strip("/").split("/", 1)[0]
            charset = self.server.config["charset"].get(site)
            if charset:
                ctype += f"; charset={charset}"
        return ctype

    def send_body(self, status: int, body: bytes, ctype: str, head: bool,
                  extra: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def send_not_found(self, head: bool) -> None:
        self.send_body(404, "<html><body><h1>404 页面不存在</h1></body></html>".encode("utf-8"),
                       "text/html; charset=utf-8", head)

    def send_oversized(self, size: int, head: bool) -> None:
        """Declare `size` bytes and stream zeros until done or the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if head:
            return
        chunk = b"\0" * 65536
        sent = 0
        try:
            while sent < size:
                n = min(len(chunk), size - sent)
                self.wfile.write(chunk[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def start_farm(port: int = 0, host: str = "127.0.0.1",
               sites: Path | None = None) -> tuple[str, callable]:
    """Serve the farm in a background thread; return (base URL without trailing slash, stop).

    `sites`: another directory of static sites (with its own farm.json) instead of `SITES`."""
    server = FarmServer((host, port), load_config(sites), sites)
    thread = threading.Thread(target=server.serve_forever, name="portal-farm", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    base = f"http://{host}:{server.server_address[1]}"
    stop.server = server  # for tests that want the request log in-process
    return base, stop


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the nianbao portal farm on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    args = parser.parse_args()
    base, stop = start_farm(args.port)
    print(f"portal farm at {base}/  (county: {base}/county/zfxxgknb/  gbk: {base}/gbk/  "
          f"js: {base}/jslist/xxgk/ndbg/  trap: {base}/trap/zfxxgknb/)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop()


if __name__ == "__main__":
    main()
