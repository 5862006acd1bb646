"""The report's six parts: find their headings (一、总体情况 … 六、其他需要报告的事项) and
collect the running text under each.

A heading is recognised by its numeral and its words together (三、本年度办理结果 is a row
of table 三, not part three). Headings only move forward: a report that repeats 一、总体情况
inside part one (as some paste last year's report into this one) stays in part one.
"""
from __future__ import annotations

import re

from parsers.document import Document, Paragraph
from parsers.model import SECTION_KEYS
from parsers.normalize import cn_numeral_value, norm

_KEYWORDS = {
    "overview": ("总体情况", "基本情况", "概述", "工作情况"),
    "active_disclosure": ("主动公开",),
    "applications": ("收到和处理", "依申请公开", "申请情况", "申请公开"),
    "review_litigation": ("复议", "诉讼"),
    "problems": ("存在的主要问题", "主要问题", "存在问题", "改进情况", "问题及改进"),
    "other": ("其他需要报告", "其他事项", "其它需要报告", "需要报告的事项"),
}
_HEAD = re.compile(r"^([一二三四五六])[、.,．:：]?")
_MAX_HEADING = 40


def match_section_heading(text: str) -> tuple[str, int] | None:
    """(section key, length of the heading in the normalised text) when `text` starts with
    a part heading, else None."""
    t = norm(text)
    m = _HEAD.match(t)
    if not m:
        return None
    n = cn_numeral_value(m.group(1))
    key = SECTION_KEYS[n - 1]
    head = t[m.end():m.end() + 30]
    for word in _KEYWORDS[key]:
        pos = head.find(word)
        if pos != -1:
            end = m.end() + pos + len(word)
            # Run on to the end of the title words (情况, 事项) when they follow closely.
            tail = re.match(r"[^。，,；;]{0,12}?(情况|事项)", t[end:])
            if tail:
                end += tail.end()
            return key, end
    return None


def split_sections(doc: Document) -> dict:
    """Text of each part, paragraphs joined by newlines; None for parts not found."""
    found: dict[str, list[str]] = {}
    current = -1
    for block in doc.blocks:
        if not isinstance(block, Paragraph):
            continue
        text = block.text.strip()
        hit = match_section_heading(text)
        if hit and (len(norm(text)) <= _MAX_HEADING or block.heading or hit[1] >= 6):
            index = SECTION_KEYS.index(hit[0])
            if index >= current:
                current = index
                found.setdefault(hit[0], [])
                rest = _after_heading(text, hit[1])
                if rest and len(norm(text)) > _MAX_HEADING:
                    found[hit[0]].append(rest)
                continue
        if current >= 0:
            found[SECTION_KEYS[current]].append(text)
    return {key: ("\n".join(found[key]).strip() or None) if key in found else None
            for key in SECTION_KEYS}


def _after_heading(text: str, norm_length: int) -> str:
    """The body text after a heading that shares its paragraph."""
    count = 0
    for i, ch in enumerate(text):
        if norm(ch):
            count += len(norm(ch))
        if count >= norm_length:
            return text[i + 1:].strip(" 　:：。")
    return ""
