"""The portal registry (`portals.yml`): load, validate and expand into `Portal` objects.

The file's format is documented in the comment at the top of the repository's portals.yml.
Every mistake is reported with the file, the entry and the key (`PortalsError`), before any
request is made. `{farm}` in a URL stands for the portal farm's base URL (`nianbao demo` and
the tests fill it in); an entry that uses it needs `farm_url`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

RENDER_MODES = ("never", "always", "auto")
REGION_KEYS = ("province", "city", "county", "township", "adcode")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
KNOWN_KEYS = {"name", "title", "start_urls", "url", "real", "render", "allow", "domains",
              "link_pattern", "max_pages", "max_list_pages", "max_documents", "wait_for",
              "region", "notes"}
FARM = "{farm}"


class PortalsError(ValueError):
    """portals.yml is malformed; the message says where and how."""


@dataclass
class Portal:
    """One portal entry, validated, `{farm}` expanded."""
    name: str
    start_urls: list[str]
    title: str = ""
    real: bool = True
    render: str = "auto"
    allow: list[str] = field(default_factory=list)   # URL prefixes pages must have ([]: any)
    domains: list[str] = field(default_factory=list)  # the portal's own domains (+ subdomains)
    link_pattern: str | None = None                  # regex: URLs that are report candidates
    max_pages: int = 300                             # pages of every kind fetched at most
    max_list_pages: int = 50                         # pages of one list (the trap guard)
    max_documents: int = 500                         # report pages + attachments at most
    wait_for: str | None = None                      # CSS selector the browser waits for
    region: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    needs_farm: bool = False                         # it used {farm}

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def site_domain(url: str) -> str:
    """The domain a start URL's portal owns: its host without a leading `www.` (so
    `www.huaian.gov.cn` owns `xxgk.huaian.gov.cn` too); an IP address keeps its port."""
    netloc = urlsplit(url).netloc.lower()
    host = netloc.rsplit("@", 1)[-1]
    name = host.split(":", 1)[0]
    if name.replace(".", "").isdigit() or name.startswith("[") or name == "localhost":
        return host  # an address: exactly this host and port
    return name[4:] if name.startswith("www.") else name


def _check_url(where: str, url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise PortalsError(f"{where}: a URL must be a non-empty string, not {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PortalsError(f"{where}: {url!r} is not an http(s) URL")
    return url


def _expand(value: str, farm_url: str | None) -> str:
    return value.replace(FARM, farm_url.rstrip("/")) if farm_url and FARM in value else value


def parse_entry(entry: object, where: str, farm_url: str | None) -> Portal:
    if not isinstance(entry, dict):
        raise PortalsError(f"{where}: an entry must be a mapping, not {type(entry).__name__}")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise PortalsError(f"{where}: 'name' must be lowercase letters, digits, - or _ "
                           f"(got {name!r})")
    where = f"{where} ({name})"
    unknown = sorted(set(entry) - KNOWN_KEYS)
    if unknown:
        raise PortalsError(f"{where}: unknown key(s) {', '.join(unknown)} "
                           f"(known: {', '.join(sorted(KNOWN_KEYS))})")
    starts = entry.get("start_urls", entry.get("url"))
    if "url" in entry and "start_urls" in entry:
        raise PortalsError(f"{where}: give 'url' or 'start_urls', not both")
    if isinstance(starts, str):
        starts = [starts]
    if not starts or not isinstance(starts, list):
        raise PortalsError(f"{where}: 'url' (or 'start_urls') is missing or empty")
    raw_urls = list(starts) + list(entry.get("allow") or [])
    needs_farm = any(isinstance(u, str) and FARM in u for u in raw_urls)
    if needs_farm and not farm_url:
        # kept unexpanded: usable only once a farm is running (see select_portals)
        starts_x = list(starts)
        allow_x = list(entry.get("allow") or [])
    else:
        starts_x = [_check_url(f"{where}: start_urls", _expand(u, farm_url) if isinstance(u, str) else u)
                    for u in starts]
        allow_x = entry.get("allow")
        if allow_x is None:
            allow_x = []
        elif not isinstance(allow_x, list):
            raise PortalsError(f"{where}: 'allow' must be a list of URL prefixes")
        else:
            allow_x = [_check_url(f"{where}: allow", _expand(u, farm_url) if isinstance(u, str) else u)
                       for u in allow_x]
    domains = entry.get("domains") or []
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise PortalsError(f"{where}: 'domains' must be a list of domain names")
    if not needs_farm or farm_url:
        domains = sorted({site_domain(u) for u in starts_x} | {d.lower() for d in domains})
    render = entry.get("render", "auto")
    if render not in RENDER_MODES:
        raise PortalsError(f"{where}: 'render' must be one of {', '.join(RENDER_MODES)}, "
                           f"not {render!r}")
    for key in ("max_pages", "max_list_pages", "max_documents"):
        value = entry.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PortalsError(f"{where}: '{key}' must be a positive integer, not {value!r}")
    link_pattern = entry.get("link_pattern")
    if link_pattern is not None:
        try:
            re.compile(link_pattern)
        except (re.error, TypeError) as e:
            raise PortalsError(f"{where}: 'link_pattern' is not a regular expression: {e}")
    region = entry.get("region") or {}
    if not isinstance(region, dict) or set(region) - set(REGION_KEYS):
        raise PortalsError(f"{where}: 'region' takes only {', '.join(REGION_KEYS)}")
    real = entry.get("real", True)
    if not isinstance(real, bool):
        raise PortalsError(f"{where}: 'real' must be true or false")
    return Portal(
        name=name, start_urls=starts_x, title=str(entry.get("title") or name), real=real,
        render=render, allow=allow_x, domains=domains, link_pattern=link_pattern,
        max_pages=entry.get("max_pages", 300), max_list_pages=entry.get("max_list_pages", 50),
        max_documents=entry.get("max_documents", 500),
        wait_for=entry.get("wait_for"), region={k: str(v) for k, v in region.items()},
        notes=str(entry.get("notes") or ""), needs_farm=needs_farm)


def load_portals(path: Path | str, farm_url: str | None = None) -> list[Portal]:
    """Read and validate a registry. `farm_url` replaces `{farm}` in URLs."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as e:
        raise PortalsError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("portals"), list):
        raise PortalsError(f"{path}: expected a mapping with a 'portals:' list")
    extra = sorted(set(data) - {"portals"})
    if extra:
        raise PortalsError(f"{path}: unknown top-level key(s) {', '.join(extra)}")
    portals, names = [], set()
    for i, entry in enumerate(data["portals"], 1):
        portal = parse_entry(entry, f"{path}: portal #{i}", farm_url)
        if portal.name in names:
            raise PortalsError(f"{path}: portal #{i}: the name {portal.name!r} is used twice")
        names.add(portal.name)
        portals.append(portal)
    return portals


def select_portals(portals: list[Portal], names: list[str] | tuple[str, ...] = (),
                   farm_url: str | None = None) -> list[Portal]:
    """The portals to crawl: those named (all must exist), else every portal that can run
    (entries needing the farm are left out when no farm is running)."""
    by_name = {p.name: p for p in portals}
    if names:
        missing = [n for n in names if n not in by_name]
        if missing:
            raise PortalsError(f"no portal named {', '.join(map(repr, missing))} "
                               f"(known: {', '.join(sorted(by_name))})")
        chosen = [by_name[n] for n in names]
        needing = [p.name for p in chosen if p.needs_farm and not farm_url]
        if needing:
            raise PortalsError(f"portal(s) {', '.join(needing)} use {{farm}}: they need the "
                               f"portal farm running (use `nianbao demo`)")
        return chosen
    return [p for p in portals if farm_url or not p.needs_farm]
