"""`nianbao serve`: Datasette 0.65 on the archive's catalog, with the metadata, templates
and plugin shipped in the package (`archive.web`).

Before serving, the catalog is brought up to date (schema, views, the sections full-text
index). Datasette runs in this process under uvicorn on a socket bound here first, so the
printed URL is the real one even for `--port 0`; Ctrl-C or SIGTERM stop it cleanly.
"""
from __future__ import annotations

import socket
import sqlite3
import sys
from pathlib import Path

import yaml

from archive.schema import ensure_schema
from archive.search_index import ensure_fts
from archive.views import create_views
from archive.web import web_file

METADATA = web_file("metadata.yml")
TEMPLATES = web_file("templates")
DB_NAME = "archive.db"
SETTINGS = {
    # Datasette's own limits: every page, chart and canned query answers within them on
    # 100,000 reports (bench/serve.py); a count that would take longer is left out.
    "sql_time_limit_ms": 1000,
    "facet_time_limit_ms": 500,
    "default_page_size": 50,
    # Suggesting facets runs a query per column over the views: seconds on a big catalog.
    "suggest_facets": False,
}


def prepare_catalog(db_path: Path) -> None:
    """Create whatever is missing and refresh the views and the full-text index."""
    conn = sqlite3.connect(str(db_path))
    try:
        ensure_schema(conn)
        create_views(conn)
        ensure_fts(conn)
    finally:
        conn.close()


def load_metadata(path: Path = METADATA) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def serve_datasette(data_dir: Path | str, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Serve `<data_dir>/archive.db` with Datasette until interrupted; return an exit code.

    :param data_dir: the archive directory holding `archive.db`
    :param host: interface to bind
    :param port: TCP port; 0 picks a free one (the URL printed names it)
    """
    import uvicorn
    from datasette.app import Datasette

    db_path = Path(data_dir) / DB_NAME
    if not db_path.is_file():
        print(f"nianbao serve: no catalog at {db_path}; run `nianbao crawl` (or "
              f"`nianbao demo`) first, or pass --data DIR", file=sys.stderr)
        return 2
    prepare_catalog(db_path)
    try:
        sock = socket.create_server((host, port))
    except OSError as e:
        print(f"nianbao serve: cannot listen on {host}:{port}: {e}", file=sys.stderr)
        return 1
    ds = Datasette([str(db_path)], metadata=load_metadata(), settings=SETTINGS,
                   template_dir=str(TEMPLATES))
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(f"Datasette serving {db_path} at http://{shown_host}:{bound_port}/", flush=True)
    server = uvicorn.Server(uvicorn.Config(ds.app(), log_level="info", lifespan="on"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    finally:
        sock.close()
    return 0
