"""What the portal spider yields besides requests: report candidates and crawl errors.

Plain dataclasses (Scrapy handles them through itemadapter); the crawler's pipeline decides
how they are stored."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DocumentItem:
    """A report candidate: a report page or an attachment, after it was downloaded."""
    url: str                     # where the bytes came from (after redirects)
    title: str | None            # link text / title attribute, else the page <title>
    portal: str
    referrer: str | None         # the page that linked to it
    kind: str                    # "page" or "attachment"
    capture_id: int | None = None  # the archive's capture of this response, when known
    requested_url: str | None = None  # the URL the link named, if a redirect moved it
    not_modified: bool = False   # the server answered 304 to a conditional request


@dataclass
class CrawlErrorItem:
    """A request that ended without a usable response (after retries)."""
    url: str
    portal: str
    error: str                   # e.g. "HTTP 404", "HTTP 503 after 2 retries", "TimeoutError: ..."
    referrer: str | None = None
    status: int | None = None
