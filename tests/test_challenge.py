"""JavaScript cookie challenges (crawler/challenge.py, farm app crawler/farm/apps/challenge.py).

Unit tests of `is_challenge`, then real crawls of the farm's /guarded/ site with Chromium:
Twisted's reactor runs once per process, so each crawl is a small script in a subprocess
(CRAWL_SCRIPT below) and the farm runs in this process, its request log telling what was
actually sent.
"""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from crawler.challenge import MAX_CHALLENGE_BYTES, is_challenge
from crawler.farm.apps.challenge import COOKIE, token
from crawler.farm.server import SITES, load_config, start_farm

REPO = Path(__file__).resolve().parents[1]
HTML = {"Content-Type": "text/html; charset=utf-8"}

CHALLENGE_412 = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head>
<body><script>var t = (20240517 * 7 % 99991).toString(36);
document.cookie = "nb_guard=" + t + "; path=/"; location.reload();</script></body></html>"""

# the 200 kind (jsl-style): obfuscated assignment, navigation by location.href
CHALLENGE_200 = b"""<html><body><script>document.cookie=('_')+('_')+('jsl_cl')+('ear')+
('ance=1700000000.123|0|')+(function(){return 'a9f'})()+';max-age=3600;path=/';
location.href=location.pathname+location.search</script></body></html>"""


def long_page_with_cookie_script() -> bytes:
    """A portal article page that also sets a cookie by script (visit counters do)."""
    paragraph = "<p>本年度，我县认真贯彻落实《中华人民共和国政府信息公开条例》，主动公开政府信息。</p>\n"
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>2023年政府信息公开工作年度报告"
            "</title><script>document.cookie = 'visited=1; path=/'; "
            "if (!window.x) { location.href = '#top'; }</script></head><body>"
            + paragraph * 80 + "</body></html>").encode("utf-8")


# -- is_challenge ------------------------------------------------------------------------
def test_412_script_page_is_a_challenge():
    assert is_challenge(412, HTML, CHALLENGE_412) == "js-cookie (HTTP 412)"


def test_200_script_only_page_is_a_challenge():
    assert is_challenge(200, HTML, CHALLENGE_200) == "js-cookie (HTTP 200)"
    assert is_challenge(503, {}, CHALLENGE_200) == "js-cookie (HTTP 503)"


def test_farm_challenge_pages_are_challenges():
    from crawler.farm.apps.challenge import NEVER, FarmRequest, respond

    for path in ("/guarded/", NEVER):
        reply = respond(FarmRequest("GET", path, {}, {}, {}, {}, SITES))
        assert reply.status == 412 and len(reply.body) < MAX_CHALLENGE_BYTES
        assert is_challenge(reply.status, {"Content-Type": reply.content_type}, reply.body)
        assert token().encode() not in reply.body  # the script must be run, not read


def test_normal_long_page_with_a_cookie_script_is_not():
    body = long_page_with_cookie_script()
    assert len(body) > MAX_CHALLENGE_BYTES
    assert is_challenge(200, HTML, body) is None


def test_short_page_with_content_and_a_cookie_script_is_not():
    body = ("<html><head><script>document.cookie='lang=zh';location.replace('/m/');</script>"
            "</head><body>" + "<p>政府信息公开工作年度报告全文如下，请查阅各项统计数据与说明。</p>" * 8
            + "</body></html>").encode("utf-8")
    assert len(body) < MAX_CHALLENGE_BYTES
    assert is_challenge(200, HTML, body) is None


def test_cookie_script_without_navigation_is_not():
    assert is_challenge(200, HTML, b"<html><script>document.cookie='a=1'</script></html>") is None
    # a comparison is not an assignment
    assert is_challenge(200, HTML, b"<script>if (document.cookie == '') location.reload()"
                                   b"</script>") is None


def test_404_page_is_not():
    body = b"<html><body><h1>404</h1><script>document.cookie='a=1';location.href='/'</script>"
    assert is_challenge(404, HTML, body) is None
    assert is_challenge(404, HTML, "<html><body><h1>404 页面不存在</h1></body></html>".encode()) is None


def test_pdf_is_not(examples_dir):
    pdf = (examples_dir / "real_huaian_2024.pdf").read_bytes()
    assert is_challenge(200, {"Content-Type": "application/pdf"}, pdf) is None
    assert is_challenge(412, {"Content-Type": "application/octet-stream"}, pdf) is None
    assert is_challenge(200, {}, pdf[:4000]) is None


def test_412_without_a_script_is_not():
    assert is_challenge(412, HTML, b"") is None
    assert is_challenge(412, HTML, b"<html><body>Precondition Failed</body></html>") is None


def test_farm_guarded_site_is_recorded():
    config = load_config()
    docs = [d for d in config["documents"] if d["portal"] == "demo-guarded"]
    assert {d["kind"] for d in docs} == {"page", "attachment"} and len(docs) == 4
    for d in docs:
        assert (SITES / d["path"].lstrip("/")).is_file()
    assert "/guarded/" in config["list_pages"]


# -- the middleware without a browser -------------------------------------------------
PW_HANDLERS = {"http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
               "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"}


def middleware(**settings):
    from scrapy.utils.test import get_crawler

    from crawler.challenge import ChallengeMiddleware

    crawler = get_crawler(settings_dict=settings)
    return ChallengeMiddleware.from_crawler(crawler), crawler


def test_a_plain_challenge_goes_to_the_browser_once():
    import asyncio

    from scrapy.http import HtmlResponse, Request

    from crawler.challenge import CONTEXT, rendered_status, settle_challenge
    from spiders.meta import CHALLENGE

    mw, crawler = middleware(DOWNLOAD_HANDLERS=PW_HANDLERS)
    request = Request("http://portal.example.gov.cn/xxgk/", meta={"nianbao_portal": "p"})
    mw.process_request(request)
    response = HtmlResponse(request.url, status=412, body=CHALLENGE_412, request=request)
    again = asyncio.run(mw.process_response(request, response))
    assert isinstance(again, Request) and again.url == request.url and again.dont_filter
    meta = again.meta
    assert meta["playwright"] and meta["playwright_include_page"]
    assert meta["playwright_context"] == CONTEXT and meta["nianbao_portal"] == "p"
    assert meta[CHALLENGE] == "js-cookie (HTTP 412)"
    (method,) = meta["playwright_page_methods"]
    assert method.method is settle_challenge and rendered_status(again) is None
    assert crawler.stats.get_value("nianbao/challenges") == 1
    # a plain response that is no challenge passes untouched
    ok = HtmlResponse(request.url, status=200, body=long_page_with_cookie_script(),
                      request=request)
    assert asyncio.run(mw.process_response(request, ok)) is ok


def test_earned_cookies_go_to_that_host_only_through_the_cookie_jar():
    from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
    from scrapy.http import Request

    mw, _ = middleware(DOWNLOAD_HANDLERS=PW_HANDLERS)
    mw.cookies["www.example.gov.cn"] = {"nb_guard": {"name": "nb_guard", "value": "t0k",
                                                      "path": "/"}}
    mw.generation["www.example.gov.cn"] = 1
    jar = CookiesMiddleware()
    sent = []
    for url, cookies in [("http://www.example.gov.cn/a/b/index.html", None),
                         ("http://www.example.gov.cn/a/b/c/t1.html", {"lang": "zh"}),
                         ("http://www.example.gov.cn/x.html", None),
                         ("http://other.example.gov.cn/a/", None)]:
        request = Request(url, cookies=cookies)
        assert mw.process_request(request) is None
        jar.process_request(request)
        sent.append(request.headers.get("Cookie"))
    assert sent == [b"nb_guard=t0k", b"lang=zh; nb_guard=t0k", b"nb_guard=t0k", None]


def test_without_the_browser_a_challenge_is_marked_and_given_up():
    import asyncio

    from scrapy.http import HtmlResponse, Request

    from spiders.meta import CHALLENGE

    mw, crawler = middleware()  # no scrapy-playwright handler: render "never"
    request = Request("http://portal.example.gov.cn/")
    response = HtmlResponse(request.url, status=412, body=CHALLENGE_412, request=request)
    assert asyncio.run(mw.process_response(request, response)) is response
    assert request.meta[CHALLENGE] == "js-cookie (HTTP 412)"
    assert crawler.stats.get_value("nianbao/challenges_failed") == 1
    assert crawler.stats.get_value("nianbao/challenges") is None


# -- real crawls -------------------------------------------------------------------------
CRAWL_SCRIPT = r'''
"""A tiny crawl of the farm's /guarded/ site: plain requests, ChallengeMiddleware on."""
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from crawler.settings import CHROMIUM_ARGS, chromium_path
from spiders.meta import CHALLENGE

base, out_path, wait = sys.argv[1], sys.argv[2], float(sys.argv[3])
concurrency = int(sys.argv[6])
starts, follow = json.loads(sys.argv[4]), json.loads(sys.argv[5])
raw, seen = [], []


class RawLog:
    """Where the archive middleware sits (950): every response as received."""
    def process_response(self, request, response):
        raw.append({"path": response.url[len(base):], "status": response.status,
                    "playwright": bool(request.meta.get("playwright"))})
        return response


class Guarded(scrapy.Spider):
    name = "guarded"
    custom_settings = {"HTTPERROR_ALLOW_ALL": True}

    async def start(self):
        for path in starts:
            yield scrapy.Request(base + path, callback=self.parse_home)

    def record(self, response):
        seen.append({"path": response.url[len(base):], "status": response.status,
                     "playwright": bool(response.meta.get("playwright")),
                     "challenge": response.meta.get(CHALLENGE),
                     "page_in_meta": "playwright_page" in response.meta,
                     "body": response.body.decode("utf-8", "replace")})

    def parse_home(self, response):
        self.record(response)
        if response.status == 200:
            for path in follow:  # "R:/path": the spider asks for the browser itself
                meta = {"playwright": True} if path.startswith("R:") else {}
                yield scrapy.Request(base + path.removeprefix("R:"), callback=self.parse_other,
                                     meta=meta)

    def parse_other(self, response):
        self.record(response)


process = CrawlerProcess({
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "DOWNLOAD_HANDLERS": {
        "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    },
    "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": chromium_path(), "args": CHROMIUM_ARGS,
                                  "headless": True},
    "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,
    "DOWNLOADER_MIDDLEWARES": {"crawler.challenge.ChallengeMiddleware": 580,
                               "__main__.RawLog": 950},
    "NIANBAO_CHALLENGE_WAIT": wait,
    "USER_AGENT": "nianbao/test (+https://github.com/nianbao/nianbao)",
    "ROBOTSTXT_OBEY": False,
    "CONCURRENT_REQUESTS": concurrency,
    "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",  # the list first, then deeper
    "DOWNLOAD_TIMEOUT": 30,
    "RETRY_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "INFO",
})
crawler = process.create_crawler(Guarded)
process.crawl(crawler)
process.start()
stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float))}
with open(out_path, "w", encoding="utf-8") as f:
    json.dump({"stats": stats, "raw": raw, "seen": seen}, f, ensure_ascii=False)
'''


def crawl(tmp_path: Path, starts: list[str], follow: list[str], wait: float = 3.0,
          concurrency: int = 1):
    """Run CRAWL_SCRIPT against a fresh farm; return (output, farm request log, base)."""
    script = tmp_path / "crawl_guarded.py"
    script.write_text(CRAWL_SCRIPT, encoding="utf-8")
    out = tmp_path / "out.json"
    base, stop = start_farm()
    try:
        proc = subprocess.run(
            [sys.executable, str(script), base, str(out), str(wait), json.dumps(starts),
             json.dumps(follow), str(concurrency)],
            capture_output=True, text=True, timeout=180, cwd=REPO)
        log = json.load(urllib.request.urlopen(base + "/_farm/requests"))
    finally:
        stop()
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert out.exists(), proc.stderr[-4000:]
    return json.loads(out.read_text("utf-8")), log, proc.stderr


@pytest.mark.browser
def test_challenge_solved_once_then_plain_requests_carry_the_cookie(tmp_path):
    docs = [d for d in load_config()["documents"] if d["portal"] == "demo-guarded"]
    follow = ["/guarded/xxgk/ndbg/index.html"] + [d["path"] for d in docs]
    result, log, stderr = crawl(tmp_path, ["/guarded/"], follow)
    stats, raw, seen = result["stats"], result["raw"], result["seen"]
    good = f"{COOKIE}={token()}"

    # the farm saw: plain 412, the browser's 412, its reload with the cookie, then every
    # other page once, plainly, with the cookie
    home = [r for r in log if r["path"] == "/guarded/"]
    assert [r["cookie"] for r in home] == [None, None, good], home
    assert all(r["user_agent"].startswith("nianbao/") for r in log)
    for path in follow:
        sent = [r for r in log if r["path"] == path]
        assert len(sent) == 1 and sent[0]["cookie"] == good, (path, sent)
    assert not [r for r in log if r["path"].startswith("/guarded/") and r["path"] != "/guarded/"
                and r["cookie"] != good]

    # what the archive position (950) saw: the raw plain 412 first, then the rendered
    # response, then plain 200s only: the browser was used once
    assert raw[0] == {"path": "/guarded/", "status": 412, "playwright": False}
    assert raw[1]["path"] == "/guarded/" and raw[1]["playwright"]
    assert [r for r in raw[2:] if r["playwright"] or r["status"] != 200] == []
    assert sorted(r["path"] for r in raw[2:]) == sorted(follow)

    # what the spider got: the real home page (rendered, status of the final document,
    # marked, page closed and out of meta), then the real pages, byte for byte
    first = seen[0]
    assert first["path"] == "/guarded/" and first["status"] == 200 and first["playwright"]
    assert first["challenge"] == "js-cookie (HTTP 412)" and not first["page_in_meta"]
    assert "政府信息公开年报" in first["body"] and "document.cookie" not in first["body"]
    by_path = {s["path"]: s for s in seen[1:]}
    assert set(by_path) == set(follow)
    for d in docs:
        got = by_path[d["path"]]
        assert got["status"] == 200 and not got["playwright"] and got["challenge"] is None
        if d["kind"] == "page":
            real = (SITES / d["path"].lstrip("/")).read_text("utf-8")
            assert got["body"] == real and "TRS_Editor" in real

    assert stats["nianbao/challenges"] == 1
    assert stats["nianbao/challenges_solved"] == 1
    assert "nianbao/challenges_failed" not in stats
    assert stats["nianbao/challenge_cookies_sent"] == len(follow)
    assert stats["playwright/page_count"] == 1          # one page, one context, in all
    assert stats["playwright/context_count"] == 1
    assert stats.get("playwright/page_count/max_concurrent", 1) == 1


@pytest.mark.browser
def test_unsolvable_challenge_gives_up_without_a_loop(tmp_path):
    result, log, stderr = crawl(tmp_path, ["/guarded/never/"], [], wait=2.0)
    stats, raw, seen = result["stats"], result["raw"], result["seen"]
    never = [r for r in log if r["path"] == "/guarded/never/"]
    assert len(never) == 3  # plain, the browser, its one reload: then nianbao gives up
    assert [r["playwright"] for r in raw] == [False, True]
    assert stats["nianbao/challenges"] == 1
    assert stats["nianbao/challenges_failed"] == 1
    assert "nianbao/challenges_solved" not in stats
    (got,) = seen
    assert got["status"] == 412 and got["challenge"] == "js-cookie (HTTP 412)"
    assert not got["page_in_meta"]
    assert "not solved in the browser" in stderr


@pytest.mark.browser
def test_rendered_requests_of_the_spider_get_the_earned_cookies(tmp_path):
    """render: auto on a guarded host: the spider's own browser requests carry the cookie
    too (put in their context, since Playwright drops a Cookie header)."""
    listing = "/guarded/xxgk/ndbg/index.html"
    result, log, _ = crawl(tmp_path, ["/guarded/"], ["R:" + listing])
    sent = [r for r in log if r["path"] == listing]
    assert [r["cookie"] for r in sent] == [f"{COOKIE}={token()}"]
    (got,) = [s for s in result["seen"] if s["path"] == listing]
    assert got["status"] == 200 and got["playwright"] and got["challenge"] is None
    assert "胡集乡人民政府" in got["body"]
    assert result["stats"]["nianbao/challenges"] == 1


@pytest.mark.browser
def test_concurrent_challenges_on_one_host_share_one_solve(tmp_path):
    starts = ["/guarded/", "/guarded/index.html", "/guarded/xxgk/ndbg/index.html"]
    result, log, _ = crawl(tmp_path, starts, [], concurrency=4)
    stats = result["stats"]
    assert stats["nianbao/challenges"] == 1 and stats["nianbao/challenges_solved"] == 1
    assert stats["nianbao/challenges_joined"] == 2 and stats["nianbao/challenges_resent"] == 2
    assert stats["playwright/page_count"] == 1
    assert sorted(s["path"] for s in result["seen"] if s["status"] == 200) == sorted(starts)
    for path in starts:  # each one: 412 first, then 200 (the browser's or a plain re-send)
        assert [r["cookie"] for r in log if r["path"] == path][-1] == f"{COOKIE}={token()}"
