"""`_bom=1` on any Datasette CSV URL: the file starts with a UTF-8 byte order mark.

Datasette 0.65 writes CSV as UTF-8 without a BOM, and Excel then reads it as the local code
page (mojibake for Chinese). Datasette has no option for it, so this `asgi_wrapper` hook adds
one: a `.csv` request whose query string has `_bom=1` gets the three bytes EF BB BF before the
body (a `Content-Length`, if any, grows by three). Without `_bom` the CSV is Datasette's own,
byte for byte, so scripts reading it are unaffected. The table and query pages' CSV links and
the table's export form ask for it (templates/table.html, query.html).

`archive.datasette_plugin`'s `asgi_wrapper` puts it around Datasette.
"""
from __future__ import annotations

from urllib.parse import parse_qs

BOM = b"\xef\xbb\xbf"


def wants_bom(scope) -> bool:
    """True for an HTTP request for a `.csv` path with `_bom=1` (or on, true) in its query."""
    if scope.get("type") != "http" or not scope.get("path", "").endswith(".csv"):
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(v.lower() in ("1", "on", "true") for v in query.get("_bom", []))


def with_bom(app):
    """Wrap an ASGI app so the CSV responses `wants_bom` names start with the BOM."""

    async def bom_app(scope, receive, send):
        if not wants_bom(scope):
            await app(scope, receive, send)
            return
        state = {"ok": False, "sent": False}

        async def bom_send(message):
            if message["type"] == "http.response.start":
                state["ok"] = message.get("status") == 200
                if state["ok"]:
                    headers = []
                    for name, value in message.get("headers", []):
                        if name.lower() == b"content-length":
                            value = str(int(value) + len(BOM)).encode("latin-1")
                        headers.append((name, value))
                    message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and state["ok"] and not state["sent"]:
                state["sent"] = True
                message = {**message, "body": BOM + message.get("body", b"")}
            await send(message)

        await app(scope, receive, bom_send)

    return bom_app
