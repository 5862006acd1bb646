"""`nianbao schedule`: a daily `nianbao crawl`, as a systemd timer or a crontab line.

`render_systemd()` returns the two unit files (`nianbao-crawl.service`, a oneshot running
`nianbao crawl --data DIR --portals FILE` with absolute paths at Nice=10, and
`nianbao-crawl.timer`, daily at a set time, `RandomizedDelaySec=30m`, `Persistent=true` so a
run missed while the machine was off happens at boot). `render_crontab()` returns the
equivalent crontab line, logging to `DATA/logs/cron.log` and marked `# nianbao-crawl`.

`install_systemd()` writes the units and, when systemd is PID 1, reloads systemd and enables
the timer; elsewhere (a container, a build host) it says what to run. `install_crontab()`
puts the line in the user's crontab through `crontab -l` / `crontab -`, replacing an earlier
marked line instead of adding a second one.

Overlapping runs are not this module's concern: a timer never starts a service that is still
running, and `crawler.lock` refuses a second crawl of one data directory either way.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

SERVICE = "nianbao-crawl.service"
TIMER = "nianbao-crawl.timer"
CRON_MARKER = "# nianbao-crawl"
DEFAULT_AT = "03:17"

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
# where systemd looks for unit files without being told (systemd.unit(5)); others need `link`
_SYSTEM_SEARCH = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
                  "/usr/lib/systemd/system", "/lib/systemd/system")
_USER_SEARCH = ("~/.config/systemd/user", "/etc/systemd/user", "~/.local/share/systemd/user",
                "/usr/lib/systemd/user")


class ScheduleError(RuntimeError):
    """Something the operator has to fix (no crontab, systemctl failed, a bad time)."""


def parse_at(text: str) -> tuple[int, int]:
    """'03:17' -> (3, 17). Raises ValueError for anything that is not a time of day."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"not a time of day (HH:MM, 00:00 to 23:59): {text!r}")
    return int(m.group(1)), int(m.group(2))


def nianbao_executable() -> Path:
    """Absolute path of the `nianbao` console script: on PATH, else next to this Python."""
    found = shutil.which("nianbao")
    if found:
        return Path(os.path.abspath(found))
    sibling = Path(os.path.abspath(sys.executable)).parent / "nianbao"
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return sibling
    raise ScheduleError("cannot find the nianbao executable (not on PATH, not next to "
                        f"{sys.executable}): install the package, e.g. pip install -e .")


def default_unit_dir() -> Path:
    """/etc/systemd/system for root, ~/.config/systemd/user for everyone else."""
    if os.geteuid() == 0:
        return SYSTEM_UNIT_DIR
    return Path.home() / ".config" / "systemd" / "user"


def systemd_is_pid1() -> bool:
    """True when systemd is the init process (not in most containers, not on macOS)."""
    try:
        return Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def default_format() -> str:
    return "systemd" if systemd_is_pid1() else "cron"


def _abs(path: Path | str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def _crawl_argv(data_dir: Path, portals_file: Path, nianbao: Path | None) -> list[str]:
    exe = _abs(nianbao) if nianbao else nianbao_executable()
    return [str(exe), "crawl", "--data", str(_abs(data_dir)), "--portals", str(_abs(portals_file))]


def _systemd_escape(value: str) -> str:
    """`%` starts a specifier in every unit setting; `%%` is a literal percent sign."""
    return value.replace("%", "%%")


def _systemd_word(arg: str) -> str:
    """One ExecStart word: quoted when it has to be, `$` and `%` made literal."""
    arg = _systemd_escape(arg).replace("$", "$$")
    if arg and not re.search(r"[\s\"'\\;]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_systemd(data_dir: Path | str, portals_file: Path | str, at: str = DEFAULT_AT, *,
                   nianbao: Path | str | None = None, workdir: Path | str | None = None,
                   user: bool | None = None) -> dict[str, str]:
    """{'nianbao-crawl.service': text, 'nianbao-crawl.timer': text} for a daily crawl at `at`.

    Paths are made absolute (relative ones against the current directory, which is also the
    service's WorkingDirectory unless `workdir` is given). `user` (default: not root) leaves
    out network-online.target, which a user's systemd does not have.
    """
    hour, minute = parse_at(at)
    argv = _crawl_argv(Path(data_dir), Path(portals_file), Path(nianbao) if nianbao else None)
    workdir = _abs(workdir) if workdir else _abs(Path.cwd())
    if user is None:
        user = os.geteuid() != 0
    network = "" if user else "Wants=network-online.target\nAfter=network-online.target\n"
    service = (
        "[Unit]\n"
        "Description=nianbao: crawl and archive government annual report portals\n"
        f"{network}"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={_systemd_escape(str(workdir))}\n"
        f"ExecStart={' '.join(_systemd_word(a) for a in argv)}\n"
        "Nice=10\n"
    )
    timer = (
        "[Unit]\n"
        "Description=nianbao: daily crawl\n"
        "\n"
        "[Timer]\n"
        f"OnCalendar=*-*-* {hour:02d}:{minute:02d}:00\n"
        "RandomizedDelaySec=30m\n"
        "Persistent=true\n"
        f"Unit={SERVICE}\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {SERVICE: service, TIMER: timer}


def render_crontab(data_dir: Path | str, portals_file: Path | str, at: str = DEFAULT_AT, *,
                   nianbao: Path | str | None = None, workdir: Path | str | None = None) -> str:
    """The crontab line (no newline) for a daily crawl at `at`, ending in `# nianbao-crawl`.

    The line creates DATA/logs first: a redirection into a missing directory would stop cron
    from running the crawl at all.
    """
    hour, minute = parse_at(at)
    argv = _crawl_argv(Path(data_dir), Path(portals_file), Path(nianbao) if nianbao else None)
    workdir = _abs(workdir) if workdir else _abs(Path.cwd())
    logs = _abs(data_dir) / "logs"
    command = (f"cd {shlex.quote(str(workdir))} && mkdir -p {shlex.quote(str(logs))} && "
               f"{shlex.join(argv)} >> {shlex.quote(str(logs / 'cron.log'))} 2>&1")
    # cron turns an unescaped % into a newline
    command = command.replace("%", "\\%")
    return f"{minute} {hour} * * * {command} {CRON_MARKER}"


def _on_search_path(unit_dir: Path, user: bool) -> bool:
    target = _abs(unit_dir)
    return any(_abs(p) == target for p in (_USER_SEARCH if user else _SYSTEM_SEARCH))


def _user_scope(unit_dir: Path) -> bool:
    """Whether units in `unit_dir` are for `systemctl --user`: by the directory, else not root."""
    if _on_search_path(unit_dir, user=False):
        return False
    if _on_search_path(unit_dir, user=True):
        return True
    return os.geteuid() != 0


def _systemctl_commands(unit_dir: Path, user: bool) -> list[list[str]]:
    scope = ["--user"] if user else []
    commands = []
    if not _on_search_path(unit_dir, user):
        commands.append(["systemctl", *scope, "link",
                         str(_abs(unit_dir) / SERVICE), str(_abs(unit_dir) / TIMER)])
    commands.append(["systemctl", *scope, "daemon-reload"])
    commands.append(["systemctl", *scope, "enable", "--now", TIMER])
    return commands


def install_systemd(units: dict[str, str], unit_dir: Path | str, systemctl: str = "systemctl",
                    *, user: bool | None = None, systemd_pid1: bool | None = None,
                    echo: Callable[[str], None] = print) -> list[Path]:
    """Write `units` into `unit_dir`, then enable the timer if this machine runs systemd.

    `systemctl` is a name looked up on PATH (or a path). It is run (`daemon-reload`, then
    `enable --now nianbao-crawl.timer`, after `link` when `unit_dir` is not one systemd
    searches) only when it exists and systemd is PID 1 (`systemd_pid1`, default: detected);
    otherwise the commands are echoed for the operator. `user` (default: not root) adds
    `--user`. Returns the files written.
    """
    unit_dir = _abs(unit_dir)
    if user is None:
        user = os.geteuid() != 0
    unit_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = unit_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
        echo(f"wrote {path}")
    commands = _systemctl_commands(unit_dir, user)
    exe = shutil.which(systemctl)
    if systemd_pid1 is None:
        systemd_pid1 = systemd_is_pid1()
    if exe and systemd_pid1:
        for cmd in commands:
            echo("+ " + shlex.join(cmd))
            done = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True)
            if done.returncode != 0:
                raise ScheduleError(f"{shlex.join(cmd)} failed (exit {done.returncode}): "
                                    f"{(done.stderr or done.stdout).strip()}")
        echo(f"enabled {TIMER}; see it with: systemctl {'--user ' if user else ''}"
             f"list-timers {TIMER}")
    else:
        why = "systemctl is not installed" if not exe else "systemd is not PID 1 here"
        echo(f"{why}, so nothing was enabled. On the machine that runs systemd, run:")
        for cmd in commands:
            echo("  " + shlex.join(cmd))
    if user:
        echo("A user timer runs only while you are logged in unless you run: "
             "loginctl enable-linger $USER")
    return written


def _crontab_exe(crontab: str) -> str:
    exe = shutil.which(crontab)
    if not exe:
        raise ScheduleError(f"`{crontab}` not found: install cron (e.g. apt-get install cron) "
                            "or use --format systemd")
    return exe


def read_crontab(crontab: str = "crontab") -> str:
    """The user's crontab ('' when they have none)."""
    done = subprocess.run([_crontab_exe(crontab), "-l"], capture_output=True, text=True)
    if done.returncode != 0:
        if "no crontab" in (done.stderr + done.stdout).lower():
            return ""
        raise ScheduleError(f"crontab -l failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout


def merge_crontab(existing: str, line: str) -> tuple[str, bool]:
    """`existing` with every `# nianbao-crawl` line replaced by `line`; (text, replaced)."""
    if not line.rstrip().endswith(CRON_MARKER):
        line = f"{line.rstrip()} {CRON_MARKER}"
    kept, replaced = [], False
    for old in existing.splitlines():
        if old.rstrip().endswith(CRON_MARKER):
            if not replaced:
                kept.append(line)  # where the old one was
            replaced = True
        else:
            kept.append(old)
    if not replaced:
        kept.append(line)
    return "\n".join(kept) + "\n", replaced


def install_crontab(line: str, crontab: str = "crontab",
                    echo: Callable[[str], None] = print) -> bool:
    """Put `line` in the user's crontab, replacing an earlier `# nianbao-crawl` line.

    Returns True if an earlier line was replaced, False if the line was added.
    """
    text, replaced = merge_crontab(read_crontab(crontab), line)
    done = subprocess.run([_crontab_exe(crontab), "-"], input=text, capture_output=True, text=True)
    if done.returncode != 0:
        raise ScheduleError(f"crontab - failed (exit {done.returncode}): {done.stderr.strip()}")
    echo(("replaced the nianbao line in" if replaced else "added to") + " your crontab:")
    echo("  " + line)
    return replaced


def schedule(data_dir: Path, portals_file: Path, fmt: str | None = None, at: str = DEFAULT_AT,
             install: bool = False, unit_dir: Path | None = None,
             out: Callable[[str], None] = print, note: Callable[[str], None] = print) -> None:
    """What `nianbao schedule` does: print (or install) the units or the crontab line.

    `out` gets what could be saved to a file; `note` gets the explanations.
    """
    fmt = fmt or default_format()
    if fmt == "systemd":
        unit_dir = _abs(unit_dir) if unit_dir else default_unit_dir()
        user = _user_scope(unit_dir)
        units = render_systemd(data_dir, portals_file, at, user=user)
        if install:
            install_systemd(units, unit_dir, user=user, echo=note)
            return
        for name, text in units.items():
            out(f"# {unit_dir / name}\n{text}")
        note(f"To install, run this command again with --install (writes these to {unit_dir}/ "
             "and runs: "
             + "; ".join(shlex.join(c) for c in _systemctl_commands(unit_dir, user)) + ")")
    elif fmt == "cron":
        line = render_crontab(data_dir, portals_file, at)
        if install:
            install_crontab(line, echo=note)
            return
        out(line)
        note("To install, run this command again with --install "
             "(or add the line above with `crontab -e`)")
    else:
        raise ScheduleError(f"unknown format {fmt!r} (systemd or cron)")
