"""Archive benchmark: what keeping every byte costs.

    .venv/bin/python bench/archive.py            # 3000 responses, 120 reports to re-parse
    .venv/bin/python bench/archive.py --quick    # under a minute

- archive_vs_plain_ratio: archiving N responses (WARC records + the catalog's capture rows,
  through `archive.catalog.archive_exchange`, as the crawl's middleware does) against writing
  the same bodies to N plain files. Target under 2. Compressing alone costs several times a
  plain write, so the benchmark also prints archive_vs_gzip_files_ratio: against writing the
  bodies to N files gzipped at the archive's level (archive.warc_writer.GZIP_LEVEL), i.e.
  what the WARC records, digests and catalog rows cost over the compression.
- reparse_speedup_all_cores: `crawler.parse_batch.parse_archive(reparse_all=True)` of a
  stored corpus (copies of the example reports: text, HTML and the real PDF) on every core
  against one worker.
- recrawl_growth_fraction: two real crawls of the portal farm (every plain portal, the same
  unchanged sites, each HTML page padded with template markup to a real portal page's size,
  PAGE_SIZE) into one archive: the WARC bytes the second crawl added over the first crawl's.
  Conditional requests and the runs' unchanged ledgers (no records per unchanged page) keep it
  small. Target under 2 %.
- reindex_records_per_s: `archive.reindex.reindex` of the crawled archive (WARC records
  read per second), when this checkout has it.

Rates and ratios are measured in this one run on this machine (shared and noisy: each
timing is the best of `--rounds`); the last line printed is a JSON object.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive.catalog import Catalog, archive_exchange  # noqa: E402
from archive.warc_writer import GZIP_LEVEL, WarcWriterFile  # noqa: E402

EXAMPLES = REPO / "tests" / "examples"
HTML = (EXAMPLES / "real_pingtan_2020.html").read_bytes()[:20_000]


def _bodies(n: int) -> list[bytes]:
    """n distinct HTML bodies of about 20 kB (a portal page's size)."""
    return [HTML + b"<!-- %d -->" % i for i in range(n)]


def time_archive(tmp: Path, bodies: list[bytes]) -> float:
    cat = Catalog(tmp / "archive.db")
    run = cat.start_run(["bench"], {})
    writer = WarcWriterFile(tmp / "warc", run)
    headers = [("Content-Type", "text/html; charset=utf-8")]
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        archive_exchange(cat, writer, run_id=run, url=f"http://www.x.gov.cn/p/{i}.html",
                         status=200, body=body, response_headers=headers, portal="bench")
    writer.close()
    cat.finish_run(run, "finished")
    cat.close()
    return time.perf_counter() - start


def time_plain(tmp: Path, bodies: list[bytes]) -> float:
    out = tmp / "plain"
    out.mkdir()
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        (out / f"{i}.html").write_bytes(body)
    return time.perf_counter() - start


def time_gzip_files(tmp: Path, bodies: list[bytes]) -> float:
    out = tmp / "gzip"
    out.mkdir()
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        (out / f"{i}.html.gz").write_bytes(gzip.compress(body, GZIP_LEVEL))
    return time.perf_counter() - start


def archive_ratio(n: int, rounds: int) -> tuple[float, float, float, float]:
    """(archive over plain, archive over gzip files, archived/s, plain files/s)"""
    bodies = _bodies(n)
    best = {"archive": float("inf"), "plain": float("inf"), "gzip": float("inf")}
    for _ in range(rounds):
        for name, run in (("archive", time_archive), ("plain", time_plain),
                          ("gzip", time_gzip_files)):
            with tempfile.TemporaryDirectory() as d:
                best[name] = min(best[name], run(Path(d), bodies))
    return (best["archive"] / best["plain"], best["archive"] / best["gzip"],
            n / best["archive"], n / best["plain"])


def _corpus(data: Path, copies: int) -> None:
    """`copies` report captures, the examples in turn, each a distinct payload."""
    files = [p for p in sorted(EXAMPLES.iterdir()) if p.suffix in (".txt", ".html", ".pdf")]
    cat = Catalog(data / "archive.db")
    run = cat.start_run(["bench"], {})
    writer = WarcWriterFile(data / "warc", run)
    for i in range(copies):
        path = files[i % len(files)]
        body = path.read_bytes() + (b"\n%% copy %d\n" % i if path.suffix == ".pdf"
                                    else b"\n<!-- copy %d -->\n" % i if path.suffix == ".html"
                                    else b"\n" * (i + 1))
        url = f"http://www.x.gov.cn/ndbg/{i}/{path.name}"
        cid = archive_exchange(cat, writer, run_id=run, url=url, status=200, body=body,
                               portal="bench")
        cat.upsert_document("bench", url, None, "attachment", None, run, cid)
    writer.close()
    cat.finish_run(run, "finished")
    cat.close()


def reparse_speedup(copies: int, rounds: int) -> tuple[float, float, float]:
    from crawler.parse_batch import parse_archive

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as d:
        data = Path(d)
        _corpus(data, copies)
        parse_archive(data, workers=cores, progress=False)  # warm: caches, first imports
        times = {}
        for workers in (1, cores):
            best = float("inf")
            for _ in range(rounds):
                start = time.perf_counter()
                parse_archive(data, reparse_all=True, workers=workers, progress=False)
                best = min(best, time.perf_counter() - start)
            times[workers] = best
    return times[1] / times[cores], copies / times[1], copies / times[cores]


def _warc_bytes(data: Path) -> int:
    return sum(p.stat().st_size for p in (data / "warc").glob("*.warc.gz"))


# Real portal pages carry their CMS's template: the 平潭 report page is 336 kB, a TRS list
# page 40-80 kB. The farm's pages are a few kB of content only, so the benchmark pads each
# HTML page to PAGE_SIZE with the real 平潭 page's own template markup (its head, scripts and
# navigation), which compresses as a real page does.
PAGE_SIZE = 60_000
_TEMPLATE = (EXAMPLES / "real_pingtan_2020.html").read_bytes()[:PAGE_SIZE].replace(b"-->", b"- ->")


def _realistic_sites(tmp: Path) -> Path:
    from crawler.farm.server import SITES

    sites = tmp / "sites"
    shutil.copytree(SITES, sites)
    for page in sites.rglob("*.html"):
        body = page.read_bytes()
        if len(body) < PAGE_SIZE and b"</body>" in body:
            pad = b"<!-- template -->" + _TEMPLATE[:PAGE_SIZE - len(body)] + b"-->"
            page.write_bytes(body.replace(b"</body>", pad + b"</body>", 1))
    return sites


def record_sizes(data: Path, run_id: str) -> dict[str, tuple[int, int]]:
    """record type -> (count, bytes on disk) in the run's WARC files."""
    from warcio.archiveiterator import ArchiveIterator

    sizes: dict[str, list[int]] = {}
    for path in sorted((data / "warc").glob(f"*{run_id}*.warc.gz")):
        with open(path, "rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                record.content_stream().read()
                entry = sizes.setdefault(record.rec_type, [0, 0])
                entry[0] += 1
                entry[1] += records.get_record_length()
    return {k: (v[0], v[1]) for k, v in sizes.items()}


def recrawl_growth(tmp: Path) -> tuple[float, int, int, Path]:
    sys.path.insert(0, str(REPO / "tests"))
    from crawler.farm.server import start_farm
    from test_crawl_farm import PLAIN_PORTALS, run_crawl_subprocess

    base, stop = start_farm(sites=_realistic_sites(tmp))
    try:
        run_crawl_subprocess(tmp, base, PLAIN_PORTALS)
        first = _warc_bytes(tmp / "data")
        again = run_crawl_subprocess(tmp, base, PLAIN_PORTALS)
        second = _warc_bytes(tmp / "data") - first
        for kind, (count, size) in sorted(record_sizes(tmp / "data", again["run_id"]).items()):
            print(f"  re-crawl {kind:9} records: {count:5}, {size:9,} bytes "
                  f"({size / max(count, 1):.0f} each)")
    finally:
        stop()
    return second / first, first, second, tmp / "data"


def reindex_rate(data: Path) -> float | None:
    try:
        from archive.reindex import reindex
    except ImportError:
        return None
    records = 0
    from warcio.archiveiterator import ArchiveIterator
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            records += sum(1 for _ in ArchiveIterator(fh))
    start = time.perf_counter()
    reindex(data)
    return records / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n, copies = (600, 30) if args.quick else (3000, 120)

    ratio, over_gzip, archived, plain = archive_ratio(n, args.rounds)
    print(f"archive {n} responses: {archived:.0f}/s (WARC + catalog), plain files {plain:.0f}/s:"
          f" x{ratio:.2f} (target under 2); over gzipped files x{over_gzip:.2f}")
    speedup, one, all_ = reparse_speedup(copies, args.rounds)
    print(f"re-parse {copies} stored reports: 1 worker {one:.1f}/s, {os.cpu_count()} workers "
          f"{all_:.1f}/s: speed-up x{speedup:.2f}")
    tmp = Path(tempfile.mkdtemp(prefix="nianbao-bench-archive-"))
    try:
        growth, first, second, data = recrawl_growth(tmp)
        print(f"re-crawl of the unchanged farm: {second:,} WARC bytes over the first crawl's "
              f"{first:,}: {growth:.2%} (target under 2 %)")
        rate = reindex_rate(data)
        print("reindex: " + (f"{rate:.0f} records/s" if rate else "not in this checkout"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({
        "archive_vs_plain_ratio": round(ratio, 2), "archive_vs_gzip_files_ratio": round(over_gzip, 2),
        "archive_responses_per_s": round(archived),
        "reparse_speedup_all_cores": round(speedup, 2), "cores": os.cpu_count(),
        "recrawl_growth_fraction": round(growth, 4),
        "reindex_records_per_s": round(rate) if rate else None,
    }))


if __name__ == "__main__":
    main()
