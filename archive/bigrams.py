"""Chinese full-text search with SQLite's own tokenizer: text is indexed as overlapping
character bigrams, so FTS5 `unicode61` (which keeps a whole run of CJK characters as one
token) finds words of two characters and more. FTS5 `trigram` alone finds nothing for
two-character words such as 公开 or 预算 (FIELD_NOTES.md).

`to_bigrams(text)` is what the index `sections_fts` holds (archive/search_index.py);
`bigram_query(q)` turns what a user typed into an FTS5 expression over the same tokens
(registered as a SQL function by the Datasette plugin); `find_words(text, q)` says where the
words typed are in the original text, for excerpts that mark them.
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


def query_words(query: str | None) -> list[str]:
    """The words (or "quoted phrases") of a query, as typed."""
    parts = ((quoted or word).strip() for quoted, word in _QUERY_PART.findall(query or ""))
    return [part for part in parts if part]


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` in the form search compares (NFKC, lower case), with the index in `text` of
    each of its characters."""
    out, where = [], []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch).lower()
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where


def find_words(text: str | None, query: str | None) -> list[tuple[int, int]]:
    """(start, end) of every occurrence in `text` of a word of `query`, in text order, not
    overlapping; compared as the index does (full-width and half-width alike, any case)."""
    text = text or ""
    folded, where = _folded(text)
    spans = []
    for word in query_words(query):
        w = unicodedata.normalize("NFKC", word).lower()
        start = folded.find(w)
        while w and start >= 0:
            end = start + len(w)
            spans.append((where[start], where[end - 1] + 1))
            start = folded.find(w, end)
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def excerpt_window(text: str, spans: list[tuple[int, int]], width: int = 80) -> tuple[int, int]:
    """(start, end) of about `width` characters of `text` centred on the first span (the
    start of the text when there is none)."""
    if not spans:
        return 0, min(len(text), width)
    pos, end = spans[0]
    start = max(0, pos - (width - (end - pos)) // 2)
    return start, min(len(text), max(start + width, end))


def search_excerpt(text: str | None, query: str | None, width: int = 80) -> str:
    """About `width` characters of `text` around the first word of `query` found in it,
    the word marked with 【】; the start of the text when no word is found."""
    text = " ".join((text or "").split())
    spans = find_words(text, query)
    start, end = excerpt_window(text, spans, width)
    if not spans:
        return text[:end] + ("…" if end < len(text) else "")
    pos, stop = spans[0]
    return ("…" if start else "") + text[start:pos] + "【" + text[pos:stop] + "】" + \
        text[stop:end] + ("…" if end < len(text) else "")
