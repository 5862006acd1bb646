"""The matchers that map a printed label of the national tables to its key (REPORT_MODEL.md),
and the key lists the builder uses, all derived from `parsers.vocabulary`.

Matching is by keywords on the label's matching form (see `Vocabulary.form`), in each
vocabulary's match order, so that typos and paraphrases still land (本年度止件数 is
本年废止件数, 社会组织 is 社会公益组织). A label that matches nothing returns None; the caller
decides what to do (fixed row order, a warning), never this module.
"""
from __future__ import annotations

import difflib
import re
from functools import lru_cache

from parsers.normalize import norm, strip_numbering
from parsers.vocabulary import (TABLE2_CATEGORIES, TABLE2_MEASURES, TABLE3_COLUMNS, TABLE3_ROWS,
                                TABLE4_GROUPS, TABLE4_MEASURES, Vocabulary)


def _matcher(vocab: Vocabulary):
    """first(text): the first key in match order whose keywords the matching form `text`
    holds (and none of its `unless` words), else the key `text` is an exact match of."""
    ranked, exact = vocab.ranked(), vocab.exact()

    def first(text: str) -> str | None:
        for term in ranked:
            if term.claims(text):
                return term.key
        return exact.get(text)
    return first


# 三、收到和处理政府信息公开申请情况 ----------------------------------------------------

APPLICANT_COLUMNS = TABLE3_COLUMNS.keys()

# Canonical order of table 三's rows (2021 format with the three (六) sub-rows; the 2019
# format and many 2021 reports have the single other_processing row in their place).
APPLICATION_ROWS = TABLE3_ROWS.keys()
RESULT_ROWS = APPLICATION_ROWS[2:24]  # every row that (七) 总计 sums

_first_row = _matcher(TABLE3_ROWS)
_NOTE = re.compile(r"（[^（）]*）$")  # the template's own remark after a label
# fuzzy targets: a row's own words, without list marker or remark
_ROW_CHOICES = {t.key: strip_numbering(_NOTE.sub("", t.label)) for t in TABLE3_ROWS.terms}


@lru_cache(maxsize=8192)
def match_application_row(label: str) -> str | None:
    """Map one printed row label (a single cell's text) to a row key, or None.

    '其他' alone (the third (六) sub-row of the 2021 format) is other_other: in table 三 a
    data row labelled just 其他 has no other reading."""
    text = TABLE3_ROWS.form(label)
    if not text:
        return None
    return _first_row(text) or _fuzzy(text, _ROW_CHOICES)


_first_column = _matcher(TABLE3_COLUMNS)


@lru_cache(maxsize=4096)
def match_applicant_column(label: str) -> str | None:
    """Map a header cell of table 三 to a column key. 其他 must be the whole cell: the
    spanning header 法人或其他组织 also contains it."""
    return _first_column(TABLE3_COLUMNS.form(label))


# 二、主动公开政府信息情况 ---------------------------------------------------------------

CATEGORY_ITEMS = {t.key: t.item for t in TABLE2_CATEGORIES.terms}
_first_category = _matcher(TABLE2_CATEGORIES)


@lru_cache(maxsize=4096)
def match_category(label: str) -> str | None:
    """Map the first cell of a table 二 row to a category key."""
    text = TABLE2_CATEGORIES.form(label)
    if not text or len(text) > 20:
        return None
    return _first_category(text)


MEASURE_TEMPLATE = {t.key: t.template for t in TABLE2_MEASURES.terms}
MONEY_MEASURES = {t.key for t in TABLE2_MEASURES.terms if t.money}
_first_measure = _matcher(TABLE2_MEASURES)


@lru_cache(maxsize=4096)
def match_measure(label: str) -> str | None:
    """Map a table 二 column header to a measure key."""
    return _first_measure(TABLE2_MEASURES.form(label))


_ITEM_RE = re.compile(r"第二十[六条]*条?第?[(（]?([一二三四五六七八九十]{1,2})[)）]?项")


@lru_cache(maxsize=4096)
def match_item_heading(label: str) -> str | None:
    """'第二十条第（六）项' -> '20.6'; also the misprint 第二十六条第（六）项 -> '20.6'."""
    from parsers.normalize import cn_numeral_value

    m = _ITEM_RE.search(norm(label))
    if not m:
        return None
    n = cn_numeral_value(m.group(1))
    return f"20.{n}" if n else None


def unit_in(label: str) -> str | None:
    """A money unit stated in a header or cell: '本年收费金额（单位：万元）' -> '万元'."""
    text = norm(label)
    for unit in ("亿元", "万元", "千元"):
        if unit in text:
            return unit
    if re.search(r"(单位[:：]?元|[（(]元[)）])", text):
        return "元"
    return None


# 四、政府信息公开行政复议、行政诉讼情况 -------------------------------------------------

REVIEW_GROUPS = TABLE4_GROUPS.keys()
REVIEW_MEASURES = TABLE4_MEASURES.keys()
_first_group = _matcher(TABLE4_GROUPS)
_first_review_measure = _matcher(TABLE4_MEASURES)


def match_review_group(label: str) -> str | None:
    return _first_group(TABLE4_GROUPS.form(label))


def match_review_measure(label: str) -> str | None:
    return _first_review_measure(TABLE4_MEASURES.form(label))


def _fuzzy(text: str, choices: dict[str, str], cutoff: float = 0.75) -> str | None:
    """Closest canonical label for a typo the keyword rules missed."""
    if len(text) < 4 or not re.search(r"[\u4e00-\u9fff]{3}", text):
        return None
    best, best_ratio = None, cutoff
    for key, canonical in choices.items():
        ratio = difflib.SequenceMatcher(None, text, canonical).ratio()
        if ratio > best_ratio:
            best, best_ratio = key, ratio
    return best
