"""The pagination trap: `/trap/zfxxgknb/index_<n>.html` exists for every n, each page linking
to the next (createPageHTML and 下一页), none holding a report. A crawl must stop at its cap."""
from __future__ import annotations

import re

from crawler.farm.apps import FarmRequest, Reply

PREFIX = "/trap/zfxxgknb/"
_PAGE = re.compile(re.escape(PREFIX) + r"(?:index(?:_(\d+))?\.html)?")


def page(n: int) -> bytes:
    nxt = f"index_{n + 1}.html"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>往年年报 第{n + 1}页_陷阱县人民政府</title></head>
<body><div class="nav"><a href="/trap/">首页</a> &gt; <span>往年年报</span></div>
<ul class="list"><li>第{n + 1}页：本页暂无信息</li></ul>
<div class="page"><script>createPageHTML(100000, {n}, "index", "html");</script>
<a href="{nxt}">下一页</a></div></body></html>
""".encode("utf-8")


def respond(req: FarmRequest) -> Reply | None:
    if not req.path.startswith(PREFIX):
        return None
    m = _PAGE.fullmatch(req.path)
    if not m:
        return Reply(404, "<html><body>404</body></html>".encode())
    return Reply(200, page(int(m.group(1) or 0)))
