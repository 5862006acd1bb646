"""A bot-protected portal: `/guarded/...` answers a JavaScript cookie challenge first.

Like the 412 pages of the 瑞数/加速乐-style protections on many government sites: a request
without the cookie `nb_guard=<token>` gets HTTP 412 and a short page whose inline script
computes the token (a string hash seeded with a number in the script: it takes running the
script, not reading a constant), sets `document.cookie` and calls `location.reload()`. With
the right cookie the request falls through to the static files under `sites/guarded/`.

`/guarded/never/...` can never be passed: its script sets a cookie the server does not
accept, reloads once (it marks the attempt in a cookie of its own, so a browser does not
spin forever) and answers 412 again: the crawler has to give up.

The token (`token()`) is fixed for a farm process; tests import it to check a cookie.
"""
from __future__ import annotations

from crawler.farm.apps import FarmRequest, Reply

PREFIX = "/guarded/"
NEVER = "/guarded/never/"
COOKIE = "nb_guard"
SEED = 20240517  # the number in the script the token is computed from


def token(seed: int = SEED) -> str:
    """The challenge answer, as the page's script computes it (a 32-bit djb2-style hash of
    "nianbao" folded with the seed, in base 36)."""
    h = seed & 0xFFFFFFFF
    for _ in range(3):
        for ch in "nianbao":
            h = ((h * 33) ^ ord(ch)) & 0xFFFFFFFF
    return _base36(h)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


# Math.imul keeps the multiplication in 32 bits, as the Python above does with a mask.
_SCRIPT = """<script>
(function () {
  var h = %(seed)d >>> 0, s = "nianbao";
  for (var k = 0; k < 3; k++) {
    for (var i = 0; i < s.length; i++) { h = (Math.imul(h, 33) ^ s.charCodeAt(i)) >>> 0; }
  }
  document.cookie = "%(cookie)s=" + h.toString(36) + "; path=/";
  location.reload();
})();
</script>"""

_NEVER_SCRIPT = """<script>
(function () {
  if (document.cookie.indexOf("nb_never_tried=1") >= 0) {
    document.getElementById("msg").textContent = "验证失败";
    return;
  }
  document.cookie = "nb_never_tried=1; path=/";
  document.cookie = "%(cookie)s=" + Math.random().toString(36).slice(2) + "; path=/";
  location.reload();
})();
</script>"""


def challenge_page(script: str) -> bytes:
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\" /><title></title></head>"
            "<body><p id=\"msg\"></p>" + script + "</body></html>").encode("utf-8")


def respond(req: FarmRequest) -> Reply | None:
    if not req.path.startswith(PREFIX):
        return None
    if req.path.startswith(NEVER):
        return Reply(412, challenge_page(_NEVER_SCRIPT % {"cookie": COOKIE}),
                     headers=[("Cache-Control", "no-store")])
    if req.cookies.get(COOKIE) == token():
        return None  # solved: the static server sends sites/guarded/...
    return Reply(412, challenge_page(_SCRIPT % {"seed": SEED, "cookie": COOKIE}),
                 headers=[("Cache-Control", "no-store")])
