"""Views too big to count: their table pages are served as with `_nocount=1`.

Datasette counts the rows of every table page it shows, within its time limit. A view that
unions the long-form tables (`report_values`: one row per figure of every report, tens of
millions on a national archive) cannot be counted in time: each of its pages would wait out
the whole limit before showing a row. The views named under `plugins: nianbao: uncounted:`
in metadata.yml skip that count (Datasette's own `_nocount` option), unless the request
says `_nocount=0`; filtering, sorting and paging work as before.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode


def without_count(app, database: str, views: set[str]):
    """Wrap an ASGI app: requests for `/<database>/<view>` or `.json` get `_nocount=1`."""
    paths = {f"/{database}/{v}{ext}" for v in views for ext in ("", ".json")}

    async def uncounted_app(scope, receive, send):
        if scope.get("type") == "http" and scope.get("path") in paths:
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                              keep_blank_values=True)
            given = [v for k, v in query if k == "_nocount"]
            query = [(k, v) for k, v in query if k != "_nocount"]
            if given != ["0"]:  # Datasette takes any value, "0" too, as "do not count"
                query.append(("_nocount", "1"))
            scope = {**scope, "query_string": urlencode(query).encode("latin-1")}
        await app(scope, receive, send)

    return uncounted_app
