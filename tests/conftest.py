"""Shared test fixtures: paths to the repository, the examples and a fresh data directory."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "examples"


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty archive directory, as `--data` would name."""
    d = tmp_path / "data"
    d.mkdir()
    return d
