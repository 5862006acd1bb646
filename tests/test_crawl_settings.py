"""Scrapy settings for a crawl, and the Retry-After retry middleware."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import scrapy
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.retry import RetryAfterMiddleware, retry_after_seconds
from crawler.crawl import project_settings
from crawler.runs import RunAddon
from crawler.settings import chromium_path
from spiders.config import NianbaoConfig


def test_polite_broad_crawl_defaults():
    s = project_settings()
    assert s.getbool("ROBOTSTXT_OBEY") and s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2 and s.getfloat("DOWNLOAD_DELAY") == 1.0
    assert s.getint("CONCURRENT_REQUESTS") >= 16  # many hosts in parallel
    assert s["SCHEDULER_PRIORITY_QUEUE"] == "scrapy.pqueues.DownloaderAwarePriorityQueue"
    assert s["DEFAULT_REQUEST_HEADERS"]["Accept-Encoding"] == "identity"
    mws = s.getdict("DOWNLOADER_MIDDLEWARES")
    assert mws["crawler.middleware.ArchiveMiddleware"] == 950
    assert mws["crawler.conditional.ConditionalMiddleware"] < 950  # sees a 304 after the archive
    assert mws["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert s.getdict("ITEM_PIPELINES") == {"crawler.pipelines.DocumentPipeline": 300}
    assert {503, 429} <= set(s.getlist("RETRY_HTTP_CODES"))
    assert s.getbool("REMOTE_CONTROL_ENABLED") is False
    assert s["SPIDER_MODULES"] == ["spiders"]


def test_browser_handler_and_system_chromium():
    s = project_settings()
    assert s.getdict("DOWNLOAD_HANDLERS")["https"] == \
        "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    assert s["TWISTED_REACTOR"] == "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
    launch = s.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert launch["executable_path"] == chromium_path()
    assert "--no-sandbox" in launch["args"] and "--disable-quic" in launch["args"]
    assert s.getint("PLAYWRIGHT_MAX_CONTEXTS") >= 1 and s.getint("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT") >= 1


class _Req:
    def __init__(self, kind):
        self.resource_type = kind


def test_rendered_pages_skip_images_fonts_and_media():
    from crawler.browser import abort_request

    assert [abort_request(_Req(k)) for k in ("image", "font", "media", "document", "script", "xhr")] \
        == [True, True, True, False, False, False]


def test_run_addon_fills_run_id_and_user_agent(tmp_path):
    s = project_settings({"NIANBAO_CONTACT_URL": "https://example.org/contact"})
    RunAddon().update_settings(s)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", s["NIANBAO_RUN_ID"])
    assert s["USER_AGENT"].startswith("nianbao/") and "+https://example.org/contact" in s["USER_AGENT"]
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    (jobdir / "nianbao-run.json").write_text('{"run_id": "20261201T000000Z-abcdef"}')
    resumed = project_settings({"JOBDIR": str(jobdir), "USER_AGENT": "mine/1.0"})
    RunAddon().update_settings(resumed)
    assert resumed["NIANBAO_RUN_ID"] == "20261201T000000Z-abcdef"  # an unfinished run resumes
    assert resumed["USER_AGENT"] == "mine/1.0"


def test_every_nianbao_setting_is_read_by_the_config_and_documented():
    """None is set and never read: each NIANBAO_* default in the settings module is a field of
    NianbaoConfig, read from the settings, and the README names it."""
    import dataclasses
    import inspect

    import crawler.settings as module

    names = {n for n in vars(module) if n.startswith("NIANBAO_")}
    source = inspect.getsource(NianbaoConfig.from_settings)
    read = set(re.findall(r'"(NIANBAO_[A-Z_]+)"', source))
    assert names == read
    assert len(dataclasses.fields(NianbaoConfig)) == len(read)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert [n for n in sorted(names) if n not in readme] == []


def test_config_rejects_a_bad_render_mode():
    with pytest.raises(ValueError, match="NIANBAO_RENDER"):
        NianbaoConfig.from_settings(project_settings({"NIANBAO_RENDER": "sometimes"}))


@pytest.mark.parametrize("value, seconds", [
    (b"3", 3.0), ("0", 0.0), (None, None), (b"soon", None),
    ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0), ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),
])
def test_retry_after_seconds(value, seconds):
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=timezone.utc)
    assert retry_after_seconds(value, now=now) == seconds


def _middleware(max_wait: float = 60.0):
    crawler = get_crawler(scrapy.Spider, {"NIANBAO_RETRY_AFTER_MAX": max_wait, "RETRY_TIMES": 2})
    crawler.spider = scrapy.Spider.from_crawler(crawler, "s")
    return RetryAfterMiddleware.from_crawler(crawler), crawler


def test_retry_after_waits_then_retries():
    mw, crawler = _middleware()
    req = scrapy.Request("http://h/x")
    resp = Response("http://h/x", status=503, headers={"Retry-After": "0"}, request=req)
    out = asyncio.run(mw.process_response(req, resp))
    assert isinstance(out, scrapy.Request) and out.meta["retry_times"] == 1
    assert crawler.stats.get_value("nianbao/retry_after_waits") == 1


def test_retry_after_too_long_gives_up():
    mw, crawler = _middleware(max_wait=5)
    req = scrapy.Request("http://h/x")
    resp = Response("http://h/x", status=429, headers={"Retry-After": "3600"}, request=req)
    assert asyncio.run(mw.process_response(req, resp)) is resp
    assert crawler.stats.get_value("nianbao/retry_after_too_long") == 1


def test_plain_retry_and_pass_through():
    mw, _ = _middleware()
    req = scrapy.Request("http://h/x")
    assert isinstance(asyncio.run(mw.process_response(req, Response("http://h/x", status=502, request=req))),
                      scrapy.Request)
    ok = Response("http://h/x", status=200, request=req)
    assert asyncio.run(mw.process_response(req, ok)) is ok


def test_render_never_uses_scrapys_own_handler():
    s = project_settings({"NIANBAO_RENDER": "never"})
    RunAddon().update_settings(s)
    assert set(s.getdict("DOWNLOAD_HANDLERS").values()) == {
        "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"}
    auto = project_settings()
    RunAddon().update_settings(auto)
    assert "scrapy_playwright" in auto.getdict("DOWNLOAD_HANDLERS")["https"]
