"""Text normalisation shared by every part of the builder.

Real reports mix full-width and half-width forms, pad with spaces and non-breaking spaces,
break labels across lines and write the same punctuation five ways. `norm` gives the form
labels are matched in: NFKC (full-width digits, letters and brackets become ASCII), no
whitespace at all, curly quotes unified. `strip_numbering` also drops a leading list marker
such as `三、`, `（一）`, `1.` or `2、` so that a label is matched on its words.
"""
from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"[\s\u00a0\u2000-\u200b\u3000\ufeff]+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"',
                         "『": '"', "』": '"', "〔": "[", "〕": "]", "【": "[", "】": "]",
                         "—": "-", "–": "-", "－": "-", "―": "-", "、": ",", "，": ","})
CN_NUMERALS = "一二三四五六七八九十"
_NUMBERING = re.compile(
    r"^(?:[(（]?[一二三四五六七八九十]{1,3}[)）、.,]|[(（][0-9]{1,2}[)）]|[0-9]{1,2}[.、,)）](?![0-9]))+"
)


def clean_text(text: str) -> str:
    """Collapse runs of whitespace (including nbsp and ideographic space) into one space.
    The characters stay as printed: section text is quoted, so 《》，（） are kept."""
    return _SPACE.sub(" ", text or "").strip()


def norm(text: str) -> str:
    """The matching form of a label: NFKC, no whitespace, unified quotes and dashes."""
    text = unicodedata.normalize("NFKC", text or "")
    return _SPACE.sub("", text).translate(_QUOTES)


def strip_numbering(text: str) -> str:
    """`norm` without a leading list marker: '（三）不予公开' -> '不予公开'."""
    return _NUMBERING.sub("", norm(text))


def cn_numeral_value(s: str) -> int | None:
    """'六' -> 6, '十二' -> 12, '5' -> 5; None when it is neither."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if not s or any(ch not in CN_NUMERALS for ch in s):
        return None
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + CN_NUMERALS.index(s[1]) + 1
    if len(s) == 1:
        return CN_NUMERALS.index(s) + 1
    if len(s) == 2 and s[1] == "十":
        return (CN_NUMERALS.index(s[0]) + 1) * 10
    if len(s) == 3 and s[1] == "十":
        return (CN_NUMERALS.index(s[0]) + 1) * 10 + CN_NUMERALS.index(s[2]) + 1
    return None
