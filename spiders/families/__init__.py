"""CMS families: how each kind of government portal software pages through a list.

Real county portals run on a few CMS families. Each family is one small module here with
the same four functions, over a Scrapy `TextResponse` (no engine, no I/O, so each is
tested on hand-made responses):

- `detect(response) -> bool`: this list page is one of ours (from the page itself);
- `entries(response) -> list[Entry]`: list entries the family hides from plain `<a>`
  extraction (records in a script block, a JSON list); plain links are read by the spider;
- `more(response, limit) -> list[Fetch]`: the further list pages or data calls the family's
  protocol needs, at most `limit`;
- `read(response, state) -> tuple[list[Entry], list[Fetch]]`: the answer to one of those
  data calls (`state` is the `Fetch.state` that asked for it).

A family whose `more()` picks the annual-report column itself from a catalog page (gkmlpt)
sets `FINDS_COLUMN = True`: the spider then asks it on pages on the way to the column too;
otherwise only list pages (and pages holding report links) are paged through.

The spider asks `FAMILIES` in order and uses the first that detects the page; `generic`
(下一页 / 尾页 links, `?page=N`) is last and always matches. Adding a family is adding a
module, listing it here, and a farm site that shows it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType


@dataclass(frozen=True)
class Entry:
    """A link found in a list: a report page, an attachment or a sub-column."""
    url: str
    text: str
    date: str | None = None


@dataclass(frozen=True)
class Fetch:
    """A further request a family's protocol needs.

    kind "list": an ordinary list page (parsed like any list page, families detected again);
    kind "api": a data call whose answer goes back to this family's `read(response, state)`.
    `formdata` makes it a form POST."""
    url: str
    kind: str = "list"
    method: str = "GET"
    formdata: dict[str, str] | None = None
    state: dict = field(default_factory=dict)


def page_fetches(urls: list[str], page_url: str, limit: int) -> list[Fetch]:
    """Further list pages as `Fetch`es: each once, never the page itself, at most `limit`."""
    from spiders.links import normalize_url

    seen, out = {normalize_url(page_url)}, []
    for u in urls:
        if u not in seen:
            seen.add(u)
            out.append(Fetch(u))
    return out[:limit]


FAMILY_NAMES = ("hanweb", "gkmlpt", "trs", "generic")


def load_families() -> list[ModuleType]:
    """The family modules, in the order the spider asks them."""
    return [import_module(f"{__name__}.{name}") for name in FAMILY_NAMES]
