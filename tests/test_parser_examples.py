"""Every example report parses to exactly its expected flat values (juriscraper style).

A case is two files in tests/examples/: the report as published (`NAME.txt`, `.html`,
`.pdf`, `.docx`, ...) and `NAME.expected.json` with `values` (every table cell, null for a
blank cell; a row the report does not print is absent) and `meta` (year, template,
agency_contains, province/city/county contained in the region). The input goes through
`nianbao parse-file --json`, the command a user runs.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from parsers import parse_bytes
from parsers.model import table_values

EXAMPLES = Path(__file__).parent / "examples"
CASES = sorted(EXAMPLES.glob("*.expected.json"))


def _input_for(expected: Path) -> Path:
    stem = expected.name[: -len(".expected.json")]
    inputs = [p for p in EXAMPLES.glob(stem + ".*") if not p.name.endswith(".expected.json")]
    assert len(inputs) == 1, f"{expected.name}: expected one input file beside it, found {inputs}"
    return inputs[0]


def test_there_are_cases():
    # pytest skips a test parametrised over an empty list: make that a failure.
    assert len(CASES) >= 5


def test_every_input_has_an_expectation():
    """A new example without its expected values fails until someone writes and reviews them."""
    inputs = {p.name.split(".")[0] for p in EXAMPLES.iterdir()
              if p.is_file() and not p.name.endswith(".expected.json") and p.suffix != ".md"}
    expected = {p.name[: -len(".expected.json")] for p in CASES}
    assert inputs <= expected, f"examples without .expected.json: {sorted(inputs - expected)}"


def parse_file_json(path: Path) -> dict:
    result = CliRunner().invoke(cli, ["parse-file", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("expected_file", CASES, ids=lambda p: p.name.split(".")[0])
def test_example_values_exact(expected_file):
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    report = parse_file_json(_input_for(expected_file))
    flat = table_values(report)
    wrong = {k: (v, flat.get(k, "<absent>")) for k, v in expected["values"].items()
             if flat.get(k, "<absent>") != v or type(flat.get(k)) is bool}
    extra = sorted(set(flat) - set(expected["values"]))
    assert not wrong, f"values differing (expected, got): {wrong}"
    assert not extra, f"values the report does not print: {extra}"


@pytest.mark.parametrize("expected_file", CASES, ids=lambda p: p.name.split(".")[0])
def test_example_meta(expected_file):
    meta = json.loads(expected_file.read_text(encoding="utf-8"))["meta"]
    report = parse_file_json(_input_for(expected_file))
    assert report["year"] == meta["year"]
    assert report["template"] == meta["template"]
    assert meta["agency_contains"] in (report["agency"] or "")
    for key in ("province", "city", "county"):
        if key in meta:
            assert meta[key] in (report["region"][key] or ""), (key, report["region"])
    assert report["source"]["sha256"] and report["source"]["format"] == _input_for(
        expected_file).suffix.lstrip(".")


@pytest.mark.parametrize("expected_file", CASES, ids=lambda p: p.name.split(".")[0])
def test_example_checks_match_the_notes(expected_file):
    """Checks are evaluated on the values as printed: the failing checks are exactly those
    the example's notes name in full (pingtan's （七）总计 20 vs 26); nothing else fails."""
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    report = parse_file_json(_input_for(expected_file))
    assert report["checks"], "no check evaluated"
    notes = " ".join(expected.get("notes", []))
    failed = sorted(c["rule"] for c in report["checks"] if not c["ok"])
    named = sorted(c["rule"] for c in report["checks"] if c["rule"] in notes)
    assert failed == named


TEXT_CASES = [p for p in CASES if _input_for(p).suffix == ".txt"]


def _one_cell_per_line(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        lines += [c.strip() for c in line.split("\t") if c.strip()] if "\t" in line else [line]
    return "\n".join(lines)


def _pipes(text: str) -> str:
    return "\n".join(f"| {line.replace(chr(9), ' | ')} |" if "\t" in line else line
                     for line in text.split("\n"))


# The other shapes text tools give a table in: every cell on a line of its own (blank cells
# lost); cells separated by one or two spaces (PDF text extraction); Markdown pipe rows.
SHAPES = {
    "one_cell_per_line": _one_cell_per_line,
    "one_space": lambda t: t.replace("\t", " "),
    "two_spaces": lambda t: t.replace("\t", "  "),
    "markdown_pipes": _pipes,
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("expected_file", TEXT_CASES, ids=lambda p: p.name.split(".")[0])
def test_text_example_in_other_shapes(expected_file, shape):
    """The example's values must come out the same whatever the text table's shape."""
    text = SHAPES[shape](_input_for(expected_file).read_text(encoding="utf-8"))
    report = parse_bytes(text.encode("utf-8"), filename="report.txt")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert table_values(report) == expected["values"]
    assert report["template"] == expected["meta"]["template"]


def test_real_pdf_text_fragment():
    """Real PDF text extraction (tests/fragments/ABOUT.md): every row it holds has the
    values of the full report's expected file, wrapped labels included."""
    fragment = Path(__file__).parent / "fragments" / "huaian_2024_section3_pdftext.txt"
    report = parse_bytes(fragment.read_bytes(), filename=fragment.name)
    expected = json.loads((EXAMPLES / "real_huaian_2024.expected.json").read_text("utf-8"))
    values = table_values(report)
    rows = {k.rsplit(".", 1)[0] for k in values}
    assert len(rows) == 16  # 13 rows of table 三, 3 of table 二
    assert values == {k: v for k, v in expected["values"].items() if k.rsplit(".", 1)[0] in rows}
