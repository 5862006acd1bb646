"""Document -> Report: the one place that knows the report's structure and none of the
file formats. Each table has its own module; this one puts their results together with
the title, year, template, region, sections and checks.
"""
from __future__ import annotations

from parsers.active import extract_active
from parsers.applications import extract_applications
from parsers.checks import evaluate_checks
from parsers.document import Document
from parsers.metadata import (agency_from_text, agency_from_title, decide_template, decide_year,
                              find_title, published_date, year_candidates)
from parsers.model import has_table_values, new_report
from parsers.region import find_region
from parsers.review import extract_review
from parsers.sections import split_sections


def build_report(doc: Document, *, parser_version: str, source: dict,
                 published_hint: str | None = None, region_hint: dict | None = None) -> dict:
    report = new_report(parser_version)
    report["source"].update(source)
    report["source"]["format"] = doc.format
    warnings: list[str] = list(doc.warnings)
    tables = doc.tables

    report["active_disclosure"] = extract_active(tables, warnings)
    report["applications"] = extract_applications(tables, warnings)
    report["review_litigation"] = extract_review(tables, warnings)

    title = find_title(doc)
    report["title"] = title
    report["agency"] = agency_from_title(title) or agency_from_text(doc)
    report["published_at"] = published_date(doc, published_hint)
    candidates = year_candidates(doc, title)
    first_guess = max(candidates, key=lambda c: c[2])[0] if candidates else None
    report["template"] = decide_template(report["active_disclosure"], report["applications"],
                                         first_guess, warnings)
    report["year"] = decide_year(candidates, report["template"], report["published_at"], warnings)

    report["sections"] = split_sections(doc)
    text = doc.text()
    report["region"] = find_region(report["agency"], title, text, region_hint)
    report["checks"] = evaluate_checks(report)

    if not has_table_values(report):
        warnings.append("none of the three statistics tables was found"
                        + (" (the page may only link to the report as an attachment)"
                           if doc.format == "html" else ""))
    else:
        for name, key in (("二", "active_disclosure"), ("三", "applications"),
                          ("四", "review_litigation")):
            if not report[key]:
                warnings.append(f"table {name} was not found")
    if not report["agency"]:
        warnings.append("agency not found in the title or text")
    if report["year"] is None:
        warnings.append("year not found")
    report["warnings"] = warnings
    return report
