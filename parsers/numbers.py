"""Reading one table cell as a number.

A cell is a number or null, never an invented 0: blank, dashes, slashes and words such as
无 are null. Full-width digits, thousands separators, stray spaces and counting suffixes
(件, 个, 项, 条) are normalised away; money keeps its unit (`552.91 万元` -> 552.91, 万元).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_BLANKS = {"", "-", "--", "---", "/", "\\", "—", "——", "－", "–", "…", "……", "*", "×", "x", "X",
           "空", "null", "none", "n/a"}
_WORDS_FOR_NOTHING = {"无", "暂无", "没有", "无此项", "不适用"}
_MONEY_UNITS = ("亿元", "万元", "千元", "元")
_COUNT_UNITS = ("件", "个", "项", "条", "次", "人次", "人", "宗", "起", "份", "家")
_NUMBER = re.compile(r"^([+-]?)(\d+(?:\.\d+)?|\.\d+)$")


@dataclass(frozen=True)
class Cell:
    """A parsed cell: `value` is None for blank or unreadable; `readable` is False only when
    the cell held something that is neither blank nor a number."""

    value: float | int | None
    unit: str | None
    raw: str
    readable: bool = True


def _plain(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = re.sub(r"[\s\u00a0\u200b\u3000\ufeff]+", "", text)
    # Minus signs and dashes: a leading one is a sign; a lone one means blank.
    text = text.replace("−", "-").replace("－", "-").replace("—", "-").replace("–", "-")
    return text


@lru_cache(maxsize=16384)
def parse_cell(raw: str | None) -> Cell:
    """Parse a cell's text. Never raises. Cached: tables repeat the same few cells."""
    raw = raw or ""
    text = _plain(raw)
    if text.lower() in _BLANKS or re.fullmatch(r"[-/\\.。]+", text or "-"):
        return Cell(None, None, raw)
    if text in _WORDS_FOR_NOTHING:
        return Cell(None, None, raw, readable=False)
    unit = None
    text = re.sub(r"^[（(]?(?:单位[:：])?", "", text) if text.startswith(("(", "（")) else text
    for u in _MONEY_UNITS:
        if text.endswith(u):
            unit, text = u, text[: -len(u)]
            break
    else:
        for u in _COUNT_UNITS:
            if text.endswith(u) and len(text) > len(u):
                text = text[: -len(u)]
                break
    text = text.rstrip("。,，;；")
    # Thousands separators: 1,234,567 (but never a decimal comma).
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    m = _NUMBER.match(text)
    if not m:
        return Cell(None, unit, raw, readable=False)
    sign, digits = m.groups()
    value: float | int = float(digits) if "." in digits else int(digits)
    if sign == "-":
        value = -value
    return Cell(value, unit, raw)


def looks_numeric(raw: str | None) -> bool:
    """True when the cell holds a number (not blank, not text)."""
    cell = parse_cell(raw)
    return cell.value is not None


def is_blank(raw: str | None) -> bool:
    """True when the cell is blank or a blank marker (dash, slash)."""
    cell = parse_cell(raw)
    return cell.value is None and cell.readable and cell.unit is None
