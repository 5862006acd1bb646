"""The `Request.meta` keys that the portal spider and nianbao's downloader middlewares share.

One name each, defined once: the spider sets them, the archive, challenge and conditional
middlewares read them (and the archive sets CAPTURE_ID back). Values are plain data (str,
int, bool, None), so requests stay serialisable for Scrapy's JOBDIR queues.
"""
from __future__ import annotations

PORTAL = "nianbao_portal"          # str: the portals.yml name the request belongs to
KIND = "nianbao_kind"              # str: one of KINDS below
REFERRER = "nianbao_referrer"      # str | None: the page the link was found on
LINK_TEXT = "nianbao_link_text"    # str | None: the link text (a document's title)
DEPTH = "nianbao_nav_depth"        # int: links followed from the start URL to reach a nav page
LIST_ROOT = "nianbao_list_root"    # str: the first page of the list a further page belongs to
FAMILY = "nianbao_family"          # str | None: the CMS family whose protocol made the request
FAMILY_STATE = "nianbao_family_state"  # dict | None: what that family needs to read the answer
CAPTURE_ID = "nianbao_capture_id"  # int: set by the archive middleware on the response's request
RENDERED = "nianbao_rendered"      # bool: the spider asked for the browser (also: "playwright")
CHALLENGE = "nianbao_challenge"    # str | None: set when a bot challenge was met on this request
PREVIOUS_CAPTURE = "nianbao_previous_capture"  # int | None: the capture a conditional GET refers to
NOT_MODIFIED = "nianbao_not_modified"  # bool: the server answered 304; body is the archived one

# What a request is for. "nav": a page on the way to the report column (home page,
# 政府信息公开); "list": a page of the column's list; "api": a CMS data call answering list
# records; "page": a report page; "attachment": a report file (pdf, doc, ...).
NAV, LIST, API, PAGE, ATTACHMENT = "nav", "list", "api", "page", "attachment"
KINDS = (NAV, LIST, API, PAGE, ATTACHMENT)
DOCUMENT_KINDS = (PAGE, ATTACHMENT)
