"""The `nianbao` command: one subcommand per job, each a thin shell over a module that does it.

Every subcommand takes `--data DIR` (default `$NIANBAO_DATA`, else `./data`); those that read
the portal registry take `--portals FILE` (default `portals.yml`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="NIANBAO_DATA",
    default="data",
    show_default=True,
    help="Archive directory (WARC files in warc/, catalog in archive.db). Env: NIANBAO_DATA.",
)
portals_option = click.option(
    "--portals",
    "portals_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default="portals.yml",
    show_default=True,
    help="Portal registry to read.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nianbao")
def cli() -> None:
    """nianbao (年报): crawl, archive, parse and publish government information disclosure
    annual reports (政府信息公开工作年度报告)."""


@cli.command()
@data_option
@portals_option
@click.option("--portal", "portal_names", multiple=True, metavar="NAME",
              help="Crawl only this portal (repeatable). Default: every portal in the registry.")
@click.option("--render", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True,
              help="Render pages in Chromium: as the portal entry says (auto), for every page, or never.")
@click.option("--set", "-s", "overrides", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy or NIANBAO_* setting for this run, as `scrapy crawl -s` (repeatable).")
@click.option("--no-parse", is_flag=True, help="Archive only; do not parse what was fetched.")
def crawl(data_dir: Path, portals_file: Path, portal_names: tuple[str, ...], render: str,
          overrides: tuple[str, ...], no_parse: bool) -> None:
    """Crawl portals, archive every response to WARC, then parse what is new.

    Runs the Scrapy project's `portal` spider (the same as `scrapy crawl portal`) over the
    selected portals at once. A crawl killed mid-way resumes where it stopped on the next
    run with the same portals; a second crawl of the same data directory exits with 3.

    Example: nianbao crawl --portal demo-county -s DOWNLOAD_DELAY=2
    """
    from crawler.crawl import portal_table, run_crawl
    from crawler.lock import CrawlLocked
    from spiders.portals import PortalsError

    settings = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name:
            click.echo(f"nianbao crawl: --set takes NAME=VALUE, not {item!r}", err=True)
            sys.exit(2)
        settings[name.strip()] = value
    try:
        stats = run_crawl(data_dir, portals_file, list(portal_names), render=render,
                          settings=settings)
    except PortalsError as exc:
        click.echo(f"nianbao crawl: {exc}", err=True)
        sys.exit(2)
    except CrawlLocked as exc:
        click.echo(f"nianbao crawl: {exc}", err=True)
        sys.exit(3)
    click.echo(json.dumps(stats, ensure_ascii=False, indent=1))
    if stats["per_portal"]:
        click.echo(portal_table(stats["per_portal"]), err=True)
    if not no_parse:
        from crawler.lock import ParseLocked
        try:
            _parse(data_dir, reparse_all=False, workers=None)
        except ParseLocked as exc:
            click.echo(f"nianbao crawl: not parsing what was fetched: {exc}; run "
                       "`nianbao parse` after it", err=True)
    if stats.get("status") not in (None, "finished"):
        sys.exit(1)


@cli.command()
@data_option
@click.option("--all", "reparse_all", is_flag=True,
              help="Re-parse every stored snapshot, not only those this parser version has not seen.")
@click.option("--retry-failed", is_flag=True,
              help="Also parse again the snapshots whose parse by this version failed "
                   "(an error, a timeout).")
@click.option("--timeout", type=click.FloatRange(min=1), default=120, show_default=True,
              help="Seconds one file may take; a slower one is stored as failed.")
@click.option("--workers", type=int, default=None, help="Parallel workers (default: every core).")
def parse(data_dir: Path, reparse_all: bool, retry_failed: bool, timeout: float,
          workers: int | None) -> None:
    """Parse archived snapshots (read back from the WARC files) into reports.

    Parses every report candidate not yet parsed by this parser version (or, with --all,
    every one), stores the results in archive.db and prints a summary: parsed, failed, the
    values that changed since the previous parse of each snapshot (kept in parse_changes)
    and the paths that changed most. A run stopped mid-way (Ctrl-C, kill -9) resumes at the
    next run, a stopped --all included. A second parse of the same data directory exits
    with 3, saying which process holds it.

    Example: nianbao parse --all
    """
    from crawler.lock import ParseLocked

    try:
        _parse(data_dir, reparse_all=reparse_all, workers=workers, retry_failed=retry_failed,
               timeout=timeout)
    except ParseLocked as exc:
        click.echo(f"nianbao parse: {exc}", err=True)
        sys.exit(3)


def _parse(data_dir: Path, reparse_all: bool, workers: int | None, retry_failed: bool = False,
           timeout: float | None = None) -> None:
    from crawler.parse_batch import DEFAULT_TIMEOUT, parse_archive

    summary = parse_archive(data_dir, reparse_all=reparse_all, workers=workers, progress=True,
                            retry_failed=retry_failed, timeout=timeout or DEFAULT_TIMEOUT)
    click.echo(summary.describe())


@cli.command("parse-file")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--flat", is_flag=True, help="Print the flat path: value pairs (REPORT_MODEL.md).")
def parse_file(path: Path, as_json: bool, flat: bool) -> None:
    """Parse one local file (html, pdf, docx, doc, wps, txt) and print the report.

    The format is sniffed from the bytes, not the file name.

    Example: nianbao parse-file report.pdf --json
    """
    from parsers import parse_bytes
    from parsers.model import flatten
    from parsers.office_convert import ConversionError

    try:
        report = parse_bytes(path.read_bytes(), filename=path.name)
    except ConversionError as exc:
        click.echo(f"nianbao parse-file: {path}: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    elif flat:
        for key, value in flatten(report).items():
            click.echo(f"{key}\t{value}")
    else:
        click.echo(_summary_line(report))
        for w in report["warnings"]:
            click.echo(f"warning: {w}")


def _summary_line(report: dict) -> str:
    failed = [c["rule"] for c in report["checks"] if not c["ok"]]
    return (f"{report.get('agency') or '?'} {report.get('year') or '?'} "
            f"(template {report.get('template') or '?'}, {report['source']['format']}): "
            f"{len(report['checks'])} checks, {len(failed)} failed"
            + (f": {', '.join(failed)}" if failed else ""))


@cli.command()
@data_option
@click.option("--port", type=int, default=8001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def serve(data_dir: Path, port: int, host: str) -> None:
    """Serve the archive with Datasette (reports, their tables, full-text search, originals).

    Example: nianbao serve --port 8001
    """
    from crawler.serve import serve_datasette

    sys.exit(serve_datasette(data_dir, host=host, port=port))


@cli.command()
@data_option
@click.option("--port", type=int, default=8001, show_default=True, help="Datasette port.")
@click.option("--no-serve", is_flag=True, help="Stop after crawling and parsing.")
def demo(data_dir: Path, port: int, no_serve: bool) -> None:
    """Start the bundled demo portals on 127.0.0.1, crawl them, parse, then serve Datasette.

    Example: nianbao demo --data /tmp/nianbao-demo
    """
    from crawler.demo import run_demo

    sys.exit(run_demo(data_dir, port=port, serve=not no_serve))


@cli.command()
@data_option
def verify(data_dir: Path) -> None:
    """Re-read every WARC record and check it against the catalog's digests.

    Exits non-zero if any record is missing, unreadable or does not match.

    Example: nianbao verify
    """
    from archive.verify import verify_archive

    result = verify_archive(data_dir)
    click.echo(result.describe())
    sys.exit(0 if result.ok else 1)


@cli.command()
@data_option
def reindex(data_dir: Path) -> None:
    """Rebuild the catalog from the WARC files alone: captures, crawl runs, documents and
    their captures, crawl errors and portals, from the records and the metadata records the
    crawl writes beside them. The old catalog is kept as archive.db.bak-<time>; reports come
    back with `nianbao parse --all`. Torn records are reported and skipped. Exits with 3
    while a crawl or a parse of the data directory is running.

    Example: nianbao reindex && nianbao parse --all
    """
    from archive.reindex import reindex as rebuild
    from crawler.lock import CrawlLock, CrawlLocked, ParseLock, ParseLocked

    try:
        # no crawl and no parse may write while the catalog is swapped
        with CrawlLock(data_dir), ParseLock(data_dir):
            result = rebuild(data_dir)
    except (CrawlLocked, ParseLocked) as exc:
        click.echo(f"nianbao reindex: {exc}", err=True)
        sys.exit(3)
    click.echo(result.describe())
    sys.exit(0 if result.ok else 1)


@cli.command()
@data_option
@click.option("--wacz", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export(data_dir: Path, wacz: Path) -> None:
    """Package the archive as WACZ (WARCs, CDXJ index, pages.jsonl, datapackage.json with
    sha256 digests) for ReplayWeb.page and pywb. A torn last record (a crawl killed while
    writing) is left out and reported.

    Example: nianbao export --wacz nianbao-2026.wacz
    """
    from archive.export_wacz import ExportError, export_wacz

    try:
        result = export_wacz(data_dir, wacz)
    except ExportError as exc:
        click.echo(f"nianbao export: {exc}", err=True)
        sys.exit(1)
    click.echo(result.describe())


@cli.command()
@data_option
@portals_option
@click.option("--format", "fmt", type=click.Choice(["systemd", "cron"]), default=None,
              help="A systemd service + timer, or a crontab line. "
                   "Default: systemd when systemd is PID 1, else cron.")
@click.option("--at", default="03:17", show_default=True, metavar="HH:MM",
              help="Time of day to crawl (systemd adds a random delay of up to 30 minutes).")
@click.option("--install", is_flag=True,
              help="Install: write the units and enable the timer, or add the line to your crontab "
                   "(replacing an earlier nianbao line).")
@click.option("--unit-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where --install writes the systemd units. "
                   "Default: /etc/systemd/system for root, else ~/.config/systemd/user.")
def schedule(data_dir: Path, portals_file: Path, fmt: str | None, at: str, install: bool,
             unit_dir: Path | None) -> None:
    """Print or install a systemd timer (or a crontab line) that runs `nianbao crawl` daily.

    Without --install, prints the unit files (or the crontab line) and how to install them.
    Paths are made absolute, so the schedule does not depend on where it runs from.

    Example: nianbao schedule --at 02:30 --install
    """
    from crawler.schedule import ScheduleError, parse_at
    from crawler.schedule import schedule as run_schedule

    try:
        parse_at(at)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    try:
        run_schedule(data_dir, portals_file, fmt=fmt, at=at, install=install, unit_dir=unit_dir,
                     out=click.echo, note=lambda text: click.echo(text, err=True))
    except (ScheduleError, OSError) as exc:
        click.echo(f"nianbao schedule: {exc}", err=True)
        sys.exit(1)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
