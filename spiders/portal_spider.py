"""The portal spider: every selected `portals.yml` entry in one spider, report candidates out.

One spider crawls many portals at once (Scrapy's broad-crawl way: per-domain download slots
and a downloader-aware priority queue keep each host polite while many hosts run in
parallel). `scrapy crawl portal -a portal=NAME` (or `-a portals=A,B`, or no argument: every
portal the registry can run) from the repository root; `nianbao crawl` runs the same spider.

From each start URL (a home page is enough) the spider finds the annual-report column by
link text and URL (`spiders.links.classify`), following pages on the way (政府信息公开,
信息公开目录, 法定主动公开内容) up to `NIANBAO_NAV_DEPTH` links deep, inside the portal's own
domains. On every list page it asks the CMS families (`spiders.families`) which one the
page is, reads the entries that family hides from plain links, and pages on by its
protocol (TRS `createPageHTML`, Hanweb `dataproxy.jsp`, gkmlpt's JSON API, 下一页 links).
Only report candidates are fetched as documents; a report page's attachments follow.
Every document downloaded becomes a `DocumentItem`; an HTTP error that survived the
retries a `CrawlErrorItem` (download exceptions are recorded by the archive middleware).

Rendering: "never" fetches plainly; "always" renders pages in Chromium; "auto" renders a
list page again only when it gave nothing and has scripts. Bot challenges are the
challenge middleware's business, not the spider's.
"""
from __future__ import annotations


import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from spiders import meta as M
from spiders.config import RENDER_MODES, NianbaoConfig
from spiders.families import Fetch, load_families
from spiders.items import CrawlErrorItem, DocumentItem
from spiders.links import (Link, attachment_ext, classify, embedded_links, extract_links,
                           has_scripts, is_column_link, is_report_candidate, is_sub_column,
                           looks_like_list,
                           names_a_year, normalize_url)
from spiders.portals import Portal, load_portals, select_portals
from spiders.scope import PortalScope

PAGES_PER_LIST = 100  # further list pages or data calls taken from one page at most
SUB_COLUMN_DEPTH = 2  # a column's parts (years, kinds of office) and theirs, no deeper


def _folder(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[0]


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, portal: str | None = None, portals=None, render: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if render is not None and render not in RENDER_MODES:
            raise ValueError(f"render must be one of {RENDER_MODES}, not {render!r}")
        self._render_arg = render
        names = [n for n in (portal or "").split(",") if n]
        if isinstance(portals, str):
            names += [n.strip() for n in portals.split(",") if n.strip()]
            portals = None
        self._names = names
        self._given: list[Portal] | None = list(portals) if portals else None
        self.scopes: dict[str, PortalScope] = {}
        self.families = load_families()
        self.families_by_name = {f.NAME: f for f in self.families}
        self.nav_depth = 3

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(NianbaoConfig.from_settings(crawler.settings))
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        return spider

    def configure(self, config: NianbaoConfig) -> None:
        """Load and select the portals and set the render mode."""
        render = self._render_arg or config.render
        if self._given is not None:
            portals = self._given
        else:
            portals = select_portals(load_portals(config.portals_file, config.farm_url),
                                     self._names, config.farm_url)
        self.scopes = {p.name: PortalScope.of(p, render) for p in portals}
        self.nav_depth = config.nav_depth

    def _opened(self, spider=None) -> None:
        self.logger.info("crawling %d portal(s): %s", len(self.scopes), ", ".join(self.scopes))

    @property
    def portal_names(self) -> list[str]:
        return list(self.scopes)

    # -- what has been asked for (kept in spider.state, so a JOBDIR resume keeps it) -----
    def _seen(self, portal: str, kind: str) -> set:
        state = self.__dict__.setdefault("state", {})
        return state.setdefault("seen", {}).setdefault(portal, {}).setdefault(kind, set())

    def _first_time(self, portal: str, kind: str, key: str, cap: int | None) -> bool:
        seen = self._seen(portal, kind)
        if key in seen:
            return False
        if cap is not None and len(seen) >= cap:
            self.crawler.stats.inc_value(f"nianbao/{kind.split(':', 1)[0]}_capped")
            return False
        seen.add(key)
        return True

    # -- requests ------------------------------------------------------------------------
    async def start(self):
        for name, scope in self.scopes.items():
            for url in scope.portal.start_urls:
                # a start URL that names the column (…/zfxxgknb/) is its list; else a page
                # on the way (a home page, the 政府信息公开 platform)
                kind = M.LIST if is_column_link(Link(url, "")) else M.NAV
                req = self.page_request(scope, url, kind, referrer=None, depth=0)
                if req is not None:
                    yield req

    def _meta(self, scope: PortalScope, kind: str, referrer: str | None, *,
              text: str | None = None, depth: int = 0, render: bool = False,
              family: str | None = None, state: dict | None = None) -> dict:
        meta = {M.PORTAL: scope.portal.name, M.KIND: kind, M.REFERRER: referrer,
                M.LINK_TEXT: text, M.DEPTH: depth, M.FAMILY: family, M.FAMILY_STATE: state}
        # only what is set: every request is pickled into the JOBDIR's disk queue
        meta = {k: v for k, v in meta.items() if v is not None}
        if render:
            meta.update(self._render_meta(scope))
        return meta

    def _render_meta(self, scope: PortalScope) -> dict:
        from scrapy_playwright.page import PageMethod

        if scope.portal.wait_for:
            wait = PageMethod("wait_for_selector", scope.portal.wait_for, timeout=15000)
        else:
            wait = PageMethod("wait_for_load_state", "networkidle")
        return {"playwright": True, "playwright_page_methods": [wait], M.RENDERED: True}

    def _request(self, url: str, callback, meta: dict, referrer: str | None, *,
                 method: str = "GET", formdata: dict | None = None,
                 dont_filter: bool = False) -> scrapy.Request:
        headers = {"Referer": referrer} if referrer else None
        if formdata is not None:
            return scrapy.FormRequest(url, formdata=formdata, method=method, callback=callback,
                                      errback=self.on_error, meta=meta, headers=headers,
                                      dont_filter=dont_filter)
        return scrapy.Request(url, method=method, callback=callback, errback=self.on_error,
                              meta=meta, headers=headers, dont_filter=dont_filter)

    def page_request(self, scope: PortalScope, url: str, kind: str, referrer: str | None,
                     depth: int = 0, list_root: str | None = None) -> scrapy.Request | None:
        """A nav or list page (parsed by `parse_page`); `list_root`: the first page of the
        list this one pages on from (each list has `max_list_pages` at most)."""
        url = normalize_url(url)
        if not self._first_time(scope.portal.name, "pages", url, scope.portal.max_pages):
            return None
        meta = self._meta(scope, kind, referrer, depth=depth, render=scope.render == "always")
        if list_root:
            meta[M.LIST_ROOT] = list_root
        return self._request(url, self.parse_page, meta, referrer)

    def fetch_request(self, scope: PortalScope, fetch: Fetch, family: str, referrer: str,
                      list_root: str) -> scrapy.Request | None:
        """A further list page or data call a family's protocol asked for."""
        name = scope.portal.name
        if fetch.kind != "api":
            if not scope.allows_page(fetch.url) or normalize_url(fetch.url) in self._seen(
                    name, "pages"):
                return None
            if not self._first_time(name, "list:" + list_root, normalize_url(fetch.url),
                                    scope.portal.max_list_pages - 1):
                return None
            return self.page_request(scope, fetch.url, M.LIST, referrer, list_root=list_root)
        if not scope.in_domains(fetch.url):
            return None
        key = f"{fetch.method} {fetch.url} {sorted((fetch.formdata or {}).items())}"
        if not self._first_time(name, "list:" + list_root, key, scope.portal.max_list_pages - 1):
            return None
        if not self._first_time(name, "pages", key, scope.portal.max_pages):
            return None
        meta = self._meta(scope, M.API, referrer, family=family, state=dict(fetch.state))
        meta[M.LIST_ROOT] = list_root
        return self._request(fetch.url, self.parse_api, meta, referrer, method=fetch.method,
                             formdata=fetch.formdata, dont_filter=True)

    def document_request(self, scope: PortalScope, url: str, kind: str, text: str | None,
                         referrer: str) -> scrapy.Request | None:
        url = normalize_url(url)
        if not self._first_time(scope.portal.name, "documents", url, scope.portal.max_documents):
            return None
        render = scope.render == "always" and kind == M.PAGE
        callback = self.parse_report if kind == M.PAGE else self.parse_attachment
        # asked once (the seen set above): a redirect to a page already fetched (a deleted
        # report sent to its list) must still come back to be recognised
        return self._request(url, callback, self._meta(scope, kind, referrer, text=text,
                                                       render=render), referrer,
                             dont_filter=True)

    def _scope(self, response) -> PortalScope:
        return self.scopes[response.meta[M.PORTAL]]

    # -- callbacks -----------------------------------------------------------------------
    def family_of(self, response):
        return next(f for f in self.families if f.detect(response))

    def parse_page(self, response):
        """A nav or list page: report candidates, the column, the way there, further pages."""
        scope = self._scope(response)
        if not isinstance(response, TextResponse):  # a start URL or column link that is a file
            yield self._document(response, M.ATTACHMENT)
            return
        kind, depth = response.meta.get(M.KIND, M.NAV), response.meta.get(M.DEPTH, 0)
        family = self.family_of(response)
        links = extract_links(response.selector, response.url)
        links += [Link(normalize_url(e.url), e.text) for e in family.entries(response)]
        for frame in embedded_links(response.selector, response.url):
            # a frame shows part of this page: a list inside a list, a way on inside a nav page
            req = (self.page_request(scope, frame.url, kind, response.url, depth)
                   if scope.allows_page(frame.url) else None)
            if req is not None:
                yield req
        found, candidates = 0, 0
        here = normalize_url(response.url)
        for link in links:  # already normalised by extract_links and the families
            if link.url == here:
                continue
            req, is_doc = self._follow(scope, link, response.url, depth, kind)
            if req is False:
                continue
            found += 1
            candidates += is_doc
            if req is not None:
                yield req
        if kind == M.LIST or candidates or getattr(family, "FINDS_COLUMN", False):
            self.crawler.stats.inc_value(f"nianbao/family/{family.NAME}")
            root = response.meta.get(M.LIST_ROOT) or here
            for fetch in family.more(response, self._pages_left(scope, root)):
                found += 1
                req = self.fetch_request(scope, fetch, family.NAME, response.url, root)
                if req is not None:
                    yield req
        title = self._title(response) if kind == M.LIST and not candidates else ""
        if names_a_year(title) and is_report_candidate(Link(response.url, title)):
            # a link without a year named it like the column, but the page is a report
            yield from self.parse_report(response)
            return
        if (found == 0 and scope.render == "auto" and not response.meta.get("playwright")
                and has_scripts(response.selector)):
            self.logger.info("nothing on %s: rendering it in the browser", response.url)
            self.crawler.stats.inc_value("nianbao/rendered_retries")
            meta = self._meta(scope, kind, response.meta.get(M.REFERRER), depth=depth,
                              render=True)
            yield self._request(response.url, self.parse_page, meta,
                                response.meta.get(M.REFERRER), dont_filter=True)

    def parse_api(self, response):
        """The answer to a family's data call: its entries and further calls."""
        scope = self._scope(response)
        family = self.families_by_name[response.meta[M.FAMILY]]
        entries, fetches = family.read(response, response.meta.get(M.FAMILY_STATE) or {})
        referrer = response.meta.get(M.REFERRER) or response.url
        for e in entries:
            req, _ = self._follow(scope, Link(normalize_url(e.url), e.text), referrer, 0, M.API)
            if req:
                yield req
        root = response.meta.get(M.LIST_ROOT) or referrer
        for fetch in fetches[: self._pages_left(scope, root)]:
            req = self.fetch_request(scope, fetch, family.NAME, referrer, root)
            if req is not None:
                yield req

    def _follow(self, scope: PortalScope, link: Link, found_on: str, depth: int, on: str):
        """(request or None, is a report candidate), or (False, False) for a link not ours.

        Pages on the way (nav links) are followed only from pages on the way: inside the
        column, a link reading 政务公开… is one of its documents, not a way elsewhere."""
        kind = classify(link, scope.link_pattern)
        if kind in (M.PAGE, M.ATTACHMENT):
            ok = (scope.in_domains(link.url) if kind == M.ATTACHMENT
                  else scope.allows_page(link.url) or scope.matches_pattern(link.url))
            if not ok:
                self.crawler.stats.inc_value("nianbao/offsite_skipped")
                return False, False
            return self.document_request(scope, link.url, kind, link.text, found_on), True
        if kind == M.LIST and scope.allows_page(link.url):
            if on == M.LIST and _folder(link.url) == _folder(found_on):
                return False, False  # this list's own pages: its family pages through them
            return self.page_request(scope, link.url, M.LIST, found_on, 0), False
        if (on == M.LIST and depth < SUB_COLUMN_DEPTH and is_sub_column(link, found_on)
                and scope.allows_page(link.url)):
            # a year or a kind of office inside the column: a list of its own
            return self.page_request(scope, link.url, M.LIST, found_on, depth + 1), False
        if (kind == M.NAV and on == M.NAV and depth < self.nav_depth
                and scope.allows_page(link.url)):
            return self.page_request(scope, link.url, M.NAV, found_on, depth + 1), False
        return False, False

    def _pages_left(self, scope: PortalScope, list_root: str) -> int:
        name = scope.portal.name
        left = min(scope.portal.max_pages - len(self._seen(name, "pages")),
                   scope.portal.max_list_pages - 1 - len(self._seen(name, "list:" + list_root)))
        return max(0, min(left, PAGES_PER_LIST))

    def parse_report(self, response):
        scope = self._scope(response)
        if not isinstance(response, TextResponse):  # the "page" link was a file
            yield self._document(response, M.ATTACHMENT)
            return
        gone = self._redirected_to_a_list(response)
        if gone:
            yield gone
            return
        yield self._document(response, M.PAGE)
        links = extract_links(response.selector, response.url)
        for link in links + embedded_links(response.selector, response.url):
            if attachment_ext(link.url, link.text) and scope.in_domains(link.url):
                # an embedded file has no link text: it is the report the page shows
                text = link.text or self._title(response) or None
                req = self.document_request(scope, link.url, M.ATTACHMENT, text, response.url)
                if req is not None:
                    yield req

    @staticmethod
    def _requested_url(response) -> str | None:
        """The URL the link named, when redirects moved it elsewhere."""
        chain = response.meta.get("redirect_urls") or []
        if chain and normalize_url(chain[0]) != normalize_url(response.url):
            return chain[0]
        return None

    def _redirected_to_a_list(self, response) -> CrawlErrorItem | None:
        """A report link that now lands on a list page (a deleted report redirected to its
        column) is recorded as gone, not archived as a report."""
        requested = self._requested_url(response)
        if requested is None:
            return None
        landed = normalize_url(response.url)
        if landed not in self._seen(response.meta[M.PORTAL], "pages") and not looks_like_list(
                landed):
            return None
        self.crawler.stats.inc_value("nianbao/reports_gone")
        return CrawlErrorItem(url=requested, portal=response.meta[M.PORTAL],
                              error=f"report gone: redirects to the list {response.url}",
                              referrer=response.meta.get(M.REFERRER),
                              status=(response.meta.get("redirect_reasons") or [None])[-1])

    def parse_attachment(self, response):
        yield self._document(response, M.ATTACHMENT)

    @staticmethod
    def _title(response) -> str:
        if not isinstance(response, TextResponse):
            return ""
        return " ".join((response.xpath("//title/text()").get() or "").split())

    def _document(self, response, kind: str) -> DocumentItem:
        title = response.meta.get(M.LINK_TEXT) or self._title(response) or None
        return DocumentItem(
            url=response.url, title=title, portal=response.meta[M.PORTAL],
            referrer=response.meta.get(M.REFERRER), kind=kind,
            capture_id=response.meta.get(M.CAPTURE_ID),
            requested_url=self._requested_url(response),
            not_modified=bool(response.meta.get(M.NOT_MODIFIED)))

    # -- errors --------------------------------------------------------------------------
    def on_error(self, failure):
        request = failure.request
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
        if request.meta.get(M.CHALLENGE):
            error += f" (bot challenge not solved: {request.meta[M.CHALLENGE]})"
        yield CrawlErrorItem(url=request.url, portal=request.meta.get(M.PORTAL), error=error,
                             referrer=request.meta.get(M.REFERRER), status=status)
