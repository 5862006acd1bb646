"""Convert office files with LibreOffice headless, and read DOC and WPS files through DOCX.
Each call runs soffice with its own profile directory (two conversions sharing a profile
silently lose one output) in a new process group that is killed whole on timeout, since
some .wps files hang LibreOffice. Files live in a private temporary directory, removed after.

A conversion that cannot be made (soffice missing, timed out, failed, no output) raises
`ConversionError`, from `read_doc` and `read_wps` too: never an empty document, for the
parse batch to store a failed parse with its reason, to be retried.

Environment: NIANBAO_SOFFICE, the soffice to run (a path, or a name looked up on PATH;
default: the first of `_CANDIDATES` found); NIANBAO_SOFFICE_TIMEOUT, the seconds one
conversion may take when the caller gives no timeout (default 60)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import olefile

from .document import Document

_FILTERS = {
    "docx": "docx:MS Word 2007 XML",
    "doc": "doc:MS Word 97",
    "pdf": "pdf:writer_pdf_Export",
}
_CANDIDATES = ("soffice", "libreoffice", "/usr/lib/libreoffice/program/soffice",
               "/opt/libreoffice/program/soffice")
DEFAULT_TIMEOUT = 60.0


class ConversionError(RuntimeError):
    """LibreOffice could not convert the file: missing, timed out, failed or wrote nothing."""


def find_soffice() -> str | None:
    """$NIANBAO_SOFFICE when set (None if it names no executable), else the first candidate."""
    override = os.environ.get("NIANBAO_SOFFICE")
    for name in (override,) if override else _CANDIDATES:
        path = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if path:
            return path
    return None


def default_timeout() -> float:
    """$NIANBAO_SOFFICE_TIMEOUT seconds, else DEFAULT_TIMEOUT."""
    value = os.environ.get("NIANBAO_SOFFICE_TIMEOUT")
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise ValueError(f"NIANBAO_SOFFICE_TIMEOUT must be a number of seconds, not {value!r}")
    return seconds


def convert(data: bytes, suffix: str, to: str = "docx", timeout: float | None = None,
            filter: str | None = None) -> bytes:
    """Convert `data` (a file whose type `suffix` names: doc, wps, docx, rtf, csv...) to `to`
    (docx, doc or pdf) and return the new file's bytes. `filter` overrides the
    LibreOffice export filter (e.g. with options); `timeout` defaults to
    `default_timeout()`. Raises ConversionError."""
    if to not in _FILTERS and filter is None:
        raise ValueError(f"cannot convert to {to!r}; one of {sorted(_FILTERS)}")
    if timeout is None:
        timeout = default_timeout()
    soffice = find_soffice()
    if soffice is None:
        override = os.environ.get("NIANBAO_SOFFICE")
        raise ConversionError(f"LibreOffice: NIANBAO_SOFFICE={override!r} is not an executable"
                              if override else "LibreOffice (soffice) is not installed")
    suffix = suffix.lstrip(".").lower() or "bin"
    work = Path(tempfile.mkdtemp(prefix="nianbao-lo-"))
    try:
        src = work / f"input.{suffix}"
        src.write_bytes(data)
        outdir = work / "out"
        outdir.mkdir()
        cmd = [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
               "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
               "--convert-to", filter or _FILTERS[to], "--outdir", str(outdir), str(src)]
        _run(cmd, timeout, work)
        outputs = [p for p in outdir.iterdir() if p.is_file() and p.stat().st_size > 0]
        if not outputs:
            raise ConversionError(f"LibreOffice wrote no {to} output for the .{suffix} file "
                                  "(unsupported or damaged input)")
        return outputs[0].read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(cmd: list[str], timeout: float, home: Path) -> None:
    env = dict(os.environ, HOME=str(home), SAL_USE_VCLPLUGIN="svp")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=home,
                            env=env, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ConversionError(f"LibreOffice timed out after {timeout:g} s") from None
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        _kill_group(proc, only_children=True)
    if proc.returncode != 0:
        raise ConversionError(f"LibreOffice failed (exit {proc.returncode}): "
                              f"{err.decode('utf-8', 'replace').strip()[:300]}")


def _kill_group(proc: subprocess.Popen, only_children: bool = False) -> None:
    """Kill soffice's whole process group (the wrapper script and soffice.bin)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if not only_children:
        try:
            proc.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError):
            pass


def convert_to_docx(data: bytes, suffix: str, timeout: float | None = None) -> bytes:
    return convert(data, suffix, to="docx", timeout=timeout)


def _read_via_docx(data: bytes, suffix: str, fmt: str, timeout: float | None) -> Document:
    from .docx_reader import read_docx

    return read_docx(convert_to_docx(data, suffix, timeout=timeout), fmt=fmt)


def read_doc(data: bytes, timeout: float | None = None) -> Document:
    """A Word 97-2003 (or RTF) file, read through LibreOffice's DOCX export.
    Raises ConversionError when LibreOffice cannot convert it."""
    return _read_via_docx(data, "rtf" if data.startswith(b"{\\rtf") else "doc", "doc", timeout)


def read_wps(data: bytes, timeout: float | None = None) -> Document:
    """A Kingsoft WPS file. Modern .wps files are Word-binary compound files that
    LibreOffice opens as .doc; anything else is handed over as .wps (Works import).
    Raises ConversionError when LibreOffice cannot convert it."""
    try:
        word_binary = olefile.OleFileIO(data).exists("WordDocument")
    except Exception:  # not a compound file at all
        word_binary = False
    return _read_via_docx(data, "doc" if word_binary else "wps", "wps", timeout)
