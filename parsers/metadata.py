"""Title, agency, year, template and publication date.

The year is the year the report covers. Titles and headings can disagree (a 2021 report
with last year's heading pasted inside): the candidates are weighed, the statistics period
(统计期限自2021年1月1日…) above the title and the title above other headings; between equals,
the year the tables' template fits wins (the 2021 tables mean 2021 or later). Any
disagreement is a warning.
"""
from __future__ import annotations

import re
from collections import defaultdict

from parsers.document import Document, Paragraph
from parsers.labels import MEASURE_TEMPLATE
from parsers.normalize import clean_text, cn_numeral_value, norm

_YEAR = r"((?:19|20)\d{2})"
_REPORT_WORDS = ("年度报告", "年报", "工作报告")
_TITLE_YEAR = re.compile(_YEAR + r"\s*年")
_PERIOD = re.compile(r"(?:统计期限|统计时限|统计期间|统计时间|统计周期|数据统计|统计区间|统计截止)[^。]{0,12}?"
                     + _YEAR + r"年\s*1\s*月\s*1\s*日")
_PERIOD_END = re.compile(_YEAR + r"年\s*1\s*月\s*1\s*日\s*(?:起)?\s*(?:至|到|-|—|～|~)\s*" + _YEAR
                         + r"\s*年\s*12\s*月\s*31\s*日")
# how a sentence starts or ends: a title does neither
_SENTENCE = re.compile(r"^(?:根据|依据|按照|为|现将|本报告|以下)|。$")
_DATE = re.compile(_YEAR + r"\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?")
_AGENCY_END = ("人民政府", "政府", "委员会", "办公室", "办公厅", "局", "厅", "委", "办", "院", "署",
               "中心", "管委会", "办事处", "街道", "镇", "乡", "部", "会", "所", "站", "队", "处",
               "实验区", "开发区", "新区", "园区", "示范区")


def find_title(doc: Document) -> str | None:
    """The report's own title: the first title-like line of the body, joined with the line
    before or after it when a PDF or page broke it in two; else the page or file title."""
    paragraphs = [b for b in doc.blocks[:40] if isinstance(b, Paragraph)][:15]
    for i, p in enumerate(paragraphs):
        text = clean_text(p.text)
        if not _title_like(text):
            if i + 1 < len(paragraphs) and _title_head(text):
                joined = clean_text(text + clean_text(paragraphs[i + 1].text))
                if _title_like(joined):
                    return joined  # 2025 年上海市人民政府办公厅政府信息公开 / 工作年度报告
            continue
        if i > 0:
            prev = clean_text(paragraphs[i - 1].text)
            starts_bare = bool(re.match(r"^[(（]?" + _YEAR, text) or text.startswith(("政府信息公开", "政务公开")))
            if prev and len(prev) <= 40 and not re.search(r"[。；;，,：:]$", prev) and (
                    starts_bare or re.search(_YEAR + r"\s*年度?$", prev)):
                return clean_text(prev + text)
        return text
    if doc.title:
        for part in re.split(r"\s*[_|｜]\s*|\s+-\s+", doc.title):
            if _title_like(clean_text(part)):
                return clean_text(part)
        return clean_text(doc.title)
    return None


def _title_like(text: str) -> bool:
    """A report title names its year or says 年度报告 (a column called 政府信息公开年报 is
    not a title), is about information disclosure, and is short. A sentence is not a title
    (根据《条例》…现公布本年度报告。), nor is a book title inside one."""
    t = norm(text)
    if _SENTENCE.search(t):
        return False
    t = _outside_book_titles(t)
    return (len(t) <= 80 and any(w in t for w in _REPORT_WORDS) and "公开" in t
            and (bool(_TITLE_YEAR.search(t)) or "年度报告" in t))


def _title_head(text: str) -> bool:
    """The first line of a title broken in two: short, a year, about disclosure, no
    sentence punctuation, and not yet a title."""
    t = norm(text)
    return (len(t) <= 50 and bool(_TITLE_YEAR.search(t)) and "公开" in t
            and not re.search(r"[。；;，,：:、]", t) and not _SENTENCE.search(t))


def _outside_book_titles(text: str) -> str:
    """The text without its 《…》 book titles, unless a book title is the report's own
    (关于印发《某县2023年政府信息公开工作年度报告》的通知): then that title."""
    for inner in re.findall(r"《([^》]*)》", text):
        if any(w in inner for w in _REPORT_WORDS) and "公开" in inner and _TITLE_YEAR.search(inner):
            return inner
    return re.sub(r"《[^》]*》", "", text)


def agency_from_title(title: str | None) -> str | None:
    """The office named in the title: what precedes the year (友谊县新镇乡人民政府2021年…),
    or what follows it (2022年度某市生态环境局政府信息公开…). A bare place name (某县2022年…)
    is the place's government and is kept as printed."""
    if not title:
        return None
    t = norm(title)
    t = re.sub(r"^(?:关于)?(?:印发|公布|发布)?", "", t)
    t = _outside_book_titles(t)  # never 中华人民共和国 from 《中华人民共和国政府信息公开条例》
    m = re.match(r"^(.*?)[(（\[]?" + _YEAR + r"年", t)
    candidate = _trim(m.group(1)) if m else ""
    if not candidate:
        m = re.search(_YEAR + r"年度?(.*?)(?:政府信息公开|政务公开|信息公开)", t)
        candidate = _trim(m.group(2)) if m else ""
    if not candidate:
        m = re.match(r"^(.*?)(?:政府信息公开|政务公开)", t)
        candidate = _trim(m.group(1)) if m else ""
    return candidate if _looks_like_name(candidate) else None


def _trim(text: str) -> str:
    return re.sub(r"(?:关于|的)$", "", text.strip("《》\"'“”()（）[]:：,，、 "))


def _looks_like_name(text: str) -> bool:
    return 2 <= len(text) <= 40 and bool(re.fullmatch(r"[\u4e00-\u9fff()（）·]+", text))


def _looks_like_agency(text: str) -> bool:
    """Stricter, for names found in running text: it must end like an office does."""
    return _looks_like_name(text) and text.endswith(_AGENCY_END)


def agency_from_text(doc: Document) -> str | None:
    """本报告由XX编制 / XX根据《条例》编制 in the opening; a signature line at the end."""
    paragraphs = [clean_text(b.text) for b in doc.blocks if isinstance(b, Paragraph)]
    for text in paragraphs[:8]:
        m = re.search(r"(?:本报告由|由|本报告是|是)([\u4e00-\u9fff（）()]{2,30}?)(?:根据|依据|按照|编制|负责|制作)", text)
        if m and _looks_like_agency(m.group(1)):
            return m.group(1)
    for text in reversed(paragraphs[-6:]):
        t = norm(text)
        if _looks_like_agency(t) and re.fullmatch(r"[\u4e00-\u9fff()]+", t):
            return t
    return None


def year_candidates(doc: Document, title: str | None) -> list[tuple[int, str, int]]:
    """(year, where, weight) for every place the text states the year covered."""
    found: list[tuple[int, str, int]] = []
    if title:
        m = _TITLE_YEAR.search(norm(title))
        if m:
            found.append((int(m.group(1)), "title", 3))
    text = "\n".join(clean_text(b.text) for b in doc.blocks[:200] if isinstance(b, Paragraph))
    ntext = norm(text)
    for m in _PERIOD_END.finditer(ntext):
        if m.group(1) == m.group(2):
            found.append((int(m.group(1)), "statistics period", 4))
            break
    else:
        m = _PERIOD.search(ntext)
        if m:
            found.append((int(m.group(1)), "statistics period", 4))
    for b in doc.blocks[:200]:
        if isinstance(b, Paragraph) and len(b.text) <= 80:
            t = norm(b.text)
            if "年度报告" in t and "信息公开" in t and (title is None or t != norm(title)):
                m = _TITLE_YEAR.search(t)
                if m:
                    found.append((int(m.group(1)), f"heading {clean_text(b.text)!r}", 1))
    return found


def decide_year(candidates: list[tuple[int, str, int]], template: str | None,
                published_at: str | None, warnings: list[str]) -> int | None:
    def fits(year: int) -> bool:
        if template == "2021":
            return year >= 2021
        if template == "2019":
            return 2019 <= year <= 2020
        return True

    weights: dict[int, int] = defaultdict(int)
    for year, _, weight in candidates:
        weights[year] += weight
    if not weights:
        if published_at:
            year = int(published_at[:4]) - 1
            warnings.append(f"year not stated; took {year}, the year before publication")
            return year
        return None
    # The template only breaks ties: a 2021 report may well use the 2019 tables.
    ranked = sorted(weights, key=lambda y: (weights[y], fits(y)), reverse=True)
    if len(weights) > 1:
        where = "; ".join(f"{y} in {w}" for y, w, _ in candidates)
        warnings.append(f"conflicting years ({where}); took {ranked[0]}"
                        + (f", which the {template} tables support" if template else ""))
    return ranked[0]


def decide_template(active: list[dict], applications: dict, year_hint: int | None,
                    warnings: list[str]) -> str | None:
    """The national format, judged from the tables: table 二's columns and table 三's (六)."""
    votes = {"2019": 0, "2021": 0}
    for entry in active:
        template = MEASURE_TEMPLATE.get(entry["measure"])
        if template:
            votes[template] += 1
    if any(k in applications for k in ("other_no_correction", "other_no_fee", "other_other")):
        votes["2021"] += 2
    if votes["2019"] != votes["2021"]:
        return max(votes, key=votes.get)
    if year_hint:
        template = "2021" if year_hint >= 2021 else "2019"
        if active or applications:
            warnings.append(f"template not clear from the tables; took {template} from the year")
        return template if (active or applications) else None
    return None


def published_date(doc: Document, hint: str | None) -> str | None:
    """The page's or document's date, else a signature date at the end of the text."""
    for value in (doc.published_at, hint):
        if value:
            d = _iso(value)
            if d:
                return d
    tail = [clean_text(b.text) for b in doc.blocks[-8:] if isinstance(b, Paragraph)]
    for text in reversed(tail):
        if len(text) <= 40:
            d = _iso(text)
            if d:
                return d
    return None


_CN_DATE = re.compile(r"([〇○零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
_CN_DIGIT = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"○": "0", "零": "0"}


def _iso(text: str) -> str | None:
    """The first date in `text`, as 2022-01-20: 2022年1月20日, 2022-1-20, 二〇二二年一月二十日."""
    cn = _CN_DATE.search(text)
    if cn:
        year = "".join(_CN_DIGIT[c] for c in cn.group(1))
        month, day = cn_numeral_value(cn.group(2)), cn_numeral_value(cn.group(3))
        text = f"{year}年{month}月{day}日"
    m = _DATE.search(norm(text))
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if 1 <= mo <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return None
