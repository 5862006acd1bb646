"""The gkmlpt list API of the `gkmlpt-site/` demo (Guangdong's 政府信息公开目录平台).

    GET /gkmlpt-site/gkmlpt/api/all/{ID}?page=N&sid=SID

answers page N (from 1) of category ID from `sites/gkmlpt-site/_articles_{ID}.json` (written
by tests/farm/site_gkmlpt.py: the site's sid, the page size, the category and its articles
with site paths), as the platform does: `{"classify", "total", "offset", "articles"}`, each
article's `url` absolute on the host the request named (the farm's port varies). A wrong or
missing sid or an unknown category is a 404 with a JSON error; a page past the last one is an
empty `articles` list. The data files themselves are not served.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from crawler.farm.apps import FarmRequest, Reply

PREFIX = "/gkmlpt-site/"
SITE = "gkmlpt-site"
_API = re.compile(re.escape(PREFIX) + r"gkmlpt/api/all/(\d{1,12})/?")
JSON_TYPE = "application/json; charset=utf-8"


def _json(status: int, value) -> Reply:
    return Reply(status, json.dumps(value, ensure_ascii=False).encode("utf-8"), JSON_TYPE)


def _page(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) > 0 else 1


def respond(req: FarmRequest) -> Reply | None:
    if not req.path.startswith(PREFIX):
        return None
    if req.path[len(PREFIX):].startswith("_"):  # the data files are not part of the site
        return Reply(404, "<html><body>404</body></html>".encode())
    if not req.path.startswith(PREFIX + "gkmlpt/api/"):
        return None  # the static pages
    m = _API.fullmatch(req.path)
    data_file = Path(req.sites) / SITE / f"_articles_{m.group(1)}.json" if m else None
    if data_file is None or not data_file.is_file():
        return _json(404, {"code": 404, "msg": "栏目不存在"})
    data = json.loads(data_file.read_text("utf-8"))
    if req.query.get("sid") != data["sid"]:
        return _json(404, {"code": 404, "msg": "站点不存在"})
    size, page = int(data["page_size"]), _page(req.query.get("page"))
    host = req.headers.get("host") or "127.0.0.1"
    articles = []
    for a in data["articles"][(page - 1) * size:page * size]:
        article = {k: v for k, v in a.items() if k != "path"}
        article["url"] = f"http://{host}{a['path']}"
        articles.append(article)
    return _json(200, {"classify": data["classify"], "total": len(data["articles"]),
                       "offset": (page - 1) * size, "articles": articles})
