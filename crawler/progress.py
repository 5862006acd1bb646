"""The live progress line: pages fetched, reports found, errors, challenges met.

On a terminal (stderr is a TTY; `NIANBAO_PROGRESS=auto`), or always with `on`, the line is
redrawn once a second in place; `off` (or a pipe, under cron or scrapyd) prints nothing.
Counts come from Scrapy's signals, so the line costs nothing per request beyond a counter.
"""
from __future__ import annotations

import sys

from scrapy import signals
from scrapy.exceptions import NotConfigured

from spiders import meta as M
from spiders.config import NianbaoConfig
from spiders.items import CrawlErrorItem, DocumentItem


class ProgressExtension:
    def __init__(self, stream=None, interval: float = 1.0):
        self.stream = stream or sys.stderr
        self.interval = interval
        self.pages = self.reports = self.errors = self.challenges = 0
        self.portals: set[str] = set()
        self.task = None

    @classmethod
    def from_crawler(cls, crawler):
        mode = NianbaoConfig.from_settings(crawler.settings).progress
        if mode == "off" or (mode == "auto" and not sys.stderr.isatty()):
            raise NotConfigured  # no terminal: quietly off (with a reason Scrapy would warn)
        ext = cls()
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response, signal=signals.response_received)
        crawler.signals.connect(ext.item, signal=signals.item_scraped)
        return ext

    def line(self) -> str:
        return (f"\r{len(self.portals)} portal(s) · {self.pages} pages · {self.reports} "
                f"reports · {self.errors} errors · {self.challenges} challenges ")

    def draw(self) -> None:
        self.stream.write(self.line())
        self.stream.flush()

    def opened(self, spider=None) -> None:
        from twisted.internet import task

        self.task = task.LoopingCall(self.draw)
        self.task.start(self.interval, now=True)

    def closed(self, spider=None) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        self.draw()
        self.stream.write("\n")
        self.stream.flush()

    def response(self, response, request, spider=None) -> None:
        self.pages += 1
        if request.meta.get(M.PORTAL):
            self.portals.add(request.meta[M.PORTAL])
        if request.meta.get(M.CHALLENGE):
            self.challenges += 1

    def item(self, item, response=None, spider=None) -> None:
        if isinstance(item, DocumentItem):
            self.reports += 1
        elif isinstance(item, CrawlErrorItem):
            self.errors += 1
