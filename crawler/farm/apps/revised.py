"""revised/: a portal whose reports change between crawls, as offices do change them.

The site has editions, `sites/revised/edition<N>/`, and the server's state says which one it
is serving (`GET /_farm/state?edition=2`; the first by default). Between editions one report
is replaced by a different file under the same URL, one is taken down (404) and one now
redirects (302) to the list; the list page itself still links all three. Static files get
an ETag of their bytes and answer a matching If-None-Match with 304, like the rest of the
farm.
"""
from __future__ import annotations

import hashlib
import json

from crawler.farm.apps import FarmRequest, Reply

PREFIX = "/revised/"
_ATTACHMENTS = (".pdf", ".doc", ".docx", ".wps")


def respond(req: FarmRequest) -> Reply | None:
    if not req.path.startswith(PREFIX):
        return None
    edition = req.sites / "revised" / f"edition{req.state.get('edition', '1')}"
    rest = req.path[len(PREFIX):]
    redirects = json.loads((edition / "_redirects.json").read_text("utf-8"))
    if PREFIX + rest in redirects:
        return Reply(302, b"", headers=[("Location", redirects[PREFIX + rest])])
    file = (edition / rest).resolve()
    if file.is_dir():
        file = file / "index.html"
    if edition.resolve() not in file.parents or not file.is_file() or file.name.startswith("_"):
        return Reply(404, "<html><body>404 页面不存在</body></html>".encode("utf-8"))
    body = file.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    if req.headers.get("if-none-match") == etag:
        return Reply(304, b"", headers=[("ETag", etag)])
    ctype = ("application/octet-stream" if file.suffix in _ATTACHMENTS
             else "text/html; charset=utf-8")
    return Reply(200, body, ctype, headers=[("ETag", etag)])
