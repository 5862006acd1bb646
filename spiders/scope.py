"""Where one portal's crawl may go: its domains (subdomains included), its `allow` prefixes,
its report-link pattern and its render mode. Only http(s) URLs are ever in scope."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from spiders.portals import Portal


def _strip_scheme(url: str) -> str:
    return url.split("://", 1)[-1]


@dataclass
class PortalScope:
    """One portal as the spider crawls it."""
    portal: Portal
    render: str
    link_pattern: re.Pattern | None = None
    allow: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, portal: Portal, render: str) -> "PortalScope":
        return cls(portal, portal.render if render == "auto" else render,
                   re.compile(portal.link_pattern) if portal.link_pattern else None,
                   [_strip_scheme(p) for p in portal.allow])

    def in_domains(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        netloc = parts.netloc.lower().rsplit("@", 1)[-1]
        name = netloc.split(":", 1)[0]
        return any(netloc == d or name == d or name.endswith("." + d)
                   for d in self.portal.domains)

    def allows_page(self, url: str) -> bool:
        """A nav, list or report page the crawl may fetch: on the portal's domains and, if
        the entry names `allow` prefixes, under one of them."""
        if not self.in_domains(url):
            return False
        return not self.allow or any(_strip_scheme(url).startswith(p) for p in self.allow)

    def matches_pattern(self, url: str) -> bool:
        return bool(self.link_pattern and self.link_pattern.search(url))
