"""Chinese full-text search with SQLite's own tokenizer: text is indexed as overlapping
character bigrams, so FTS5 `unicode61` (which keeps a whole run of CJK characters as one
token) finds words of two characters and more. FTS5 `trigram` alone finds nothing for
two-character words such as 公开 or 预算 (FIELD_NOTES.md).

`to_bigrams(text)` fills `sections.search_text` at indexing time; `bigram_query(q)` turns
what a user typed into an FTS5 expression over the same tokens (registered as a SQL function
by the Datasette plugin).
"""
from __future__ import annotations

import re
import unicodedata

# Han ideographs (basic, extensions A-F, compatibility) plus 〇 and 々, as used in dates and names.
_CJK = "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+)")
# A quoted phrase or a run of non-space characters.
_QUERY_PART = re.compile(r'"([^"]*)"?|(\S+)')


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Search tokens, each with a flag: True for a lone CJK character (a run of one)."""
    tokens: list[tuple[str, bool]] = []
    # NFKC folds full-width digits and letters (２０２３, ＡＢＣ) into their ASCII forms.
    for cjk, word in _TOKEN.findall(unicodedata.normalize("NFKC", text or "")):
        if len(cjk) == 1:
            tokens.append((cjk, True))
        elif cjk:
            tokens.extend((cjk[i:i + 2], False) for i in range(len(cjk) - 1))
        else:
            tokens.append((word.lower(), False))
    return tokens


def to_bigrams(text: str | None) -> str:
    """Return `text` as space-separated search tokens.

    Each run of CJK characters becomes its overlapping bigrams (a run of one character stays
    as itself); other words are kept, lower-cased; punctuation is dropped.

    >>> to_bigrams("信息公开，2023年")
    '信息 息公 公开 2023 年'
    """
    return " ".join(token for token, _ in _tokens(text or ""))


def bigram_query(query: str | None) -> str:
    """Return an FTS5 MATCH expression finding rows of bigram text that contain `query`.

    Each word (or "quoted phrase") becomes one FTS5 phrase of its bigrams; several are ANDed:
    `公开` -> `"公开"`, `信息公开` -> `"信息 息公 公开"`, `预算 公开` -> `"预算" AND "公开"`.
    Tokens never contain quotes or operators, so user input cannot inject FTS syntax; a query
    with no words gives `""`, which matches nothing (and does not raise).

    A lone CJK character next to digits or letters (`2023年`, `第3条`) is not a token of
    the indexed text when that text continues with more CJK (`2023年度` is indexed as
    `2023 年度`), so it becomes a prefix at the end of a phrase (`"2023 年" *`) and elsewhere
    splits the phrase (`第3条` -> `"3 条" *`): a little wider than the exact words, never
    missing them.
    """
    phrases = []
    for quoted, word in _QUERY_PART.findall(query or ""):
        tokens = _tokens(quoted or word)
        current: list[str] = []
        for i, (token, lone) in enumerate(tokens):
            if lone and i < len(tokens) - 1:
                if current:
                    phrases.append('"' + " ".join(current) + '"')
                    current = []
                continue
            current.append(token)
            if lone:  # the last token: match it as the start of a bigram too
                phrases.append('"' + " ".join(current) + '" *')
                current = []
        if current:
            phrases.append('"' + " ".join(current) + '"')
    return " AND ".join(phrases) if phrases else '""'


def search_excerpt(text: str | None, query: str | None, width: int = 80) -> str:
    """About `width` characters of `text` around the first word of `query` found in it,
    the word marked with 【】; the start of the text when no word is found as typed."""
    text = " ".join((text or "").split())
    words = [q or w for q, w in _QUERY_PART.findall(query or "")]
    hits = [(text.find(w), w) for w in words if w and text.find(w) >= 0]
    if not hits:
        return text[:width] + ("…" if len(text) > width else "")
    pos, word = min(hits)
    start = max(0, pos - (width - len(word)) // 2)
    end = min(len(text), start + width)
    return ("…" if start else "") + text[start:pos] + "【" + word + "】" + \
        text[pos + len(word):end] + ("…" if end < len(text) else "")
