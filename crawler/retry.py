"""Retries that honour `Retry-After` (Scrapy's RetryMiddleware does not).

A drop-in replacement for `scrapy.downloadermiddlewares.retry.RetryMiddleware` (same
settings: RETRY_ENABLED, RETRY_TIMES, RETRY_HTTP_CODES, ...). When a retryable response
(429, 503, ...) carries `Retry-After` (seconds or an HTTP date), the retry waits that long
first, up to `NIANBAO_RETRY_AFTER_MAX` seconds; a longer wait gives up instead of stalling
the crawl. The wait suspends only this request, not the crawl.
"""
from __future__ import annotations

import asyncio
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.response import response_status_message

from spiders.config import NianbaoConfig


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header value, or None if absent or unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.max_wait = NianbaoConfig.from_settings(settings).retry_after_max

    async def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        reason = response_status_message(response.status)
        if wait is not None:
            if wait > self.max_wait:
                self.crawler.stats.inc_value("nianbao/retry_after_too_long")
                return response
            self.crawler.stats.inc_value("nianbao/retry_after_waits")
            await asyncio.sleep(wait)
        return self._retry(request, reason) or response
