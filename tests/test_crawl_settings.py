"""Scrapy settings for a crawl, and the Retry-After retry middleware."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
import scrapy
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.retry import RetryAfterMiddleware, retry_after_seconds
from crawler.settings import scrapy_settings


def test_polite_defaults(tmp_path):
    s = scrapy_settings(tmp_path, "run1", "never")
    assert s["ROBOTSTXT_OBEY"] is True and s["AUTOTHROTTLE_ENABLED"] is True
    assert s["USER_AGENT"].startswith("nianbao/") and "annual-report archiver" in s["USER_AGENT"]
    assert s["DEFAULT_REQUEST_HEADERS"]["Accept-Encoding"] == "identity"
    assert s["DOWNLOADER_MIDDLEWARES"]["crawler.middleware.ArchiveMiddleware"] == 950
    assert s["DOWNLOADER_MIDDLEWARES"]["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert s["ITEM_PIPELINES"] == {"crawler.pipelines.DocumentPipeline": 300}
    assert {503, 429} <= set(s["RETRY_HTTP_CODES"])
    assert s["NIANBAO_DATA_DIR"] == str(tmp_path) and s["NIANBAO_RUN_ID"] == "run1"
    assert s["NIANBAO_LOG_FILE"] == str(tmp_path / "logs" / "run1.log")
    assert "DOWNLOAD_HANDLERS" not in s  # no browser at all


def test_browser_wired_in_unless_never(tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_CHROMIUM", "/opt/chromium/chrome")
    s = scrapy_settings(tmp_path, "run1", "auto")
    assert s["DOWNLOAD_HANDLERS"]["https"] == "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    assert s["TWISTED_REACTOR"] == "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
    launch = s["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["executable_path"] == "/opt/chromium/chrome"
    assert "--no-sandbox" in launch["args"] and "--disable-quic" in launch["args"]


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
