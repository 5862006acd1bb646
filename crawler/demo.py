"""`nianbao demo`: the whole job on the bundled demo portals, on this machine only.

Starts the portal farm that ships in the package (`crawler.farm`) on a free 127.0.0.1 port,
crawls the farm's portals (`crawler/farm/portals.yml`) with `{farm}` filled in, parses what
was archived, stops the farm and serves Datasette. Nothing here reads the source tree.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from crawler.farm import server as farm

PORTALS_FILE = Path(farm.__file__).resolve().parent / "portals.yml"
# the farm is our own server on this machine, every site on one host: politeness off
FARM_SETTINGS = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
                 "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


def demo_portal_names(farm_url: str) -> list[str]:
    from spiders.portals import load_portals

    return [p.name for p in load_portals(PORTALS_FILE, farm_url) if not p.real]


def run_demo(data_dir: Path | str, port: int = 8001, serve: bool = True) -> int:
    """Farm, crawl, parse, serve. Returns the process exit code."""
    from crawler.crawl import run_crawl

    data_dir = Path(data_dir)
    chromium = os.environ.get("NIANBAO_CHROMIUM", "/usr/bin/chromium")
    render = "auto"
    if not (Path(chromium).exists() or shutil.which(chromium)):
        print(f"nianbao demo: no Chromium at {chromium} (run `make setup`): the list built by "
              f"JavaScript will not be rendered", file=sys.stderr)
        render = "never"

    base, stop = farm.start_farm(0)
    print(f"demo portals served at {base}/", flush=True)
    try:
        names = demo_portal_names(base)
        stats = run_crawl(data_dir, PORTALS_FILE, names, render=render, farm_url=base,
                          settings=FARM_SETTINGS)
    finally:
        stop()
    print(json.dumps(stats, ensure_ascii=False, indent=1), flush=True)
    if stats["status"] != "finished":
        print(f"nianbao demo: the crawl ended {stats['status']}; see {stats['log_file']}",
              file=sys.stderr)
        return 1

    from crawler.parse_batch import parse_archive

    summary = parse_archive(data_dir, reparse_all=False, workers=None, progress=True)
    print(summary.describe(), flush=True)
    if not serve:
        return 0
    from crawler.serve import serve_datasette

    return serve_datasette(data_dir, host="127.0.0.1", port=port)
