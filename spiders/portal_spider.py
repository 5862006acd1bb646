"""The generic portal spider: one `portals.yml` entry in, report candidates out.

It walks a portal's annual-report column: list pages (with TRS `createPageHTML` or ordinary
pagination) to report pages, and report pages to their attachments. It stays inside the
portal's allowed URL prefixes (attachments: anywhere on the same hosts), caps list pages at
`max_pages` and report candidates at `max_documents` (so an endless pagination ends), and
yields a `DocumentItem` for every report page and attachment it downloaded and a
`CrawlErrorItem` for every request that ended in an HTTP error (download exceptions are
recorded by the archive middleware, which sees them first).

Rendering (`render`): "never" fetches plainly; "always" renders list and report pages in
Chromium through scrapy-playwright; "auto" fetches plainly and renders a list page again
only when it gave no usable link and has scripts (a list built by JavaScript).

The portal is any object with the attributes of `crawler.portals.Portal` (name, start_urls,
allow, link_pattern, render, max_pages, max_documents, wait_for).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from spiders.items import CrawlErrorItem, DocumentItem
from spiders.links import (classify, extract_links, has_scripts, normalize_url,
                           pagination_urls, attachment_ext)

RENDER_MODES = ("auto", "always", "never")
CAPTURE_ID_META = "capture_id"  # set on response.meta by the archive middleware
PAGES_PER_LIST = 100  # list-page URLs taken from one page's pagination at most


def _strip_scheme(url: str) -> str:
    return url.split("://", 1)[-1]


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, portal, render: str = "auto", **kwargs):
        super().__init__(name=portal.name, **kwargs)
        if render not in RENDER_MODES:
            raise ValueError(f"render must be one of {RENDER_MODES}, not {render!r}")
        self.portal = portal
        # the command line's "auto" means: as the portal entry says
        self.render = portal.render if render == "auto" else render
        self.allow = [_strip_scheme(p) for p in portal.allow]
        self.hosts = {urlsplit(u).netloc for u in list(portal.allow) + list(portal.start_urls)}
        self.link_pattern = re.compile(portal.link_pattern) if portal.link_pattern else None
        self.list_seen: set[str] = set()
        self.doc_seen: set[str] = set()

    # -- requests ------------------------------------------------------------------------
    async def start(self):
        for url in self.portal.start_urls:
            req = self.list_request(url, referrer=None)
            if req is not None:
                yield req

    def allowed(self, url: str) -> bool:
        return any(_strip_scheme(url).startswith(p) for p in self.allow)

    def _matches_pattern(self, url: str) -> bool:
        return bool(self.link_pattern and self.link_pattern.search(url))

    def _meta(self, kind: str, referrer: str | None, text: str | None = None,
              render: bool = False) -> dict:
        meta = {"portal": self.portal.name, "nianbao_kind": kind, "referrer": referrer,
                "link_text": text}
        if render:
            meta["playwright"] = True
            meta["playwright_page_methods"] = self._page_methods()
        return meta

    def _page_methods(self) -> list:
        from scrapy_playwright.page import PageMethod

        if self.portal.wait_for:
            return [PageMethod("wait_for_selector", self.portal.wait_for, timeout=15000)]
        return [PageMethod("wait_for_load_state", "networkidle")]

    def _request(self, url, callback, meta, referrer, dont_filter=False) -> scrapy.Request:
        headers = {"Referer": referrer} if referrer else None
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta,
                              headers=headers, dont_filter=dont_filter)

    def list_request(self, url: str, referrer: str | None) -> scrapy.Request | None:
        url = normalize_url(url)
        if url in self.list_seen:
            return None
        if len(self.list_seen) >= self.portal.max_pages:
            self.crawler.stats.inc_value("nianbao/list_pages_capped")
            return None
        self.list_seen.add(url)
        meta = self._meta("list", referrer, render=self.render == "always")
        return self._request(url, self.parse_list, meta, referrer)

    def document_request(self, url: str, kind: str, text: str | None,
                         referrer: str) -> scrapy.Request | None:
        url = normalize_url(url)
        if url in self.doc_seen:
            return None
        if len(self.doc_seen) >= self.portal.max_documents:
            self.crawler.stats.inc_value("nianbao/documents_capped")
            return None
        self.doc_seen.add(url)
        render = self.render == "always" and kind == "page"
        callback = self.parse_report if kind == "page" else self.parse_attachment
        return self._request(url, callback, self._meta(kind, referrer, text, render=render),
                             referrer)

    # -- callbacks -----------------------------------------------------------------------
    def parse_list(self, response):
        if not isinstance(response, TextResponse):  # a start URL that is itself a file
            yield self._document(response, "attachment")
            return
        found = 0
        for link in extract_links(response.selector, response.url):
            kind = classify(link, self.link_pattern)
            if kind is None or normalize_url(link.url) == normalize_url(response.url):
                continue
            if kind == "list" and self.allowed(link.url):
                req = self.list_request(link.url, response.url)
            elif kind == "page" and (self.allowed(link.url) or self._matches_pattern(link.url)):
                req = self.document_request(link.url, "page", link.text, response.url)
            elif kind == "attachment" and urlsplit(link.url).netloc in self.hosts:
                req = self.document_request(link.url, "attachment", link.text, response.url)
            else:
                continue
            found += 1
            if req is not None:
                yield req
        # +1: the page itself may be among them; PAGES_PER_LIST bounds the work one page makes
        remaining = max(self.portal.max_pages - len(self.list_seen), 0)
        limit = min(remaining, PAGES_PER_LIST) + 1
        for url in pagination_urls(response.selector, response.url, limit=limit):
            if self.allowed(url):
                found += 1
                req = self.list_request(url, response.url)
                if req is not None:
                    yield req
        if (found == 0 and self.render == "auto" and not response.meta.get("playwright")
                and has_scripts(response.selector)):
            self.logger.info("no links on %s: rendering it in the browser", response.url)
            self.crawler.stats.inc_value("nianbao/rendered_retries")
            meta = self._meta("list", response.meta.get("referrer"), render=True)
            yield self._request(response.url, self.parse_list, meta,
                                response.meta.get("referrer"), dont_filter=True)

    def parse_report(self, response):
        if not isinstance(response, TextResponse):  # the "page" link was a file
            yield self._document(response, "attachment")
            return
        yield self._document(response, "page")
        for link in extract_links(response.selector, response.url):
            if attachment_ext(link.url, link.text) and urlsplit(link.url).netloc in self.hosts:
                req = self.document_request(link.url, "attachment", link.text, response.url)
                if req is not None:
                    yield req

    def parse_attachment(self, response):
        yield self._document(response, "attachment")

    def _document(self, response, kind: str) -> DocumentItem:
        title = response.meta.get("link_text")
        if not title and isinstance(response, TextResponse):
            title = (response.xpath("//title/text()").get() or "").strip() or None
        requested = response.request.url if response.request is not None else None
        return DocumentItem(
            url=response.url, title=title, portal=self.portal.name,
            referrer=response.meta.get("referrer"), kind=kind,
            capture_id=response.meta.get(CAPTURE_ID_META),
            requested_url=requested if requested and requested != response.url else None)

    # -- errors --------------------------------------------------------------------------
    def on_error(self, failure):
        request = failure.request
        referrer = request.meta.get("referrer")
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # robots.txt and other deliberate skips are not errors of the crawl
            self.crawler.stats.inc_value("nianbao/ignored")
            self.logger.info("skipped %s: %s", request.url, failure.value)
            return
        self.crawler.stats.inc_value("nianbao/errors")
        if not failure.check(HttpError):
            # a download exception: the archive middleware has recorded it already
            self.logger.info("failed %s: %s: %s", request.url, failure.type.__name__,
                                failure.getErrorMessage())
            return
        status = failure.value.response.status
        error = f"HTTP {status}"
        retries = request.meta.get("retry_times")
        if retries:
            error += f" after {retries} retries"
        yield CrawlErrorItem(url=request.url, portal=self.portal.name, error=error,
                             referrer=referrer, status=status)
