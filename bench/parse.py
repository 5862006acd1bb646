"""Parse benchmark: reports per second per format, nianbao's overhead over the bare
extraction libraries, and the speed-up of parsing on every core.

    .venv/bin/python bench/parse.py            # a few hundred reports
    .venv/bin/python bench/parse.py --quick    # under a minute
    .venv/bin/python bench/parse.py --only pdf --rounds 5

The corpus is built from the example reports: each example's narrative and values (with
the values varied) rendered as a TRS-style HTML page and as DOCX with python-docx, the
DOCX turned into PDF (and DOC) by LibreOffice, plus the real published examples. Rendered
files are cached in bench/.corpus/ under their content hash.

Figures are ratios and rates measured on this machine, which is shared: each format is timed
`--rounds` times, nianbao and the bare library back to back, and the median round is
reported (every round is printed). PDF, the format most offices publish, has a target rate
(`pdf_target_reports_per_s_per_core`, `pdf_meets_target`). The last line printed is a JSON
object (DESIGN.md: benchmarks).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "farm"))

from parsers import parse_bytes  # noqa: E402

EXAMPLES = REPO / "tests" / "examples"
CACHE = REPO / "bench" / ".corpus"
PDF_TARGET = 5.0  # reports per second on one core


def _variants(n: int, seed: int = 7) -> list[tuple[str, str, dict, str]]:
    """n (title, text, values, template) variants of the text examples, values varied."""
    rng = random.Random(seed)
    bases = []
    for expected in sorted(EXAMPLES.glob("*.expected.json")):
        text_file = expected.with_name(expected.name.replace(".expected.json", ".txt"))
        if text_file.exists():
            data = json.loads(expected.read_text(encoding="utf-8"))
            bases.append((text_file.read_text(encoding="utf-8"), data["values"],
                          data["meta"]["template"]))
    out = []
    for i in range(n):
        text, values, template = bases[i % len(bases)]
        varied = {k: (rng.randint(0, 500) if isinstance(v, int) and rng.random() < 0.5 else v)
                  for k, v in values.items()}
        out.append((f"v{i}", text, varied, template))
    return out


def build_corpus(quick: bool) -> dict[str, list[bytes]]:
    from render_docx import render_docx
    from report_layout import layout_tables, narrative_from_text, render_html

    from parsers.office_convert import convert

    n_html, n_docx, n_pdf, n_doc = (30, 12, 6, 0) if quick else (240, 80, 40, 6)
    corpus: dict[str, list[bytes]] = {"html": [], "docx": [], "pdf": [], "doc": []}
    variants = _variants(max(n_html, n_docx))
    for i, (_, text, values, template) in enumerate(variants):
        title, body = narrative_from_text(text)
        tables = layout_tables(values, template)
        if i < n_html:
            page = render_html(title=title, body=body, tables=tables, site_name="示范县人民政府",
                               column_name="政府信息公开年报", column_href="./", pub_date="2022-01-20",
                               word_pasted=i % 2 == 1)
            corpus["html"].append(page.encode("utf-8"))
        if i < n_docx:
            corpus["docx"].append(render_docx(title=title, body=body, tables=tables))
    CACHE.mkdir(parents=True, exist_ok=True)
    for fmt, count in (("pdf", n_pdf), ("doc", n_doc)):
        for docx_bytes in corpus["docx"][:count]:
            corpus[fmt].append(_cached_convert(convert, docx_bytes, fmt))
    corpus["html"].append((EXAMPLES / "real_pingtan_2020.html").read_bytes())
    corpus["pdf"].append((EXAMPLES / "real_huaian_2024.pdf").read_bytes())
    return {k: v for k, v in corpus.items() if v}


def _cached_convert(convert, docx_bytes: bytes, fmt: str) -> bytes:
    import hashlib

    path = CACHE / f"{hashlib.sha256(docx_bytes).hexdigest()[:20]}.{fmt}"
    if not path.exists():
        path.write_bytes(convert(docx_bytes, "docx", to=fmt, timeout=180))
    return path.read_bytes()


# --- the bare extraction libraries, doing the least a parser must: text and tables ----------

def bare_html(data: bytes) -> None:
    """lxml's parse, every table cell's text and the page's text: what any HTML parser of
    these reports must do at least (nianbao sends pages without tables to trafilatura)."""
    from lxml import html

    tree = html.document_fromstring(data.decode("utf-8", errors="replace"))
    for table in tree.iter("table"):
        for cell in table.iter("td", "th"):
            cell.text_content()
    tree.text_content()


def trafilatura_html(data: bytes) -> None:
    """trafilatura's main-text extraction: the other yardstick for HTML, the library a
    parser without its own table reading would use."""
    import trafilatura

    trafilatura.extract(data.decode("utf-8", errors="replace"), include_tables=True)


def bare_pdf(data: bytes) -> None:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_text()
            page.extract_tables()


def pypdfium2_pdf(data: bytes) -> None:
    """pypdfium2's text of every page: the C library's plain text, without positions or
    tables, the floor for PDF (nianbao reads its pages' characters and rules from it)."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    for page in pdf:
        page.get_textpage().get_text_range()
        page.close()
    pdf.close()


def bare_docx(data: bytes) -> None:
    import docx

    document = docx.Document(io.BytesIO(data))
    for p in document.paragraphs:
        p.text
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                cell.text


BARE = {"html": bare_html, "pdf": bare_pdf, "docx": bare_docx}


def _parse(data: bytes) -> int:
    return len(parse_bytes(data)["checks"])


def _timed(fn, items: list[bytes]) -> float:
    start = time.perf_counter()
    for data in items:
        fn(data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus, under a minute")
    parser.add_argument("--rounds", type=int, default=3, help="timings of each format (median)")
    parser.add_argument("--only", choices=["html", "docx", "pdf", "doc"],
                        help="time one format only (no pool run)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    corpus = build_corpus(args.quick)
    print(f"corpus: {', '.join(f'{len(v)} {k}' for k, v in corpus.items())} "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    if args.only:
        corpus = {args.only: corpus[args.only]}
    figures: dict = {}
    total_ours = total_bare = 0.0
    for fmt, items in corpus.items():
        yardsticks = {"bare": BARE.get(fmt),
                      "trafilatura": trafilatura_html if fmt == "html" else None,
                      "pypdfium2": pypdfium2_pdf if fmt == "pdf" else None}
        yardsticks = {k: f for k, f in yardsticks.items() if f is not None}
        _parse(items[0])  # warm imports
        for fn in yardsticks.values():
            fn(items[0])
        rounds = []
        for r in range(args.rounds):
            times = {"ours": _timed(_parse, items)}
            times.update((name, _timed(fn, items)) for name, fn in yardsticks.items())
            rounds.append(times)
            print(f"  {fmt} round {r + 1}: " + ", ".join(
                f"{name} {len(items) / t:.1f}/s" for name, t in times.items()))
        ours = statistics.median(t["ours"] for t in rounds)
        rate = len(items) / ours
        figures[f"{fmt}_reports_per_s_per_core"] = round(rate, 1)
        line = f"{fmt:5} {len(items):4} reports  {rate:7.1f} reports/s on one core"
        if "bare" in yardsticks:
            bare = statistics.median(t["bare"] for t in rounds)
            ratio = statistics.median(t["ours"] / t["bare"] for t in rounds)
            total_ours += ours
            total_bare += bare
            figures[f"{fmt}_overhead_ratio"] = round(ratio, 2)
            line += f"  bare library {len(items) / bare:7.1f}/s  overhead x{ratio:.2f}"
        if "trafilatura" in yardsticks:
            ratio = statistics.median(t["ours"] / t["trafilatura"] for t in rounds)
            traf = statistics.median(t["trafilatura"] for t in rounds)
            figures["html_ratio_to_trafilatura"] = round(ratio, 2)
            line += f"  (trafilatura alone {len(items) / traf:.1f}/s)"
        if "pypdfium2" in yardsticks:
            ratio = statistics.median(t["ours"] / t["pypdfium2"] for t in rounds)
            figures["pdf_ratio_to_pypdfium2_text"] = round(ratio, 2)
            figures["pdf_target_reports_per_s_per_core"] = PDF_TARGET
            figures["pdf_meets_target"] = rate >= PDF_TARGET
            plain = statistics.median(t["pypdfium2"] for t in rounds)
            line += (f"  (pypdfium2's plain text alone {len(items) / plain:.1f}/s; target "
                     f"{PDF_TARGET:.0f}/s {'met' if rate >= PDF_TARGET else 'NOT met'})")
        print(line)
    if total_bare:
        figures["overhead_ratio"] = round(total_ours / total_bare, 2)

    everything = [d for fmt, items in corpus.items() if fmt != "doc" for d in items]
    if args.only:
        print(json.dumps(figures))
        return
    cores = os.cpu_count() or 1
    one = _pool_time(everything, 1)
    many = _pool_time(everything, cores)
    figures["cores"] = cores
    figures["speedup_all_cores"] = round(one / many, 2)
    print(f"whole corpus ({len(everything)} reports, doc excluded): 1 worker {one:.1f} s, "
          f"{cores} workers {many:.1f} s, speed-up x{one / many:.2f}")
    print(json.dumps(figures))


def _pool_time(items: list[bytes], workers: int) -> float:
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_parse, items[:workers]))  # start the workers and warm their imports
        start = time.perf_counter()
        # Largest first, one at a time: a PDF takes fifty times an HTML page.
        list(pool.map(_parse, sorted(items, key=len, reverse=True), chunksize=1))
        return time.perf_counter() - start


if __name__ == "__main__":
    main()
