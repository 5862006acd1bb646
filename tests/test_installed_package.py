"""`nianbao serve` from the built package, not the source checkout: a wheel built from this
tree, unpacked into a directory of its own (first on the path, from a working directory
outside the checkout), serves the dashboard, a report page and the search page, with the
metadata and templates it carries itself."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.serving import serving
from tests.test_serve import REPO, archive_dir, get  # noqa: F401  (archive_dir: a fixture)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # no build isolation: the venv's own setuptools builds it, nothing is downloaded
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(out), str(REPO)], capture_output=True, text=True,
                           timeout=280)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = out.glob("nianbao-*.whl")
    target = out / "site"
    zipfile.ZipFile(wheel).extractall(target)
    return target


def test_the_wheel_carries_what_serve_needs(installed):
    web = installed / "archive" / "web"
    assert (web / "metadata.yml").is_file()
    shipped = {p.name for p in (web / "templates").iterdir()}
    source = {p.name for p in (REPO / "archive" / "web" / "templates").iterdir()}
    assert shipped == source and "report.html" in shipped and "index.html" in shipped
    assert (installed / "crawler" / "farm" / "portals.yml").is_file()


def test_serve_runs_from_the_package_alone(installed, archive_dir,  # noqa: F811
                                           tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(installed))  # before the editable checkout
    monkeypatch.chdir(tmp_path)
    where = subprocess.run([sys.executable, "-c", "import archive.web, crawler.serve; "
                            "print(archive.web.__file__); print(crawler.serve.METADATA)"],
                           capture_output=True, text=True, env=os.environ.copy())
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(installed)) for line in where.stdout.split()), where.stdout
    with serving(archive_dir, tmp_path / "log") as (base, _):
        status, _, body = get(base, "/-/dashboards/overview")
        assert status == 200 and "年报总览".encode() in body
        status, _, body = get(base, "/-/report/1")
        assert status == 200 and b"Provenance" in body
        status, _, body = get(base, "/-/search", q="公开")
        assert status == 200 and b"<mark>" in body
        status, _, body = get(base, "/-/metadata.json")
        assert json.loads(body)["databases"]["archive"]["tables"]["report_overview"]["facets"]
