"""`nianbao schedule`: the systemd units and crontab line it renders, and how it installs them.

`crontab` and `systemctl` are fake shell scripts put first on PATH: nothing here touches the
machine's real crontab or systemd.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler import schedule as sched
from crawler.cli import cli

FAKE_CRONTAB = """#!/bin/sh
# stores the crontab in crontab.txt next to itself, like `crontab -l` / `crontab -`
store="$(dirname "$0")/crontab.txt"
echo "$*" >> "$(dirname "$0")/crontab.calls"
case "$1" in
  -l) if [ -f "$store" ]; then cat "$store"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$store" ;;
  *) echo "fake crontab: unexpected $*" >&2; exit 2 ;;
esac
"""

FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/systemctl.calls"
"""

FAILING_SYSTEMCTL = """#!/bin/sh
echo "Failed to connect to bus" >&2
exit 1
"""


def _script(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake_bin(tmp_path, monkeypatch) -> Path:
    """A directory first on PATH holding fake `crontab` and `systemctl`."""
    d = tmp_path / "fakebin"
    _script(d, "crontab", FAKE_CRONTAB)
    _script(d, "systemctl", FAKE_SYSTEMCTL)
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ.get('PATH', '')}")
    return d


@pytest.fixture
def portals(tmp_path) -> Path:
    p = tmp_path / "portals.yml"
    p.write_text("portals: []\n")
    return p


def _setting(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def _calls(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


# --- rendering ---------------------------------------------------------------------------

def test_render_systemd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    units = sched.render_systemd("data", "portals.yml", nianbao="/opt/nb/bin/nianbao")
    assert set(units) == {"nianbao-crawl.service", "nianbao-crawl.timer"}
    service, timer = units["nianbao-crawl.service"], units["nianbao-crawl.timer"]
    assert _setting(service, "ExecStart") == [
        f"/opt/nb/bin/nianbao crawl --data {tmp_path}/data --portals {tmp_path}/portals.yml"]
    assert _setting(service, "WorkingDirectory") == [str(tmp_path)]
    assert _setting(service, "Nice") == ["10"]
    assert _setting(service, "Type") == ["oneshot"]
    assert _setting(timer, "OnCalendar") == ["*-*-* 03:17:00"]
    assert _setting(timer, "RandomizedDelaySec") == ["30m"]
    assert _setting(timer, "Persistent") == ["true"]
    assert _setting(timer, "Unit") == ["nianbao-crawl.service"]
    assert _setting(timer, "WantedBy") == ["timers.target"]


def test_render_systemd_time_workdir_and_scope(tmp_path):
    units = sched.render_systemd(tmp_path / "d", tmp_path / "p.yml", "7:05", workdir=tmp_path,
                                 nianbao=tmp_path / "nianbao", user=True)
    assert _setting(units["nianbao-crawl.timer"], "OnCalendar") == ["*-*-* 07:05:00"]
    assert "network-online.target" not in units["nianbao-crawl.service"]  # no such user unit
    system = sched.render_systemd(tmp_path / "d", tmp_path / "p.yml", "23:59", user=False)
    assert _setting(system["nianbao-crawl.timer"], "OnCalendar") == ["*-*-* 23:59:00"]
    assert _setting(system["nianbao-crawl.service"], "After") == ["network-online.target"]


def test_render_systemd_quotes_spaces_and_percent(tmp_path):
    data = tmp_path / "my data 100%"
    units = sched.render_systemd(data, tmp_path / "p.yml", nianbao="/usr/bin/nianbao")
    [exec_start] = _setting(units["nianbao-crawl.service"], "ExecStart")
    assert f'--data "{tmp_path}/my data 100%%" ' in exec_start


def test_default_executable_is_absolute_and_real():
    exe = sched.nianbao_executable()
    assert exe.is_absolute() and exe.name == "nianbao" and os.access(exe, os.X_OK)
    units = sched.render_systemd("data", "portals.yml")
    assert _setting(units["nianbao-crawl.service"], "ExecStart")[0].startswith(f"{exe} crawl ")


def test_render_crontab(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = sched.render_crontab("data", "portals.yml", nianbao="/opt/nb/bin/nianbao")
    assert line == (f"17 3 * * * cd {tmp_path} && mkdir -p {tmp_path}/data/logs && "
                    f"/opt/nb/bin/nianbao crawl --data {tmp_path}/data "
                    f"--portals {tmp_path}/portals.yml >> {tmp_path}/data/logs/cron.log 2>&1 "
                    "# nianbao-crawl")
    assert sched.render_crontab("data", "p.yml", "0:00").startswith("0 0 * * * ")
    assert sched.render_crontab("data", "p.yml", "21:45").startswith("45 21 * * * ")


def test_render_crontab_escapes_percent_and_quotes(tmp_path):
    line = sched.render_crontab(tmp_path / "a b%", tmp_path / "p.yml", nianbao="/x/nianbao")
    assert f"--data '{tmp_path}/a b\\%'" in line
    assert "%" not in line.replace("\\%", "")


@pytest.mark.parametrize("bad", ["24:00", "12:60", "3", "03:7", "noon", "", "-1:00"])
def test_bad_times_are_refused(bad):
    with pytest.raises(ValueError):
        sched.parse_at(bad)


# --- installing systemd units ------------------------------------------------------------

def test_install_systemd_without_systemd_only_writes(tmp_path, fake_bin):
    units = sched.render_systemd(tmp_path / "d", tmp_path / "p.yml")
    said = []
    written = sched.install_systemd(units, tmp_path / "units", systemd_pid1=False, user=False,
                                    echo=said.append)
    assert sorted(p.name for p in written) == ["nianbao-crawl.service", "nianbao-crawl.timer"]
    for name, text in units.items():
        assert (tmp_path / "units" / name).read_text() == text
    assert _calls(fake_bin / "systemctl.calls") == []
    text = "\n".join(said)
    assert "systemd is not PID 1" in text
    assert "systemctl enable --now nianbao-crawl.timer" in text


def test_install_systemd_with_systemd_enables_the_timer(tmp_path, fake_bin):
    units = sched.render_systemd(tmp_path / "d", tmp_path / "p.yml")
    unit_dir = tmp_path / "units"
    sched.install_systemd(units, unit_dir, systemd_pid1=True, user=True, echo=lambda _: None)
    # not a directory systemd searches, so the units are linked in first
    assert _calls(fake_bin / "systemctl.calls") == [
        f"--user link {unit_dir}/nianbao-crawl.service {unit_dir}/nianbao-crawl.timer",
        "--user daemon-reload",
        "--user enable --now nianbao-crawl.timer",
    ]


def test_install_systemd_reports_a_failing_systemctl(tmp_path, fake_bin):
    _script(fake_bin, "systemctl", FAILING_SYSTEMCTL)
    units = sched.render_systemd(tmp_path / "d", tmp_path / "p.yml")
    with pytest.raises(sched.ScheduleError, match="Failed to connect to bus"):
        sched.install_systemd(units, tmp_path / "units", systemd_pid1=True, echo=lambda _: None)


def test_cli_install_systemd_into_unit_dir(tmp_path, fake_bin, portals):
    unit_dir = tmp_path / "units"
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, ["schedule", "--install", "--format", "systemd",
                                      "--unit-dir", str(unit_dir), "--data", str(data),
                                      "--portals", str(portals), "--at", "04:30"])
    assert result.exit_code == 0, result.output
    service = (unit_dir / "nianbao-crawl.service").read_text()
    timer = (unit_dir / "nianbao-crawl.timer").read_text()
    assert _setting(service, "ExecStart")[0].endswith(f" crawl --data {data} --portals {portals}")
    assert _setting(timer, "OnCalendar") == ["*-*-* 04:30:00"]
    calls = _calls(fake_bin / "systemctl.calls")
    if sched.systemd_is_pid1():
        assert calls and calls[-1].endswith("enable --now nianbao-crawl.timer")
    else:  # a container: systemctl is installed but there is no systemd to talk to
        assert calls == []
        assert "systemd is not PID 1 here" in result.output


# --- installing the crontab line ---------------------------------------------------------

def test_install_crontab_adds_then_replaces_never_duplicates(tmp_path, fake_bin):
    store = fake_bin / "crontab.txt"
    said = []
    assert sched.install_crontab(sched.render_crontab(tmp_path / "d", tmp_path / "p.yml"),
                                 echo=said.append) is False  # no crontab yet: added
    assert store.read_text().count("# nianbao-crawl") == 1
    assert "added to your crontab" in said[0]

    store.write_text("MAILTO=ops@example.org\n" + store.read_text() + "0 * * * * /bin/true\n")
    for at in ("02:10", "05:55", "05:55"):
        assert sched.install_crontab(sched.render_crontab(tmp_path / "d", tmp_path / "p.yml", at),
                                     echo=said.append) is True
    lines = store.read_text().splitlines()
    marked = [line for line in lines if line.endswith("# nianbao-crawl")]
    assert len(marked) == 1 and marked[0].startswith("55 5 * * * ")
    # the other entries are kept, in order, and the nianbao line stays where it was
    assert lines == ["MAILTO=ops@example.org", marked[0], "0 * * * * /bin/true"]
    assert store.read_text().endswith("\n")
    assert _calls(fake_bin / "crontab.calls") == ["-l", "-"] * 4


def test_merge_crontab_collapses_several_old_lines():
    old = "1 1 * * * old-a # nianbao-crawl\n# keep me\n2 2 * * * old-b # nianbao-crawl\n"
    text, replaced = sched.merge_crontab(old, "3 3 * * * new")
    assert replaced
    assert text == "3 3 * * * new # nianbao-crawl\n# keep me\n"


def test_cli_install_crontab(tmp_path, fake_bin, portals):
    data = tmp_path / "data"
    args = ["schedule", "--format", "cron", "--install", "--data", str(data),
            "--portals", str(portals)]
    for at in ("03:17", "06:00"):
        result = CliRunner().invoke(cli, args + ["--at", at])
        assert result.exit_code == 0, result.output
    [line] = (fake_bin / "crontab.txt").read_text().splitlines()
    assert line.startswith(f"0 6 * * * cd {Path.cwd()} && ")
    assert f" crawl --data {data} --portals {portals} >> {data}/logs/cron.log 2>&1 " in line
    assert "replaced the nianbao line" in result.output


def test_cli_install_crontab_without_crontab(tmp_path, monkeypatch, portals):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = CliRunner().invoke(cli, ["schedule", "--format", "cron", "--install",
                                      "--portals", str(portals)])
    assert result.exit_code == 1
    assert "`crontab` not found: install cron" in result.output


# --- printing ----------------------------------------------------------------------------

def test_cli_prints_cron_line(tmp_path, portals):
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, ["schedule", "--format", "cron", "--data", str(data),
                                      "--portals", str(portals), "--at", "01:02"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 1 * * * cd ")
    assert result.stdout.rstrip().endswith("# nianbao-crawl")
    assert "--install" in result.stderr
    assert not data.exists()  # printing changes nothing


def test_cli_prints_systemd_units(tmp_path, portals):
    unit_dir = tmp_path / "units"
    result = CliRunner().invoke(cli, ["schedule", "--format", "systemd", "--data",
                                      str(tmp_path / "data"), "--portals", str(portals),
                                      "--unit-dir", str(unit_dir)])
    assert result.exit_code == 0, result.output
    assert f"# {unit_dir}/nianbao-crawl.service\n[Unit]" in result.stdout
    assert f"# {unit_dir}/nianbao-crawl.timer\n[Unit]" in result.stdout
    assert "OnCalendar=*-*-* 03:17:00" in result.stdout
    assert "systemctl" in result.stderr and "enable --now nianbao-crawl.timer" in result.stderr
    assert not unit_dir.exists()


def test_cli_default_format_follows_pid1(tmp_path, portals):
    result = CliRunner().invoke(cli, ["schedule", "--portals", str(portals),
                                      "--unit-dir", str(tmp_path / "u")])
    assert result.exit_code == 0, result.output
    if sched.systemd_is_pid1():
        assert "[Timer]" in result.stdout
    else:
        assert "# nianbao-crawl" in result.stdout and "[Timer]" not in result.stdout


def test_cli_rejects_a_bad_time(portals):
    result = CliRunner().invoke(cli, ["schedule", "--portals", str(portals), "--at", "25:00"])
    assert result.exit_code == 2
    assert "not a time of day" in result.output
