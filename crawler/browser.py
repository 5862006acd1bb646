"""The browser, only when a page needs it.

`abort_request` (`PLAYWRIGHT_ABORT_REQUEST`): a rendered page loads documents, scripts,
styles and data calls, never images, fonts or media. A list page needs its scripts, not its
pictures, and a long crawl's memory stays bounded.

`LazyBrowserProvider` (`PLAYWRIGHT_BROWSER_PROVIDER`, scrapy-playwright's pluggable provider
interface): Playwright's driver starts with the first request that needs a browser, not
when the crawl starts. Most portals never need one, and the default provider starts a
Node driver per download handler (http and https) at engine start: about 1.5 s and 250 MB
for a crawl that may render nothing.
"""
from __future__ import annotations

import asyncio

from scrapy_playwright.provider import PlaywrightBrowserProvider

SKIPPED_RESOURCES = frozenset({"image", "font", "media"})


def abort_request(request) -> bool:
    """scrapy-playwright's hook: True aborts the browser's request."""
    return request.resource_type in SKIPPED_RESOURCES


class LazyBrowserProvider(PlaywrightBrowserProvider):
    """The default provider, started on first use instead of at engine start."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.started = False
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Called at engine start: nothing to do yet."""

    async def _start_once(self) -> None:
        async with self._lock:
            if not self.started:
                await super().start()
                self.started = True

    async def launch_browser(self):
        await self._start_once()
        return await super().launch_browser()

    async def launch_persistent_context(self, context_kwargs: dict):
        await self._start_once()
        return await super().launch_persistent_context(context_kwargs)

    async def close(self) -> None:
        if self.started:
            await super().close()
