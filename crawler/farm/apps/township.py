"""township/: the column `list.jsp?page=N` (its pages are `list_page<N>.html` in the site)
and a deleted report whose URL now redirects (302) to the list, as portals do."""
from __future__ import annotations

from crawler.farm.apps import FarmRequest, Reply

PREFIX = "/township/zwgk/fdzdgknr/zfxxgknb/"
DELETED = PREFIX + "content/post_2022.html"


def respond(req: FarmRequest) -> Reply | None:
    if req.path == DELETED:
        return Reply(302, b"", headers=[("Location", PREFIX + "list.jsp")])
    if req.path != PREFIX + "list.jsp":
        return None
    page = req.query.get("page", "1")
    file = req.sites / PREFIX.lstrip("/") / f"list_page{page}.html"
    if not page.isdigit() or not file.is_file():
        return Reply(404, "<html><body>404 页面不存在</body></html>".encode("utf-8"))
    return Reply(200, file.read_bytes())
