"""The Hanweb (大汉 jcms/jpaas) demo site's dynamic parts, under `/hanweb/`.

- `/hanweb/module/web/jpage/dataproxy.jsp?startrecord=S&endrecord=E&perpage=P`: the list
  records S..E (1-based, inclusive) of the column named by `columnid` (query string or POSTed
  form, as the jpage pager sends it), as Hanweb's XML `<datastore>` with `<totalrecord>`.
  Records come from `sites/hanweb/_records_<columnid>.json` (written by tests/farm/
  site_hanweb.py: `{"total": n, "records": [<li> fragment, ...]}`); an unknown column answers
  an empty datastore, malformed numbers 400.
- `/hanweb/module/download/downfile.jsp?classid=0&filename=NAME`: the file
  `sites/hanweb/_files/NAME` as application/octet-stream with Content-Disposition, the way
  Hanweb serves attachments (the URL itself has no file extension in its path).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from crawler.farm.apps import FarmRequest, Reply

PREFIX = "/hanweb/"
DATAPROXY = "/hanweb/module/web/jpage/dataproxy.jsp"
DOWNFILE = "/hanweb/module/download/downfile.jsp"
MAX_WINDOW = 1000  # records per answer at most, as real servers cap a group


def load_column(sites: Path, columnid: str) -> dict | None:
    if not re.fullmatch(r"\d{1,12}", columnid or ""):
        return None
    path = Path(sites) / "hanweb" / f"_records_{columnid}.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def datastore(records: list[str], total: int, perpage: int) -> bytes:
    pages = (total + perpage - 1) // perpage if perpage > 0 else 0
    rows = "\n".join(f"<record><![CDATA[{r}]]></record>" for r in records)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
            f"<totalrecord>{total}</totalrecord>\n<totalpage>{pages}</totalpage>\n"
            f"<recordset>\n{rows}\n</recordset>\n</datastore>\n").encode("utf-8")


def dataproxy(req: FarmRequest) -> Reply:
    values = {**req.query, **req.form}
    try:
        start = int(values.get("startrecord", "1"))
        end = int(values.get("endrecord", str(start + 44)))
        perpage = int(values.get("perpage", "15"))
    except ValueError:
        return Reply(400, b"<html><body>400 bad request</body></html>")
    if start < 1 or end < start or perpage < 1:
        return Reply(400, b"<html><body>400 bad request</body></html>")
    column = load_column(req.sites, values.get("columnid", ""))
    if column is None:
        return Reply(200, datastore([], 0, perpage), "text/xml;charset=UTF-8")
    end = min(end, start + MAX_WINDOW - 1)
    records = column["records"][start - 1:end]
    return Reply(200, datastore(records, int(column["total"]), perpage), "text/xml;charset=UTF-8")


def downfile(req: FarmRequest) -> Reply:
    name = req.query.get("filename", "")
    file = Path(req.sites) / "hanweb" / "_files" / name
    if not re.fullmatch(r"[\w-]{1,64}\.[A-Za-z0-9]{1,5}", name) or not file.is_file():
        return Reply(404, "<html><body><h1>文件不存在</h1></body></html>".encode("utf-8"))
    return Reply(200, file.read_bytes(), "application/octet-stream",
                 [("Content-Disposition", f'attachment; filename="{name}"')])


def respond(req: FarmRequest) -> Reply | None:
    if not req.path.startswith(PREFIX):
        return None
    if req.path == DATAPROXY:
        return dataproxy(req)
    if req.path == DOWNFILE:
        return downfile(req)
    return None
