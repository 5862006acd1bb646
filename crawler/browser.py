"""What a rendered page may load: documents, scripts, styles and data calls, never images,
fonts or media (`PLAYWRIGHT_ABORT_REQUEST`). A list page needs its scripts, not its
pictures, and a long crawl's memory stays bounded."""
from __future__ import annotations

SKIPPED_RESOURCES = frozenset({"image", "font", "media"})


def abort_request(request) -> bool:
    """scrapy-playwright's hook: True aborts the browser's request."""
    return request.resource_type in SKIPPED_RESOURCES
