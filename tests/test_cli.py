"""The `nianbao` command: every subcommand is documented, and fails clearly on an empty archive."""
from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from crawler.cli import cli

COMMANDS = sorted(cli.commands)


def test_every_design_command_exists():
    assert {"crawl", "parse", "parse-file", "serve", "demo", "verify"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    # A docstring that explains the command, not just click's usage line.
    doc = cli.commands[command].help
    assert doc and len(doc.strip()) > 30, f"{command} needs a real --help text"
    first_line = " ".join(doc.split("\n")[0].split())
    assert first_line in " ".join(result.output.split())


def test_reindex_of_an_empty_archive_says_what_it_read(tmp_path):
    result = CliRunner().invoke(cli, ["reindex", "--data", str(tmp_path)])
    assert result.exit_code == 0 and "0 WARC files" in result.output


def test_reindex_waits_for_no_crawl(tmp_path):
    from crawler.lock import CrawlLock

    with CrawlLock(tmp_path):
        result = CliRunner().invoke(cli, ["reindex", "--data", str(tmp_path)])
    assert result.exit_code == 3 and "being crawled" in result.output


def test_export_of_an_empty_archive_fails_clearly(tmp_path):
    result = CliRunner().invoke(cli, ["export", "--data", str(tmp_path), "--wacz",
                                      str(tmp_path / "x.wacz")])
    assert result.exit_code == 1
    assert "nianbao export:" in result.output and not (tmp_path / "x.wacz").exists()


def test_console_script_runs(repo_root):
    """The installed entry point works (what a user types)."""
    exe = repo_root / ".venv" / "bin" / "nianbao"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]
    out = subprocess.run(cmd + ["--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name in ("crawl", "parse-file", "serve", "verify"):
        assert name in out.stdout
