"""Dynamic farm sites: one module per behaviour a static file cannot show.

Each app module has `respond(req: FarmRequest) -> Reply | None`: a reply for the paths it
owns, None for the rest. `APP_NAMES` is the order the server asks them in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType


@dataclass
class FarmRequest:
    method: str
    path: str                      # URL path, percent-decoded
    query: dict[str, str]          # the query string's values (last one wins)
    headers: dict[str, str]        # request headers, names lower-cased
    form: dict[str, str]           # a POSTed form's values (application/x-www-form-urlencoded)
    cookies: dict[str, str]
    sites: object                  # pathlib.Path of the static sites (for data files)
    # the server's own state, which tests set with GET /_farm/state?name=value (the edition
    # of a site whose reports change between crawls)
    state: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


APP_NAMES = ("trap", "challenge", "gkmlpt", "hanweb", "township", "revised")


def load_apps() -> list[ModuleType]:
    return [import_module(f"{__name__}.{name}") for name in APP_NAMES]
