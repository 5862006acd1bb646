"""JavaScript cookie challenges: solved once per host in the browser, then reused plainly.

Bot-protected government sites answer a plain request with HTTP 412 (sometimes 200, 202,
403 or 503) and a short page whose inline script computes a cookie (`document.cookie = ...`)
and reloads (`location.reload()`, `location.href = ...`); with that cookie the same URL
gives the real page. `ChallengeMiddleware` (a downloader middleware) handles them:

1. `process_response`, plain response: `is_challenge()` says whether it is such a page. If
   so, the request is re-issued through scrapy-playwright (system Chromium) with meta
   `playwright=True`, `playwright_include_page=True` (so the middleware can read the browser
   context's cookies), `playwright_context="challenge"`, a page method (`settle_challenge`)
   that waits until the script has navigated to a page that is no longer a challenge (at
   most `NIANBAO_CHALLENGE_WAIT` seconds) and returns its HTTP status, `dont_filter=True`
   and `spiders.meta.CHALLENGE` = the reason ("js-cookie (HTTP 412)"). Stat:
   `nianbao/challenges`. While one request's challenge is being solved in the browser,
   other requests to that host that meet the challenge wait for that solve (no second
   page; `nianbao/challenges_joined`, bounded by NIANBAO_CHALLENGE_WAIT + DOWNLOAD_TIMEOUT).
   A request challenged although the host earned cookies after it was sent is re-sent
   plainly with them, once (`nianbao/challenges_resent`).
2. `process_response`, the rendered response of such a request: the page is taken out of
   meta (a Page is not serialisable) and ALWAYS closed; the context's cookies for the URL
   are stored for the host (`nianbao/challenges_solved`) and the response goes on with the
   final document's status (scrapy-playwright reports the status of `page.goto`, i.e. the
   first navigation: the 412; the archive middleware, which sees the response first, can
   read the final one with `rendered_status(request)`). If the rendered page is still a
   challenge, the middleware gives up: the response goes on as received, stat
   `nianbao/challenges_failed`; the request is never sent to the browser twice by this
   middleware, so there is no loop. `process_exception` closes the page of a failed
   browser request the same way.
3. `process_request`, plain requests to a host with earned cookies: the cookies are added
   to `request.cookies`, which Scrapy's CookiesMiddleware (priority 700) merges into its
   jar and sends in the Cookie header (it replaces any Cookie header set before it, hence
   `request.cookies`, not a header; stat `nianbao/challenge_cookies_sent`). With
   COOKIES_ENABLED off the header is set directly.
   Rendered requests the spider makes itself (render: auto) to such a host get the cookies
   added to their browser context by a page init callback (`add_earned_cookies`), since
   Playwright drops a Cookie header passed through a route (see below).

Priority 580: `DOWNLOADER_MIDDLEWARES = {"crawler.challenge.ChallengeMiddleware": 580}`.
- process_request runs in ascending order: 580 is before CookiesMiddleware (700), which
  must see the `request.cookies` we add.
- process_response runs in descending order: the archive middleware (950) sees every raw
  response first, the 412 challenge included, and the rendered one after it; Cookies (700)
  keeps any Set-Cookie of the challenge; HttpCompression (590) has decoded the body before
  we read it; and we run before RetryAfterMiddleware (550), so a 503 challenge goes to the
  browser instead of being retried plainly (a failed one is still retried as usual).

The browser: one dedicated context, "challenge", bounded by PLAYWRIGHT_MAX_PAGES_PER_CONTEXT
like the others. Its pages are closed as soon as their cookies are read, and the context
itself is closed when no challenge request is in flight, so it holds no state between
solves (the next challenge opens a fresh one). Cookies of one host are never sent to
another. When the scrapy-playwright download handler is not configured (render "never"),
a challenge is only marked (meta CHALLENGE) and counted as failed.

What scrapy-playwright does with cookies (0.0.48, `scrapy_playwright/headers.py`,
`use_scrapy_headers`): for navigation requests the browser's headers are replaced by the
Scrapy request's headers; cookies are not handled by the plugin. Playwright itself removes a
Cookie header given to `route.continue_` and lets the browser send its own cookie store
(microsoft/playwright#35168, #41435; checked with Chromium 156): so the cookie the
challenge script sets reaches the server on the reload, and Scrapy's cookies never reach
the browser through headers. Cookies earned in the browser do not reach Scrapy either
(they are set by script, not Set-Cookie): hence the per-host store here.

Settings: NIANBAO_CHALLENGE_WAIT (seconds the browser waits for the script to lead to the
real page; default 10).
"""
from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit

from spiders.config import NianbaoConfig
from spiders.meta import CHALLENGE

logger = logging.getLogger(__name__)

CONTEXT = "challenge"                 # the scrapy-playwright context challenge pages open in
MAX_CHALLENGE_BYTES = 8 * 1024        # a challenge page of the 200/403/503 kind is smaller
MAX_VISIBLE_CHARS = 200               # ... and shows (almost) no text
SOFT_STATUSES = (200, 202, 403, 503)  # statuses a challenge page may come with besides 412
DEFAULT_WAIT = 10.0

# private meta keys (plain data): the host cookie generation a plain request was sent with,
# that it was re-sent with newer cookies, that a browser request is in flight, and the
# cookies a rendered request's context is given
_SENT = "nianbao_challenge_generation"
_RESENT = "nianbao_challenge_resent"
_IN_FLIGHT = "nianbao_challenge_in_flight"
_EARNED = "nianbao_challenge_cookies"

_SCRIPT = re.compile(rb"<script\b[^>]*>(.*?)</script\s*>", re.I | re.S)
_ANY_SCRIPT = re.compile(rb"<script\b", re.I)
_SETS_COOKIE = re.compile(rb"""document\s*(?:\.\s*cookie|\[\s*["']cookie["']\s*\])\s*=(?!=)""")
_NAVIGATES = re.compile(
    rb"""location\s*\.\s*(?:reload|replace|assign)\s*\("""
    rb"""|location(?:\s*\.\s*href)?\s*=(?!=)"""
    rb"""|history\s*\.\s*go\s*\(""", re.I)
_META_REFRESH = re.compile(rb"""<meta[^>]+http-equiv\s*=\s*["']?refresh""", re.I)
_INVISIBLE = re.compile(rb"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_TAG = re.compile(rb"<[^>]*>")
_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"Rar!", b"\x89PNG", b"GIF8",
                 b"\xff\xd8\xff", b"{\\rtf")
_NOT_HTML_TYPES = ("pdf", "octet-stream", "image/", "zip", "msword", "officedocument",
                   "ms-excel", "json", "xml")


def _header(headers, name: str) -> str:
    if not headers:
        return ""
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None and hasattr(headers, "items"):
        for key, val in headers.items():
            key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
            if key.lower() == name.lower():
                value = val
                break
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return (value or "").lower()


def _visible_chars(body: bytes) -> int:
    text = _TAG.sub(b" ", _INVISIBLE.sub(b" ", body))
    text = re.sub(rb"&[#\w]+;", b" ", text)
    return len(re.sub(r"\s+", "", text.decode("utf-8", "replace")))


def is_challenge(status: int, headers, body: bytes | None) -> str | None:
    """The reason, e.g. "js-cookie (HTTP 412)", when a response is a JavaScript cookie
    challenge; None otherwise.

    HTTP 412 with an HTML body carrying a script is one (portal WAFs use 412 for exactly
    this; a GET never meets a real precondition failure). With 200/202/403/503 the page must
    be short (< MAX_CHALLENGE_BYTES), have an inline script that sets `document.cookie`
    and reloads or navigates (or a meta refresh), and show almost no text: a normal page
    that happens to set a cookie is longer or has content. Other statuses, non-HTML
    content types and binary bodies (PDF, Office, images) are never challenges.
    """
    if status != 412 and status not in SOFT_STATUSES:
        return None
    body = body or b""
    head = body[:16].lstrip()
    if any(head.startswith(magic) for magic in _BINARY_MAGIC):
        return None
    ctype = _header(headers, "Content-Type")
    if ctype and any(t in ctype for t in _NOT_HTML_TYPES):
        return None
    if status == 412:
        return f"js-cookie (HTTP {status})" if _ANY_SCRIPT.search(body) else None
    if len(body) >= MAX_CHALLENGE_BYTES:
        return None
    scripts = b"\n".join(m.group(1) for m in _SCRIPT.finditer(body))
    if not _SETS_COOKIE.search(scripts):
        return None
    if not (_NAVIGATES.search(scripts) or _META_REFRESH.search(body)):
        return None
    if _visible_chars(body) >= MAX_VISIBLE_CHARS:
        return None
    return f"js-cookie (HTTP {status})"


_STATUS_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return nav && nav.responseStatus ? nav.responseStatus : null;
}"""


async def settle_challenge(page, wait: float = DEFAULT_WAIT) -> int | None:
    """A page method for challenge requests: wait (at most `wait` seconds) until the page's
    script has led to a document that is not a challenge; return that document's HTTP
    status (from the Navigation Timing entry), or the last one seen when time runs out."""
    from playwright.async_api import Error as PlaywrightError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    status = None
    while True:
        remaining = deadline - loop.time()
        try:
            await page.wait_for_load_state("load", timeout=max(remaining, 0.5) * 1000)
            status = await page.evaluate(_STATUS_JS)
            html = await page.content()
        except PlaywrightError:  # the document went away mid-read: a navigation is on
            html = None
        if html is not None and not is_challenge(status or 200, None, html.encode("utf-8")):
            return status
        if loop.time() >= deadline:
            return status
        await asyncio.sleep(min(0.25, max(deadline - loop.time(), 0)))


def rendered_status(request) -> int | None:
    """The HTTP status of the document a challenge request's page ended on, once the
    browser has answered (None before, or for other requests). The response's own status
    is that of the first navigation (the challenge's 412): the archive middleware, which
    sees the rendered response before this middleware, can record this one instead."""
    for pm in request.meta.get("playwright_page_methods") or ():
        if getattr(pm, "method", None) is settle_challenge:
            result = getattr(pm, "result", None)
            return result if isinstance(result, int) else None
    return None


async def add_earned_cookies(page, request) -> None:
    """A `playwright_page_init_callback`: put the cookies the host earned into the page's
    context before it navigates (a Cookie header would be dropped by Playwright)."""
    cookies = request.meta.get(_EARNED)
    if cookies:
        await page.context.add_cookies(cookies)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class ChallengeMiddleware:
    """Sends JavaScript cookie challenges to the browser once per host and reuses the
    cookies it earns for the plain requests that follow (see the module docstring)."""

    def __init__(self, crawler, *, wait: float = DEFAULT_WAIT, browser: bool = True,
                 cookies_enabled: bool = True, join_timeout: float = 180.0):
        self.crawler = crawler
        self.stats = crawler.stats
        self.wait = wait
        self.join_timeout = join_timeout
        self.browser = browser
        self.cookies_enabled = cookies_enabled
        self.cookies: dict[str, dict[str, dict]] = {}  # host -> cookie name -> cookie
        self.generation: dict[str, int] = {}          # host -> times its cookies were earned
        self.in_flight = 0                             # browser requests not yet answered
        self.solving: dict[str, asyncio.Event] = {}   # host -> set when its solve is done

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        config = NianbaoConfig.from_settings(s)
        handlers = s.getdict("DOWNLOAD_HANDLERS")
        # --render never: no browser at all, so a challenge is recorded, not solved
        browser = config.render != "never" and any(
            "scrapy_playwright" in str(handlers.get(scheme) or "") for scheme in ("http", "https"))
        wait = config.challenge_wait
        if wait <= 0:
            raise ValueError(f"NIANBAO_CHALLENGE_WAIT must be positive, not {wait}")
        return cls(crawler, wait=wait, browser=browser,
                   cookies_enabled=s.getbool("COOKIES_ENABLED"),
                   join_timeout=wait + s.getfloat("DOWNLOAD_TIMEOUT", 180.0))

    # -- plain requests: send the host's earned cookies ------------------------------------
    def process_request(self, request):
        meta = request.meta
        if meta.get("playwright"):
            if meta.get(CHALLENGE):
                if not meta.get(_IN_FLIGHT):
                    meta[_IN_FLIGHT] = True
                    self.in_flight += 1
            else:
                self._seed_browser(request)
            return None
        host = _host(request.url)
        jar = self.cookies.get(host)
        meta[_SENT] = self.generation.get(host, 0)
        if not jar or meta.get("dont_merge_cookies"):
            return None
        if self.cookies_enabled:
            self._add_request_cookies(request, jar)
        else:
            pairs = "; ".join(f"{c['name']}={c['value']}" for c in jar.values())
            request.headers["Cookie"] = pairs
        self.stats.inc_value("nianbao/challenge_cookies_sent")
        return None

    @staticmethod
    def _add_request_cookies(request, jar: dict[str, dict]) -> None:
        # the list form keeps each cookie's path (a {name: value} entry would get the
        # request's directory as its path, and the jar would then hold one per directory)
        cookies = request.cookies
        if isinstance(cookies, dict):
            cookies = [{"name": k, "value": v} for k, v in cookies.items()]
        else:
            cookies = list(cookies or [])
        request.cookies = cookies
        have = {c.get("name") for c in cookies if isinstance(c, dict)}
        for name, cookie in jar.items():
            if name not in have:
                cookies.append(dict(cookie))

    def _seed_browser(self, request) -> None:
        """A rendered request of the spider's own to a host with earned cookies: have them
        put in its context before the page navigates."""
        host = _host(request.url)
        jar = self.cookies.get(host)
        meta = request.meta
        if not jar or meta.get("playwright_page_init_callback"):
            return
        scheme = urlsplit(request.url).scheme
        origin = f"{scheme}://{urlsplit(request.url).netloc}/"
        meta[_EARNED] = [{"name": c["name"], "value": c["value"], "url": origin}
                         for c in jar.values()]
        meta["playwright_page_init_callback"] = "crawler.challenge.add_earned_cookies"

    # -- responses ---------------------------------------------------------------------------
    async def process_response(self, request, response):
        meta = request.meta
        if meta.get("playwright"):
            if meta.get(CHALLENGE):
                return await self._rendered(request, response)
            return response
        reason = is_challenge(response.status, response.headers, response.body)
        if reason is None:
            return response
        host = _host(request.url)
        if meta.get(CHALLENGE):  # came back plainly from a browser attempt: stop here
            self.stats.inc_value("nianbao/challenges_failed")
            return response
        if not self.browser:
            meta[CHALLENGE] = reason
            self.stats.inc_value("nianbao/challenges_failed")
            logger.warning("%s at %s: the browser is off (render: never), not solved",
                           reason, request.url)
            return response
        if host in self.solving and not meta.get(_RESENT):
            # the host's challenge is being solved for another request: wait for it (the
            # wait holds no download slot) rather than open a second browser page
            self.stats.inc_value("nianbao/challenges_joined")
            try:
                await asyncio.wait_for(self.solving[host].wait(), self.join_timeout)
            except asyncio.TimeoutError:
                pass
        if self.generation.get(host, 0) > meta.get(_SENT, 0) and not meta.get(_RESENT):
            self.stats.inc_value("nianbao/challenges_resent")
            return request.replace(dont_filter=True, meta={**meta, _RESENT: True})
        self.stats.inc_value("nianbao/challenges")
        logger.info("%s at %s: solving it in the browser", reason, request.url)
        self.solving.setdefault(host, asyncio.Event())
        return self._browser_request(request, reason)

    def _solved(self, request) -> None:
        """A browser attempt for this request's host is over: release who waits for it."""
        event = self.solving.pop(_host(request.url), None)
        if event is not None:
            event.set()

    def _browser_request(self, request, reason: str):
        from scrapy_playwright.page import PageMethod

        meta = {k: v for k, v in request.meta.items()
                if k not in (_SENT, _RESENT, _IN_FLIGHT, "playwright_page")}
        meta.update({
            "playwright": True,
            "playwright_include_page": True,
            "playwright_context": CONTEXT,
            "playwright_page_methods": [PageMethod(settle_challenge, self.wait)],
            CHALLENGE: reason,
        })
        return request.replace(meta=meta, dont_filter=True)

    async def _rendered(self, request, response):
        meta = request.meta
        page = meta.pop("playwright_page", None)
        if meta.pop(_IN_FLIGHT, False):
            self.in_flight = max(0, self.in_flight - 1)
        status = rendered_status(request) or response.status
        host = _host(request.url)
        cookies = []
        try:
            if page is not None:
                cookies = await page.context.cookies([page.url or response.url])
        except Exception:  # a crashed or closed page: nothing to read
            logger.warning("could not read the browser's cookies for %s", request.url,
                           exc_info=True)
        finally:
            await self._close(page)
        reason = is_challenge(status, response.headers, response.body)
        if reason is not None or not cookies:
            self._solved(request)
            self.stats.inc_value("nianbao/challenges_failed")
            logger.warning("%s at %s not solved in the browser (%s): giving up", meta[CHALLENGE],
                           request.url, reason or "no cookies earned")
            return response
        self.cookies[host] = {c["name"]: self._scrapy_cookie(c) for c in cookies}
        self.generation[host] = self.generation.get(host, 0) + 1
        self._solved(request)
        self.stats.inc_value("nianbao/challenges_solved")
        logger.info("challenge at %s solved in the browser: cookies %s now sent to %s",
                    request.url, ", ".join(sorted(self.cookies[host])), host)
        if status != response.status:
            response = response.replace(status=status)
        return response

    async def process_exception(self, request, exception):
        meta = request.meta
        if meta.get("playwright") and meta.get(CHALLENGE):
            if meta.pop(_IN_FLIGHT, False):
                self.in_flight = max(0, self.in_flight - 1)
            await self._close(meta.pop("playwright_page", None))
            self._solved(request)
            self.stats.inc_value("nianbao/challenges_failed")
            logger.warning("%s at %s: the browser failed: %s", meta[CHALLENGE], request.url,
                           exception)
        return None

    @staticmethod
    def _scrapy_cookie(c: dict) -> dict:
        """A Playwright cookie as a `Request.cookies` entry (host-only unless the browser
        holds it for a whole domain)."""
        out = {"name": c["name"], "value": c["value"], "path": c.get("path") or "/"}
        if str(c.get("domain", "")).startswith("."):
            out["domain"] = c["domain"]
        if c.get("secure"):
            out["secure"] = True
        return out

    # -- pages and the context -------------------------------------------------------------
    async def _close(self, page) -> None:
        """Close a challenge page, and its context when no challenge is in flight."""
        if page is None:
            return
        context = getattr(page, "context", None)
        try:
            if not page.is_closed():
                await page.close()
        except Exception:
            logger.debug("closing a challenge page failed", exc_info=True)
        if self.in_flight == 0 and context is not None:
            try:
                await context.close()
            except Exception:
                logger.debug("closing the challenge context failed", exc_info=True)
