"""parsers.vocabulary, the one home of the national tables' labels: its labels are the ones the
formats print, every label and synonym reads back as its own key and as no other, and
metadata.yml and docs/REPORT_MODEL.md say what it says.

The no-shadowing property tested: for every canonical label and synonym of a term, each OTHER
term whose rules also claim it must be named in the term's `precedes` and come after it in
`match_order` (so the matcher, which takes the first claimant, resolves it to its own key), and
every `precedes` entry must be needed by some label or synonym. Reordering `match_order` so
that a claimant comes first, or adding a keyword that claims another term's synonym, fails.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from parsers import labels
from parsers.docx_reader import read_docx
from parsers.html_reader import read_html
from parsers.normalize import norm, strip_numbering
from parsers.vocabulary import (ITEM_HEADINGS, TABLE2_CATEGORIES, TABLE2_MEASURES, TABLE3_COLUMNS,
                                TABLE3_ROWS, TABLE4_GROUPS, TABLE4_MEASURES, VOCABULARIES)
from tests.farm.report_layout import expand_grid, layout_tables

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "tests" / "reference" / "template-2021-blank.docx"
REPORT_2019 = REPO / "tests" / "examples" / "real_pingtan_2020.html"  # a 2019-format report

MATCHERS = {
    "table2.categories": labels.match_category, "table2.measures": labels.match_measure,
    "table3.rows": labels.match_application_row, "table3.columns": labels.match_applicant_column,
    "table4.groups": labels.match_review_group, "table4.measures": labels.match_review_measure,
}


def _examples(term):
    """What must read back as the term: its labels in both formats, its display names,
    its synonyms."""
    return dict.fromkeys(term.labels + term.names + term.synonyms)


def _cases():
    return [(name, t.key, text) for name, vocab in VOCABULARIES.items() for t in vocab.terms
            for text in _examples(t)]


# ----- the labels are the ones the formats print -----

def test_the_2021_template_is_the_vocabulary_laid_out():
    """The blank 2021 template, cell for cell, is the farm's layout of the vocabulary's 2021
    labels (which builds every label cell from parsers.vocabulary)."""
    template = read_docx(TEMPLATE.read_bytes()).tables
    layout = [expand_grid(t) for t in layout_tables({}, "2021", other_rows="three")]
    assert [t.rows for t in template] == layout


def test_the_2019_labels_are_printed_by_a_2019_report():
    cells = {c for t in read_html(REPORT_2019.read_bytes()).tables for row in t.rows for c in row}
    for vocab in VOCABULARIES.values():
        for t in vocab.terms:
            if t.label_in("2019"):
                assert t.label_in("2019") in cells, t.key
            if t.group:
                assert t.group in cells, t.key
    assert set(ITEM_HEADINGS.values()) <= cells


def test_formats_differ_where_the_2019_format_differs():
    assert [t.key for t in TABLE2_MEASURES.terms if t.label_in("2019")] == [
        "made", "published", "total_public", "prior_items", "change", "procurement_items",
        "procurement_amount", "decisions"]
    assert TABLE2_MEASURES["decisions"].label_in("2019") == "处理决定数量"
    rows_2019 = [t.key for t in TABLE3_ROWS.terms if t.label_in("2019")]
    assert "other_processing" in rows_2019 and "other_other" not in rows_2019
    assert len(rows_2019) == 23 and len(TABLE3_ROWS.terms) == 26


# ----- every label and synonym is its own key's -----

@pytest.mark.parametrize("name, key, text", _cases())
def test_reads_back_as_its_own_key(name, key, text):
    assert MATCHERS[name](text) == key


@pytest.mark.parametrize("item, heading", ITEM_HEADINGS.items())
def test_item_headings(item, heading):
    assert labels.match_item_heading(heading) == item


def test_titles_read_back_by_their_most_specific_part():
    # a nested label is matched from the sub-row's own words outwards (applications.py)
    for t in TABLE3_ROWS.terms:
        assert labels.match_application_row(t.title.split()[-1]) == t.key, t.title


@pytest.mark.parametrize("name", VOCABULARIES)
def test_no_label_or_synonym_is_shadowed(name):
    vocab = VOCABULARIES[name]
    rank = {k: i for i, k in enumerate(vocab.match_order)}
    needed = set()
    for t in vocab.terms:
        for text in _examples(t):
            claimants = vocab.claimants(text)
            assert t.key in claimants, (text, "claimed by none of its own rules")
            for other in claimants:
                if other == t.key:
                    continue
                assert other in t.precedes, \
                    f"{text!r} ({t.key}) is also claimed by {other}: declare it in precedes"
                assert rank.get(t.key, len(rank)) < rank[other], \
                    f"{t.key} must be tried before {other}: {text!r} holds {other}'s keywords"
                needed.add((t.key, other))
    declared = {(t.key, other) for t in vocab.terms for other in t.precedes}
    assert declared == needed, f"precedes that no label or synonym needs: {declared - needed}"


@pytest.mark.parametrize("name", VOCABULARIES)
def test_keywords_are_normalised_and_each_is_witnessed(name):
    vocab = VOCABULARIES[name]
    assert len(set(vocab.keys())) == len(vocab.terms)
    assert sorted(vocab.match_order) == sorted(t.key for t in vocab.terms if t.keywords)
    for t in vocab.terms:
        forms = [vocab.form(text) for text in _examples(t)]
        for word in t.keywords + t.unless + t.exact:
            assert norm(word) == word, (t.key, word)
        for word in t.keywords:
            assert any(word in f for f in forms), f"{t.key}: no label or synonym holds {word!r}"
        for word in t.exact:
            assert word in forms, f"{t.key}: no label or synonym is {word!r}"


def test_the_known_shadow_is_resolved():
    """截至本年度止现行有效件数 (in force) holds 度止, the typo rule for 本年度止件数 (repealed)."""
    assert TABLE2_MEASURES.claimants("截至本年度止现行有效件数") == ["in_force", "repealed"]
    assert labels.match_measure("截至本年度止现行有效件数") == "in_force"
    assert labels.match_measure("本年度止件数") == "repealed"


# ----- metadata.yml and docs/REPORT_MODEL.md agree -----

def _segments(text: str, pattern: str) -> dict[str, str]:
    """Split 'a = x; b = y' (or '`a` x `b` y') into {key: the text after it}."""
    parts = re.split(pattern, text)
    out: dict[str, str] = {}
    for key, seg in zip(parts[1::2], parts[2::2]):
        out[key] = out.get(key, "") + seg
    return out


def _agrees(vocab, segments: dict[str, str], texts_of) -> None:
    missing = set(vocab.keys()) - set(segments)
    assert not missing, f"not described: {missing}"
    for t in vocab.terms:
        for text in texts_of(t):
            assert norm(text) in norm(segments[t.key]), (t.key, text, segments[t.key])
    seen_groups = set()
    for t in vocab.terms:  # a group is named with its first member, as the template prints it
        if t.group and t.group not in seen_groups:
            seen_groups.add(t.group)
            assert norm(t.group) in norm(segments[t.key]), (t.key, t.group)


METADATA = yaml.safe_load((REPO / "archive" / "web" / "metadata.yml").read_text("utf-8"))["databases"]["archive"]["tables"]


@pytest.mark.parametrize("table, column, vocab", [
    ("applications", "row", TABLE3_ROWS), ("applications", "column", TABLE3_COLUMNS),
    ("active_disclosure", "category", TABLE2_CATEGORIES),
    ("active_disclosure", "measure", TABLE2_MEASURES),
    ("review_litigation", "review_group", TABLE4_GROUPS),
    ("review_litigation", "measure", TABLE4_MEASURES),
])
def test_metadata_names_every_key_as_the_vocabulary_does(table, column, vocab):
    segments = _segments(METADATA[table]["columns"][column], r"\b([a-z][a-z0-9_]*) = ")
    assert set(segments) == set(vocab.keys())
    _agrees(vocab, segments, lambda t: t.names)


def test_metadata_view_columns_use_the_vocabulary_names():
    wide = METADATA["applications_wide"]["columns"]
    for t in TABLE3_COLUMNS.terms:
        assert all(norm(n) in norm(wide[t.key]) for n in t.names), t.key
    overview = METADATA["report_overview"]["columns"]
    for t in TABLE3_ROWS.terms:
        if t.key in overview:
            assert strip_numbering(t.display) in norm(overview[t.key]), t.key


def _doc_section(heading: str) -> str:
    text = (REPO / "docs" / "REPORT_MODEL.md").read_text("utf-8")
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


@pytest.mark.parametrize("heading, vocab", [
    ("二、", TABLE2_CATEGORIES), ("二、", TABLE2_MEASURES), ("三、", TABLE3_ROWS),
    ("三、", TABLE3_COLUMNS), ("四、", TABLE4_GROUPS), ("四、", TABLE4_MEASURES),
])
def test_report_model_gives_the_canonical_labels(heading, vocab):
    segments = _segments(_doc_section(heading), r"`([a-z][a-z0-9_]*)`")
    _agrees(vocab, segments, lambda t: t.labels)
    if vocab is TABLE2_MEASURES:  # the table's template column
        for t in vocab.terms:
            assert (t.template or "both") in segments[t.key], t.key
