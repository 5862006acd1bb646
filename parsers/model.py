"""The Report dict (REPORT_MODEL.md): a new empty one, and its flattened form.

The flat form is what tests, evaluations and `parse_changes` compare: `year`, `template`,
`agency`, `applications.<row>.<column>`, `review_litigation.<group>.<measure>` and
`active_disclosure.<item>.<category>.<measure>` (the entry's value).
"""
from __future__ import annotations

SCHEMA_VERSION = 1
SECTION_KEYS = ["overview", "active_disclosure", "applications", "review_litigation",
                "problems", "other"]


def new_report(parser_version: str) -> dict:
    """A report with every key present and nothing read yet."""
    return {
        "schema_version": SCHEMA_VERSION,
        "title": None,
        "agency": None,
        "year": None,
        "template": None,
        "published_at": None,
        "region": {"province": None, "city": None, "county": None, "township": None,
                   "adcode": None},
        "sections": {key: None for key in SECTION_KEYS},
        "active_disclosure": [],
        "applications": {},
        "review_litigation": {},
        "checks": [],
        "warnings": [],
        "source": {"url": None, "sha256": None, "format": None, "capture_id": None},
        "parser_version": parser_version,
    }


def flatten(report: dict) -> dict:
    """Flat `path: value` pairs of a report's identity and table values."""
    flat: dict = {"year": report.get("year"), "template": report.get("template"),
                  "agency": report.get("agency")}
    for row, columns in (report.get("applications") or {}).items():
        for column, value in columns.items():
            flat[f"applications.{row}.{column}"] = value
    for group, measures in (report.get("review_litigation") or {}).items():
        for measure, value in measures.items():
            flat[f"review_litigation.{group}.{measure}"] = value
    for entry in report.get("active_disclosure") or []:
        flat[f"active_disclosure.{entry['item']}.{entry['category']}.{entry['measure']}"] = (
            entry["value"])
    return flat


TABLE_PREFIXES = ("applications.", "review_litigation.", "active_disclosure.")


def table_values(report: dict) -> dict:
    """The flat values of the three tables only (what the example files list)."""
    return {k: v for k, v in flatten(report).items() if k.startswith(TABLE_PREFIXES)}


def has_table_values(report: dict) -> bool:
    """True when any of the three tables was found."""
    return bool(report.get("applications") or report.get("review_litigation")
                or report.get("active_disclosure"))
