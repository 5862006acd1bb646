"""Bytes to text for HTML and plain-text reports.

Chinese portals declare gb2312 and send GBK or GB18030 (characters such as 镕 or 喆 are
not in GB2312), declare nothing, or declare UTF-8 and send GBK. Order of trust: a BOM, then
a declaration that decodes cleanly (any GB name read as GB18030, its superset), then strict
UTF-8, then strict GB18030, then charset-normalizer's guess, then UTF-8 with replacement
characters and a warning.
"""
from __future__ import annotations

import codecs
import re

_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""",
                       re.I)
_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "gb18030", "cp936", "euc-cn", "x-euc-cn", "csgb2312",
       "gb_2312", "chinese", "iso-ir-58", "ms936", "windows-936"}


def declared_charset(data: bytes) -> str | None:
    m = _DECLARED.search(data[:8192])
    if not m:
        return None
    name = (m.group(1) or m.group(2)).decode("ascii", "ignore").strip().lower()
    return "gb18030" if name in _GB else name


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str, list[str]]:
    """Decode report bytes: returns (text, encoding used, warnings)."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc, []
    warnings: list[str] = []
    tried = []
    if declared:
        declared = "gb18030" if declared.lower() in _GB else declared.lower()
        try:
            codecs.lookup(declared)
            tried.append(declared)
        except LookupError:
            warnings.append(f"unknown declared encoding {declared!r}")
    for enc in tried + ["utf-8", "gb18030"]:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if declared and enc != declared and declared in tried:
            warnings.append(f"declared encoding {declared} does not decode these bytes; used {enc}")
        return text, enc, warnings
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        warnings.append(f"encoding guessed as {best.encoding}")
        return data.decode(best.encoding, errors="replace"), best.encoding, warnings
    warnings.append("could not tell the encoding; decoded as UTF-8 with replacement characters")
    return data.decode("utf-8", errors="replace"), "utf-8", warnings
