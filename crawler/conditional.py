"""Conditional requests for documents already archived: a re-run asks, it does not re-fetch.

For a report page or attachment (`spiders.meta.KIND`) whose latest capture carried an ETag
or a Last-Modified date, the request gets `If-None-Match` / `If-Modified-Since` and
`meta[PREVIOUS_CAPTURE]`. A 304 answer is archived by the archive middleware (priority 950,
which sees it first) as a server-not-modified revisit of that capture; this middleware
(940) then hands the spider the archived response instead, marked `meta[NOT_MODIFIED]`, so
a report page's attachments are still followed. List pages are always fetched in full
(they are what changes). A payload that comes back unchanged without a 304 becomes an
ordinary revisit record (the archive's sha256 de-duplication), never a second copy.

Settings: `NIANBAO_CONDITIONAL` (default on), `NIANBAO_DATA_DIR`.
"""
from __future__ import annotations

import json
import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from archive.catalog import Catalog
from archive.reader import ArchiveReadError, read_capture
from spiders import meta as M
from spiders.config import NianbaoConfig

logger = logging.getLogger(__name__)
_DECODED = {"content-encoding", "transfer-encoding", "content-length"}


def validators(headers: list[list[str]] | list[tuple[str, str]]) -> dict[str, str]:
    """The conditional-request headers a capture's response headers allow."""
    found = {name.lower(): value for name, value in headers}
    out = {}
    if found.get("etag"):
        out["If-None-Match"] = found["etag"]
    if found.get("last-modified"):
        out["If-Modified-Since"] = found["last-modified"]
    return out


class ConditionalMiddleware:
    def __init__(self, config: NianbaoConfig, stats=None):
        if not config.conditional:
            raise NotConfigured("NIANBAO_CONDITIONAL is off")
        self.config = config
        self.stats = stats
        self.catalog: Catalog | None = None

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(NianbaoConfig.from_settings(crawler.settings), crawler.stats)
        crawler.signals.connect(mw.close, signal=signals.spider_closed)
        return mw

    def close(self, spider=None) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None

    def _catalog(self) -> Catalog:
        if self.catalog is None:
            self.catalog = Catalog(self.config.catalog_path)
        return self.catalog

    def process_request(self, request):
        if (request.meta.get(M.KIND) not in M.DOCUMENT_KINDS or request.method != "GET"
                or request.meta.get("playwright") or M.PREVIOUS_CAPTURE in request.meta):
            return None
        previous = self._catalog().latest_ok_capture(request.url)
        if previous is None:
            return None
        wanted = validators(json.loads(previous["headers"]))
        if not wanted:
            return None
        request.meta[M.PREVIOUS_CAPTURE] = previous["id"]
        for name, value in wanted.items():
            request.headers.setdefault(name, value)
        return None

    def process_response(self, request, response):
        previous = request.meta.get(M.PREVIOUS_CAPTURE)
        if response.status != 304 or not previous:
            return response
        try:
            old = read_capture(self.config.data_dir, int(previous))
        except ArchiveReadError as e:
            # the archived copy is unreadable: ask again, unconditionally
            logger.warning("capture %s unreadable (%s): fetching %s again", previous, e,
                           request.url)
            retry = request.replace(dont_filter=True)
            for name in ("If-None-Match", "If-Modified-Since"):
                retry.headers.pop(name, None)
            retry.meta[M.PREVIOUS_CAPTURE] = None
            return retry
        if self.stats is not None:
            self.stats.inc_value("nianbao/not_modified")
        # the archived body is decoded already: its encoding headers no longer apply
        headers = Headers([(n, v) for n, v in old.headers if n.lower() not in _DECODED])
        cls = responsetypes.from_args(headers=headers, url=old.url, body=old.body)
        request.meta[M.NOT_MODIFIED] = True
        return cls(url=response.url, status=200, headers=headers, body=old.body,
                   request=request, protocol=response.protocol)
