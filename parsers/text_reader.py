"""Plain text (as other tools extract it from Word files, PDFs and web pages) -> Document.

Table shapes that occur: Apache Tika's tab-per-cell lines (parsers/text_cells.py, read
first); tab-separated lines (blank lines inside a table are skipped, a label broken over
two lines stays two rows for the builder to join); one cell per line (a label line followed
by its numbers, one per line; in LibreOffice's text export an empty line is an empty cell);
a row per line with its cells separated by spaces, the way PDF text extraction gives them
(`一、本年新收… 3001 53 0 0 61 4 3119`, with long labels wrapped onto lines of their own:
such rows lose their blank cells, and the table says which rows they are, `packed_rows`);
Markdown pipe tables (`<br>` inside a cell, a label left outside above its values row); and
mixes. Spaced and pipe rows are turned into tab rows first, with the short label and header
lines around them, so one table builder serves all; page footers (— 5 —) are dropped.
Markdown headings (`#`) and bullets (`- `) are unwrapped. Text tables are marked
`aligned=False`: their columns do not line up, only the order of cells on a line means
something.
"""
from __future__ import annotations

import re

from parsers.decode import decode_bytes
from parsers.document import Document, Paragraph, Table
from parsers.labels import match_application_row, match_category
from parsers.numbers import is_blank, looks_numeric
from parsers.reader_text import join_pieces
from parsers.sections import match_section_heading
from parsers.text_cells import cell_line_rows, cell_line_runs

_BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")  # how Apache Tika writes a Word bookmark

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_SHORT = 40  # a line in a one-cell-per-line table is short


def read_text(data: bytes) -> Document:
    text, _, warnings = decode_bytes(data)
    return text_to_document(text, warnings)


def text_to_document(text: str, warnings: list[str] | None = None) -> Document:
    raw = _BOOKMARK.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    doc = Document(format="txt", warnings=list(warnings or []))
    start = 0
    for begin, end in cell_line_runs(raw):
        _read_lines(raw[start:begin], doc)
        doc.blocks.append(Table(cell_line_rows(raw[begin:end]), aligned=False))
        start = end
    _read_lines(raw[start:], doc)
    return doc


def _read_lines(raw: list[str], doc: Document) -> None:
    lines, packed = _as_tab_rows(raw)
    i = 0
    while i < len(lines):
        line = lines[i]
        if "\t" in line:
            i = _tab_table(lines, i, doc, packed)
        elif _cell_per_line_run(lines, i):
            i = _cell_per_line_table(lines, i, doc)
        else:
            _paragraph(line, doc)
            i += 1


def _paragraph(line: str, doc: Document) -> None:
    heading = bool(_MD_HEADING.match(line))
    text = _BOLD.sub(r"\1", _BULLET.sub("", _MD_HEADING.sub("", line))).strip()
    if text:
        doc.blocks.append(Paragraph(text, heading=heading))


def _tab_table(lines: list[str], i: int, doc: Document, packed: set[int]) -> int:
    rows, packed_rows = [], set()
    while i < len(lines):
        if "\t" in lines[i]:
            if i in packed:
                packed_rows.add(len(rows))
            rows.append([c.strip() for c in lines[i].split("\t")])
            i += 1
        elif not lines[i].strip() and _next_nonblank_has_tab(lines, i):
            i += 1
        else:
            break
    doc.blocks.append(Table(rows, aligned=False, packed_rows=frozenset(packed_rows)))
    return i


def _next_nonblank_has_tab(lines: list[str], i: int) -> bool:
    for line in lines[i:]:
        if line.strip():
            return "\t" in line
    return False


def _is_value_line(line: str) -> bool:
    s = line.strip()
    return bool(s) and (looks_numeric(s) or (is_blank(s) and s in "-—/／－"))


def _ends_run(line: str) -> bool:
    """A line that cannot be a cell: a tab row, running text, or a part heading."""
    s = line.strip()
    return ("\t" in line or (len(s) > _SHORT and not _is_value_line(s)) or s.endswith("。")
            or bool(_MD_HEADING.match(line)) or match_section_heading(s) is not None)


def _cell_per_line_run(lines: list[str], i: int) -> bool:
    """True when lines[i] starts a run of short lines holding at least five numbers."""
    if _ends_run(lines[i]):
        return False
    numbers = 0
    for line in lines[i:i + 60]:
        s = line.strip()
        if not s:
            continue
        if _ends_run(line):
            break
        numbers += _is_value_line(s)
        if numbers >= 5:
            return not _is_value_line(lines[i])
    return False


def _cell_per_line_table(lines: list[str], i: int, doc: Document) -> int:
    rows: list[list[str]] = []  # each row's label, then its value lines, blank lines as ""
    while i < len(lines):
        s = lines[i].strip()
        if s and _ends_run(lines[i]):
            break
        if s and not _is_value_line(s):
            rows.append([s])
        elif rows:
            rows[-1].append(s)
        i += 1
    blank_cells = _blank_lines_are_cells(rows)
    rows = [[row[0]] + [c for c in row[1:] if c or blank_cells] for row in rows]
    if blank_cells:  # the blank lines after a row's last cell separate it from the next
        rows = [row[:1] + row[1:_row_width(rows) + 1] for row in rows]
    doc.blocks.append(Table(rows, aligned=False))
    return i


def _row_width(rows: list[list[str]]) -> int:
    return max((len(row) - 1 for row in rows if all(row[1:])), default=0)


def _blank_lines_are_cells(rows: list[list[str]]) -> bool:
    """Whether a blank line in this run is an empty cell (LibreOffice's text export writes
    each cell on a line of its own, an empty one as an empty line) rather than spacing: yes
    when some rows are full (as many values as the widest row, no blank among them) and the
    rows with blanks are, blanks counted, just as wide."""
    width = _row_width(rows)
    if width < 2:
        return False
    with_blanks = [row for row in rows if any(row[1:]) and not all(row[1:])]
    if not with_blanks:
        return False
    return all(len(row) - 1 >= width and any(row[1:width + 1]) and not any(row[width + 1:])
               for row in with_blanks)


# --- spaced and pipe rows -> tab rows ------------------------------------------------------

# A page number printed in the footer: — 5 —, - 5 -, 第5页, 第 5 页 共 12 页
_PAGE_FOOTER = re.compile(r"^\s*(?:[—\-－–]+\s*\d{1,3}\s*[—\-－–]+|第\s*\d{1,3}\s*页"
                          r"(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?)\s*$")
_BR = re.compile(r"<br\s*/?>", re.I)
_PIPE_RULE = re.compile(r"^\s*\|?[\s:|-]*-{3,}[\s:|-]*\|?\s*$")
_BLANK_MARKS = {"-", "—", "/", "／", "－"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _as_tab_rows(lines: list[str]) -> tuple[list[str], set[int]]:
    """Rewrite pipe rows and space-separated rows (with the short lines around them) as
    tab rows; every other line is returned as it was. Also returns the indices of the
    space-separated rows: their blank cells were lost (nothing marks them between spaces)."""
    out = list(lines)
    kinds = []
    for i, line in enumerate(lines):
        if "\t" in line:
            kinds.append("tab")
        elif line.lstrip().startswith("|") and line.rstrip().endswith("|"):
            out[i] = "" if _PIPE_RULE.match(line) else "\t".join(
                _pipe_cell(c) for c in line.strip().strip("|").split("|"))
            kinds.append("tab" if out[i] else "blank")
        elif not line.strip() or _PAGE_FOOTER.match(line):
            out[i] = ""
            kinds.append("blank")
        elif (cells := _spaced_row(line)) is not None:
            out[i] = "\t".join(cells)
            kinds.append("spaced")
        elif _short_line(line):
            kinds.append("short")
        else:
            kinds.append("text")
    # Short lines in a block that holds spaced rows are its headers and wrapped labels.
    i = 0
    while i < len(lines):
        if kinds[i] not in ("spaced", "short"):
            i += 1
            continue
        j = i
        while j < len(lines) and kinds[j] in ("spaced", "short", "blank"):
            j += 1
        if any(k == "spaced" for k in kinds[i:j]):
            for k in range(i, j):
                if kinds[k] == "short":
                    out[k] = "\t".join(_header_cells(lines[k])) + "\t"
        i = j
    _labels_between_rows(out, kinds)
    return out, {k for k, kind in enumerate(kinds) if kind == "spaced"}


def _labels_between_rows(out: list[str], kinds: list[str]) -> None:
    """A short line right above a tab row, inside a table (a tab row above it too, blank
    lines aside), is a row label the extracting tool left outside the table (PDF-to-Markdown
    tools do this to long labels): make it a label-only row of the table, which the table
    builders join to the values row under it."""
    last_tab = None
    for k, kind in enumerate(kinds):
        if kind in ("tab", "spaced"):
            last_tab = k
        elif kind == "short" and last_tab is not None:
            nxt = k + 1
            while nxt < len(kinds) and kinds[nxt] == "short":
                nxt += 1
            if nxt < len(kinds) and kinds[nxt] == "tab" and all(
                    kinds[m] in ("tab", "spaced", "blank") for m in range(last_tab, k)):
                out[k] = out[k].strip() + "\t"
        elif kind == "short" and _header_over_values(out, kinds, k):
            out[k] = "\t".join(_header_cells(out[k])) + "\t"
        elif kind == "text":
            last_tab = None


def _pipe_cell(cell: str) -> str:
    """A Markdown table cell's text: a line break inside the cell (`<br>`, as PDF-to-Markdown
    tools write a wrapped label) joins without a space, bold marks go."""
    pieces = _BR.split(cell)
    return _BOLD.sub(r"\1", join_pieces(pieces))


def _header_over_values(out: list[str], kinds: list[str], k: int) -> bool:
    """Whether line k is one of the short lines directly above (no blank line between) a
    tab row of values only: the header of a table whose tool wrote only the values as a
    row (table 四's fifteen numbers under 行政复议 / 结果维持 …)."""
    nxt = k
    while nxt < len(kinds) and kinds[nxt] == "short":
        nxt += 1
    if nxt >= len(kinds) or kinds[nxt] != "tab":
        return False
    cells = [c for c in out[nxt].split("\t") if c.strip()]
    return len(cells) >= 3 and all(looks_numeric(c) or is_blank(c) for c in cells)


def _spaced_row(line: str) -> list[str] | None:
    """A table row written with spaces: label words then numbers; None if it is not one."""
    tokens = line.split()
    if len(tokens) < 2:
        return None
    k = 0
    while k < len(tokens) and (looks_numeric(tokens[-1 - k]) or tokens[-1 - k] in _BLANK_MARKS):
        k += 1
    numbers = sum(looks_numeric(t) for t in tokens[len(tokens) - k:])
    label = tokens[: len(tokens) - k]
    if not label:
        return tokens if numbers >= 2 else None  # a row of values only (table 四); not "- 4 -"
    joined = "".join(label)
    if "。" in joined or len(joined) > 60 or not _CJK.search(joined) or numbers == 0:
        return None
    if numbers == 1 and not (match_category(joined) or match_application_row(joined)):
        return None  # running text that happens to end in a number
    return _merge_single_chars(label) + tokens[len(tokens) - k:]


def _short_line(line: str) -> bool:
    s = line.strip()
    return (len("".join(s.split())) <= 60 and "。" not in s and not _MD_HEADING.match(line)
            and match_section_heading(s) is None)


def _header_cells(line: str) -> list[str]:
    """A short line beside spaced rows, split where the spaces are: column names
    (信息内容 本年制发件数 …) or the wrapped ends of two label columns (予公开 家秘密)."""
    return _merge_single_chars(line.split())


def _merge_single_chars(tokens: list[str]) -> list[str]:
    """'规 章' -> '规章': letter-spaced words come out of PDFs one character per token."""
    out: list[str] = []
    in_run = False
    for t in tokens:
        single = len(t) == 1 and bool(_CJK.match(t))
        if single and in_run:
            out[-1] += t
        else:
            out.append(t)
        in_run = single
    return out
