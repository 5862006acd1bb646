"""nianbao's own crawl settings (`NIANBAO_*`), read once into one object: `NianbaoConfig`.

Every component (spider, archive and conditional middlewares, pipeline, run extension)
builds it in `from_crawler` with `NianbaoConfig.from_settings(crawler.settings)` and reads
nothing else of nianbao's. The defaults live in `crawler/settings.py` (the Scrapy project's
settings module); the README lists each setting. Scrapy's own settings (politeness, sizes,
retries) stay Scrapy's, under their own names.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RENDER_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class NianbaoConfig:
    data_dir: Path                 # NIANBAO_DATA_DIR: warc/, archive.db, logs/, jobs/
    portals_file: Path             # NIANBAO_PORTALS: the registry the spider reads
    farm_url: str | None           # NIANBAO_FARM_URL: fills `{farm}` in the registry
    run_id: str | None             # NIANBAO_RUN_ID: the crawl_runs row (set by the run add-on)
    render: str                    # NIANBAO_RENDER: auto | always | never (overrides portals)
    contact_url: str               # NIANBAO_CONTACT_URL: named in the user agent
    nav_depth: int                 # NIANBAO_NAV_DEPTH: links followed to find the column
    warc_max_size: int             # NIANBAO_WARC_MAX_SIZE: bytes per WARC file before rotating
    retry_after_max: float         # NIANBAO_RETRY_AFTER_MAX: longest Retry-After honoured (s)
    conditional: bool              # NIANBAO_CONDITIONAL: ETag / If-Modified-Since on re-runs
    progress: str                  # NIANBAO_PROGRESS: auto (on a terminal) | on | off
    challenge_wait: float          # NIANBAO_CHALLENGE_WAIT: seconds a challenge may take in Chromium

    @classmethod
    def from_settings(cls, settings) -> "NianbaoConfig":
        render = settings.get("NIANBAO_RENDER", "auto")
        if render not in RENDER_MODES:
            raise ValueError(f"NIANBAO_RENDER must be one of {RENDER_MODES}, not {render!r}")
        return cls(
            data_dir=Path(settings.get("NIANBAO_DATA_DIR") or "data"),
            portals_file=Path(settings.get("NIANBAO_PORTALS") or "portals.yml"),
            farm_url=settings.get("NIANBAO_FARM_URL") or None,
            run_id=settings.get("NIANBAO_RUN_ID") or None,
            render=render,
            contact_url=settings.get("NIANBAO_CONTACT_URL") or "",
            nav_depth=settings.getint("NIANBAO_NAV_DEPTH", 3),
            warc_max_size=settings.getint("NIANBAO_WARC_MAX_SIZE", 1024 ** 3),
            retry_after_max=settings.getfloat("NIANBAO_RETRY_AFTER_MAX", 60.0),
            conditional=settings.getbool("NIANBAO_CONDITIONAL", True),
            progress=settings.get("NIANBAO_PROGRESS", "auto"),
            challenge_wait=settings.getfloat("NIANBAO_CHALLENGE_WAIT", 10.0),
        )

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "archive.db"

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / "warc"

    def user_agent(self, version: str) -> str:
        contact = f"; +{self.contact_url}" if self.contact_url else ""
        return f"nianbao/{version} (annual-report archiver{contact})"
