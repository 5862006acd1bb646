"""Serve benchmark: every page a journalist opens, on a national-size archive.

    .venv/bin/python bench/serve.py             # 100,000 synthetic reports
    .venv/bin/python bench/serve.py --quick     # 5,000 (or NIANBAO_BENCH_QUICK=1)

Builds a catalog of N synthetic reports spread over provinces, cities, counties and their
offices (a county government, its departments, its townships), years 2019-2025 (an office
misses a year now and then), the 2019 and 2021 national forms (the tables' shapes taken from
two parsed examples), 8 % with numbers that do not add up (a failing check), and sections of
Chinese text. The rows go straight into the tables of `archive.schema` with executemany; the
derived ones (`report_totals`, the full-text index) come from the archive's own code
(`refresh_report_totals`, `crawler.serve.prepare_catalog`). Before timing, a sample of the
same synthetic reports is stored through `archive.report_store.store_report` into a second
catalog, and every table must hold the same rows as the fast path wrote: the benchmark
refuses to time a catalog the real code would not write.

Then a real `nianbao serve` (the console script, port 0) answers, each timed as the median
of a few requests after one warm-up: the dashboard page and each of its charts' queries, the
overview table and its facet pages, the search page, a report page and every canned query
(enumerated from /archive.json, with all its parameters blank, and again with sample values
when it has any), each against `SELECT count(*) FROM reports` through Datasette's JSON API.
A page that does not answer 200 is reported as such and left out of the worst figures.
Datasette's default time limit is 1 s (`nianbao serve` allows 5 s): each line says whether
the page is within 1 s. The last line is JSON with `worst_page_ms` and `worst_ratio_vs_count`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive.report_store import store_report  # noqa: E402
from archive.schema import ensure_schema  # noqa: E402
from crawler.serve import prepare_catalog  # noqa: E402
from parsers import parse_bytes  # noqa: E402

EXAMPLES = REPO / "tests" / "examples"
NIANBAO = Path(sys.executable).parent / "nianbao"
LIMIT_MS = 1000.0  # Datasette's default sql_time_limit_ms
PARSER_VERSION = "bench-1"
RUN_ID = "20260101T000000Z-bench0"
DASHBOARD = "overview"

# province -> cities (a real spread: most counties in the big provinces)
REGIONS = {
    "河北省": ["石家庄市", "唐山市", "保定市", "邯郸市"], "山西省": ["太原市", "大同市"],
    "内蒙古自治区": ["呼和浩特市", "赤峰市"], "辽宁省": ["沈阳市", "大连市"],
    "吉林省": ["长春市"], "黑龙江省": ["哈尔滨市", "双鸭山市"],
    "江苏省": ["南京市", "苏州市", "淮安市", "徐州市"], "浙江省": ["杭州市", "宁波市", "温州市"],
    "安徽省": ["合肥市", "阜阳市"], "福建省": ["福州市", "泉州市"], "江西省": ["南昌市", "赣州市"],
    "山东省": ["济南市", "青岛市", "临沂市", "潍坊市"], "河南省": ["郑州市", "商丘市", "南阳市", "周口市"],
    "湖北省": ["武汉市", "襄阳市"], "湖南省": ["长沙市", "衡阳市", "邵阳市"],
    "广东省": ["广州市", "佛山市", "湛江市", "梅州市"], "广西壮族自治区": ["南宁市", "桂林市"],
    "海南省": ["海口市"], "重庆市": ["重庆市"], "四川省": ["成都市", "南充市", "达州市", "凉山彝族自治州"],
    "贵州省": ["贵阳市", "遵义市"], "云南省": ["昆明市", "曲靖市", "大理白族自治州"],
    "西藏自治区": ["拉萨市"], "陕西省": ["西安市", "宝鸡市"], "甘肃省": ["兰州市", "天水市"],
    "青海省": ["西宁市"], "宁夏回族自治区": ["银川市"], "新疆维吾尔自治区": ["乌鲁木齐市", "喀什地区"],
    "北京市": ["北京市"], "天津市": ["天津市"], "上海市": ["上海市"],
}
COUNTY_STEMS = "东西南北新长安平永丰兴宁和清江河山阳城"
DEPARTMENTS = ["教育局", "财政局", "自然资源局", "住房和城乡建设局", "卫生健康委员会", "公安局",
               "市场监督管理局", "生态环境局"]
TOWN_STEMS = "金石柳桥马龙凤花白青黄安福林"
SENTENCES = [
    "本机关坚持以公开为常态、不公开为例外，推进决策、执行、管理、服务、结果公开。",
    "全年主动公开政府信息{n}条，其中政策解读{m}条，及时回应社会关切。",
    "依申请公开办理严格按照法定时限答复，做到依法依规、公开透明。",
    "政府信息公开平台建设持续加强，政务公开专栏栏目设置更加规范。",
    "本年度共收到政府信息公开申请{n}件，较上年有所增加，主要涉及征地拆迁和预算信息。",
    "部门预算、决算和“三公”经费按要求在门户网站集中公开。",
    "存在的主要问题是部分信息更新不够及时，政策解读形式较为单一。",
    "下一步将加强业务培训，提升工作人员依法公开的意识和能力。",
    "本年度未发生因政府信息公开引起的行政复议和行政诉讼。",
    "信息公开工作机构和人员保持稳定，按规定收取信息处理费{m}元。",
]


def _skeletons() -> dict[str, dict]:
    """template -> a parsed example of that national form (its tables' shape)."""
    out = {}
    for name in ("004_1583c84d3300f656.txt", "000_26e4c39d6db4dceb.txt"):
        report = parse_bytes((EXAMPLES / name).read_bytes(), filename=name)
        out[report["template"]] = report
    assert set(out) == {"2019", "2021"}, out.keys()
    return out


def _offices(rng: random.Random, wanted: int) -> list[dict]:
    """Offices enough for `wanted` reports over 2019-2025, county by county."""
    offices, county_no = [], 0
    provinces = list(REGIONS)
    while len(offices) * 6.3 < wanted:
        province = provinces[county_no % len(provinces)] if county_no < len(provinces) \
            else rng.choices(provinces, weights=[len(REGIONS[p]) for p in provinces])[0]
        city = rng.choice(REGIONS[province])
        county = f"{rng.choice(COUNTY_STEMS)}{rng.choice(COUNTY_STEMS)}{'区' if county_no % 3 else '县'}"
        adcode = f"{110000 + county_no * 7 % 540000:06d}"
        portal = f"portal-{county_no:05d}"
        base = {"province": province, "city": city, "county": county, "adcode": adcode,
                "portal": portal, "county_no": county_no}
        offices.append({**base, "agency": f"{county}人民政府", "township": None, "size": 3.0})
        for dept in rng.sample(DEPARTMENTS, rng.randint(1, 3)):
            offices.append({**base, "agency": f"{county}{dept}", "township": None, "size": 1.5})
        for _ in range(rng.randint(1, 3)):
            town = f"{rng.choice(TOWN_STEMS)}{rng.choice(TOWN_STEMS)}镇"
            offices.append({**base, "agency": f"{county}{town}人民政府", "township": town,
                            "size": 0.4})
        county_no += 1
    return offices


def _numbers(rng: random.Random, skeleton: dict, size: float, failing: bool):
    """(applications, review_litigation, active_disclosure, checks) in the skeleton's shape."""
    cols = [c for c in next(iter(skeleton["applications"].values())) if c != "total"]
    received = {c: int(rng.expovariate(1 / (size * (6 if c == "natural_person" else 0.8))))
                for c in cols}
    apps = {}
    for row in skeleton["applications"]:
        values = {}
        for c in cols:
            n = received[c]
            share = {"new_received": 1.0, "granted": 0.55, "partially_granted": 0.1,
                     "results_total": 1.0, "carried_over": 0.05, "carried_forward": 0.05
                     }.get(row, 0.03)
            values[c] = n if share == 1.0 else int(n * share * rng.random() * 2)
        values["total"] = sum(values.values())
        apps[row] = values
    if failing:
        apps["results_total"]["total"] += rng.randint(1, 9)
    review = {g: {m: (rng.randint(0, 2) if rng.random() < 0.2 else 0) for m in measures}
              for g, measures in skeleton["review_litigation"].items()}
    for measures in review.values():
        if "total" in measures:
            measures["total"] = sum(v for k, v in measures.items() if k != "total")
    active = [{**e, "value": rng.randint(0, 40), "raw": None} for e in skeleton["active_disclosure"]]
    for e in active:
        e["raw"] = str(e["value"])
    checks = [{"rule": c["rule"], "ok": True, "detail": c["detail"]} for c in skeleton["checks"]]
    if failing:
        for c in checks:
            if c["rule"] == "applications.results_sum.total":
                c.update(ok=False, detail="（七）总计 vs the sum of the result rows: "
                                          f"{apps['results_total']['total']} vs ?")
    return apps, review, active, checks


def _sections(rng: random.Random, agency: str, year: int) -> dict:
    keys = ["overview", "active_disclosure", "applications", "review_litigation", "problems",
            "other"]
    out = {}
    for key in keys:
        if rng.random() < 0.7:
            picks = rng.sample(SENTENCES, rng.randint(2, 4))
            out[key] = f"{agency}{year}年" + "".join(
                s.format(n=rng.randint(0, 300), m=rng.randint(0, 50)) for s in picks)
        else:
            out[key] = None
    return out


def synthetic(n: int, seed: int = 10) -> list[tuple[dict, dict]]:
    """n (place, report) pairs: the place says portal, URL and ids; the report is a Report
    dict (REPORT_MODEL.md) as the parser gives it."""
    rng = random.Random(seed)
    skeletons = _skeletons()
    out = []
    offices = _offices(rng, n)
    i = 0
    while len(out) < n:
        office = offices[i % len(offices)]
        year = 2019 + (i // len(offices)) % 7
        i += 1
        if rng.random() < 0.1:  # an office misses a year now and then
            continue
        template = "2019" if year <= 2020 else "2021"
        failing = rng.random() < 0.08
        apps, review, active, checks = _numbers(rng, skeletons[template], office["size"], failing)
        rid = len(out) + 1
        url = f"http://www.{office['portal']}.gov.cn/xxgk/ndbg/{year}/t{year + 1}0115_{rid}.html"
        body = f"{office['agency']} {year} {rid}".encode()
        report = {
            **{k: v for k, v in skeletons[template].items()
               if k in ("schema_version",)},
            "title": f"{office['agency']}{year}年政府信息公开工作年度报告",
            "agency": office["agency"], "year": year, "template": template,
            "published_at": f"{year + 1}-01-{rng.randint(10, 31):02d}",
            "region": {"province": office["province"], "city": office["city"],
                       "county": office["county"], "township": office["township"],
                       "adcode": office["adcode"]},
            "sections": _sections(rng, office["agency"], year),
            "active_disclosure": active, "applications": apps, "review_litigation": review,
            "checks": checks, "warnings": ["一处数字对不上"] if failing else [],
            "source": {"url": url, "sha256": hashlib.sha256(body).hexdigest(), "format": "html",
                       "capture_id": rid},
            "parser_version": PARSER_VERSION,
        }
        place = {"id": rid, "portal": office["portal"], "url": url,
                 "fetched_at": f"{year + 1}-03-01T00:00:{rid % 60:02d}Z", "size": len(body),
                 "sha256": report["source"]["sha256"]}
        out.append((place, report))
    return out


def _json(value):
    return None if value is None else json.dumps(value, ensure_ascii=False)


def write_places(conn: sqlite3.Connection, items) -> None:
    """A crawl run, and a capture and a document per report (what a crawl would have)."""
    conn.execute("INSERT OR IGNORE INTO crawl_runs (id, started_at, finished_at, status, portals, "
                 "requests, captures, errors, documents) VALUES (?, '2026-01-01T00:00:00Z', "
                 "'2026-01-01T06:00:00Z', 'finished', '[]', ?, ?, 0, ?)",
                 (RUN_ID, len(items), len(items), len(items)))
    conn.executemany(
        "INSERT INTO captures (id, run_id, portal, url, final_url, method, status, headers, "
        "fetched_at, payload_sha256, payload_size, content_type, record_type) VALUES "
        "(?, ?, ?, ?, ?, 'GET', 200, '[]', ?, ?, ?, 'text/html; charset=utf-8', 'response')",
        [(p["id"], RUN_ID, p["portal"], p["url"], p["url"], p["fetched_at"], p["sha256"],
          p["size"]) for p, _ in items])
    conn.executemany(
        "INSERT INTO documents (id, portal, url, title, kind, first_run_id, last_run_id, "
        "latest_capture_id) VALUES (?, ?, ?, ?, 'page', ?, ?, ?)",
        [(p["id"], p["portal"], p["url"], r["title"], RUN_ID, RUN_ID, p["id"]) for p, r in items])
    conn.executemany(
        "INSERT INTO document_captures (document_id, capture_id, run_id, change) "
        "VALUES (?, ?, ?, 'new')", [(p["id"], p["id"], RUN_ID) for p, _ in items])


def write_reports_fast(conn: sqlite3.Connection, items, parsed_at: str) -> None:
    """The rows `store_report` writes for each report, by executemany, without its
    per-report lookups; the derived table `report_totals` by the archive's own backfill."""
    reports, apps, active, review, checks, sections = [], [], [], [], [], []
    for place, r in items:
        rid, region, source = place["id"], r["region"], r["source"]
        reports.append((
            rid, place["id"], place["id"], r["parser_version"], parsed_at,
            "warnings" if r["warnings"] else "ok", None, source["url"], r["title"], r["agency"],
            r["year"], r["template"], r["published_at"], region["province"], region["city"],
            region["county"], region["township"], region["adcode"], source["format"],
            source["sha256"], sum(1 for c in r["checks"] if not c["ok"]), _json(r["warnings"]),
            _json(r)))
        apps.extend((rid, row, col, v) for row, cols in r["applications"].items()
                    for col, v in cols.items())
        active.extend((rid, e["item"], e["category"], e["measure"], e["value"], e["unit"],
                       e["raw"]) for e in r["active_disclosure"])
        review.extend((rid, g, m, v) for g, ms in r["review_litigation"].items()
                      for m, v in ms.items())
        checks.extend((rid, c["rule"], int(bool(c["ok"])), c["detail"]) for c in r["checks"])
        sections.extend((rid, k, t) for k, t in r["sections"].items() if t)
    conn.executemany(
        "INSERT INTO reports (id, capture_id, document_id, parser_version, parsed_at, status, "
        "error, url, title, agency, year, template, published_at, province, city, county, "
        "township, adcode, format, sha256, checks_failed, warnings, report_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reports)
    conn.executemany('INSERT INTO applications (report_id, row, "column", value) '
                     "VALUES (?, ?, ?, ?)", apps)
    conn.executemany("INSERT INTO active_disclosure (report_id, item, category, measure, value, "
                     "unit, raw) VALUES (?, ?, ?, ?, ?, ?, ?)", active)
    conn.executemany("INSERT INTO review_litigation (report_id, review_group, measure, value) "
                     "VALUES (?, ?, ?, ?)", review)
    conn.executemany("INSERT INTO checks (report_id, rule, ok, detail) VALUES (?, ?, ?, ?)",
                     checks)
    section_cols = {r[1] for r in conn.execute("PRAGMA table_info(sections)")}
    if "search_text" in section_cols:  # an older catalog keeps the bigrams in the table
        from archive.bigrams import to_bigrams
        conn.executemany("INSERT INTO sections (report_id, section, text, search_text) "
                         "VALUES (?, ?, ?, ?)", [(*s, to_bigrams(s[2])) for s in sections])
    else:
        conn.executemany("INSERT INTO sections (report_id, section, text) VALUES (?, ?, ?)",
                         sections)
    try:
        from archive.views import refresh_report_totals
    except ImportError:  # a checkout without the derived table
        return
    refresh_report_totals(conn)


def write_extras(conn: sqlite3.Connection, items, rng: random.Random) -> None:
    """What the other canned queries read: re-parse changes, crawl errors, changed reports."""
    sample = rng.sample(items, min(len(items), 2000))
    conn.executemany(
        "INSERT INTO parse_changes (capture_id, report_id, previous_report_id, parser_version, "
        "previous_parser_version, path, old_value, new_value, changed_at) "
        "VALUES (?, ?, NULL, ?, 'bench-0', 'applications.granted.total', ?, ?, "
        "'2026-01-02T00:00:00Z')",
        [(p["id"], p["id"], PARSER_VERSION, "1", "2") for p, _ in sample])
    conn.executemany(
        "INSERT INTO crawl_errors (run_id, portal, url, error, at) VALUES (?, ?, ?, ?, "
        "'2026-01-01T01:00:00Z')",
        [(RUN_ID, p["portal"], p["url"] + ".missing", rng.choice(
            ["HTTP 404", "HTTP 503 after 3 attempts", "TimeoutError: 60 s"])) for p, _ in sample])
    conn.executemany(
        "INSERT OR IGNORE INTO document_events (document_id, event, old_capture_id, "
        "new_capture_id, run_id, detail, detected_at) VALUES (?, 'gone', ?, ?, ?, 'HTTP 404', "
        "'2026-01-01T02:00:00Z')", [(p["id"], p["id"], p["id"], RUN_ID) for p, _ in sample[:300]])


def build(data: Path, n: int) -> dict:
    """A catalog of n synthetic reports in `data`; timings of its parts (s)."""
    data.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    items = synthetic(n)
    t1 = time.perf_counter()
    conn = sqlite3.connect(str(data / "archive.db"))
    ensure_schema(conn)
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        write_places(conn, items)
        write_reports_fast(conn, items, "2026-01-02T00:00:00.000000Z")
        write_extras(conn, items, random.Random(3))
    conn.execute("ANALYZE")
    conn.close()
    t2 = time.perf_counter()
    prepare_catalog(data / "archive.db")  # views and the full-text index, as `serve` does
    t3 = time.perf_counter()
    size = (data / "archive.db").stat().st_size
    return {"generate_s": t1 - t0, "write_s": t2 - t1, "index_s": t3 - t2, "db_bytes": size,
            "items": items}


# ----- the fast path must write what the store writes -----

_SKIP_TABLES = {"_sqlite_migrations", "catalog_meta", "sqlite_stat1", "sqlite_stat4"}
_SKIP_COLUMNS = {"parsed_at", "changed_at"}


def _tables(conn: sqlite3.Connection) -> list[str]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    virtual = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")]
    shadow = {n for n in names for v in virtual if n.startswith(v + "_")}
    return sorted(n for n in names if n not in _SKIP_TABLES and n not in shadow
                  and not n.startswith("sqlite_"))


def _contents(conn: sqlite3.Connection, table: str) -> list[tuple]:
    cur = conn.execute(f"SELECT rowid, * FROM [{table}]") if table == "sections_fts" \
        else conn.execute(f"SELECT * FROM [{table}]")
    names = [d[0] for d in cur.description]
    rows = []
    for row in cur.fetchall():
        values = []
        for name, value in zip(names, row):
            if name in _SKIP_COLUMNS:
                continue
            if name == "report_json" and value:
                value = json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
            values.append(value)
        rows.append(tuple(values))
    return sorted(rows, key=repr)


def check_against_store(tmp: Path, sample_size: int = 40) -> list[str]:
    """Store `sample_size` synthetic reports through store_report and through the fast path;
    the tables where they differ (empty: the same rows)."""
    items = synthetic(sample_size, seed=99)
    dbs = {}
    for way in ("store", "fast"):
        path = tmp / way / "archive.db"
        path.parent.mkdir(parents=True)
        conn = sqlite3.connect(str(path))
        ensure_schema(conn)
        with conn:
            write_places(conn, items)
        if way == "store":
            for place, report in items:
                store_report(conn, place["id"], place["id"], report)
        else:
            with conn:
                write_reports_fast(conn, items, "2026-01-02T00:00:00.000000Z")
        conn.close()
        prepare_catalog(path)
        dbs[way] = sqlite3.connect(str(path))
    differ = []
    tables = sorted(set(_tables(dbs["store"])) | set(_tables(dbs["fast"])))
    for table in tables:
        try:
            same = _contents(dbs["store"], table) == _contents(dbs["fast"], table)
        except sqlite3.Error as e:
            same, table = False, f"{table} ({e})"
        if not same:
            differ.append(table)
    filled = [t for t in tables if dbs["store"].execute(f"SELECT count(*) FROM [{t}]").fetchone()[0]]
    for conn in dbs.values():
        conn.close()
    print(f"fast path vs store_report on {sample_size} reports: tables filled "
          f"{', '.join(filled)}; " + (f"DIFFER: {', '.join(differ)}" if differ else "identical"))
    return differ


# ----- timing a real `nianbao serve` -----

class Server:
    def __init__(self, data: Path, log: Path):
        self.log = log
        self.proc = subprocess.Popen([str(NIANBAO), "serve", "--data", str(data), "--port", "0"],
                                     stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        self.base = None
        deadline = time.monotonic() + 600  # serve brings the index up to date first
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text("utf-8", "replace"))
            if m:
                self.base = m.group(0).rstrip("/")
                break
            time.sleep(0.2)
        if not self.base:
            raise SystemExit(f"nianbao serve did not start:\n{log.read_text()[-3000:]}")

    def get(self, path: str) -> tuple[int, bytes, float]:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(self.base + path, timeout=120) as r:
                body, status = r.read(), r.status
        except urllib.error.HTTPError as e:
            body, status = e.read(), e.code
        return status, body, (time.perf_counter() - start) * 1000

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def measure(server: Server, path: str, repeat: int) -> dict:
    status, body, _ = server.get(path)  # warm-up: Datasette's caches, SQLite's pages
    times = []
    for _ in range(repeat):
        status, body, ms = server.get(path)
        times.append(ms)
        if status != 200:
            break
    text = body.decode("utf-8", "replace")
    note = ""
    timed_out = re.search(r'class="facets-timed-out">([^<]*)<', text)
    if status == 200 and timed_out:
        note = timed_out.group(1).strip()
    if status == 200 and path.endswith(".json") and '"ok": false' in text:
        status, note = 500, "query error"
    error = ""
    if status != 200:
        found = re.search(r"<h1>(.*?)</h1>.*?border: 3px solid red;\">(.*?)</div>", text, re.S)
        error = (f"{found.group(1)}: {found.group(2)}" if found else text[:200])
        error = " ".join(re.sub(r"<[^>]+>", " ", error).split())
    return {"path": path, "status": status, "ms": statistics.median(times), "note": note,
            "error": error}


def _q(path: str, **params) -> str:
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def _named_parameters(sql: str) -> list[str]:
    """The :name parameters of a query (outside strings and comments), in order."""
    sql = re.sub(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", "", sql, flags=re.S)
    return list(dict.fromkeys(re.findall(r"(?<![:\w]):(\w+)", sql)))


def pages(server: Server, db: Path) -> list[tuple[str, str]]:
    """(name, path) of every page to time."""
    conn = sqlite3.connect(str(db))
    report_id, agency, province, city, county, portal, year = conn.execute(
        "SELECT r.id, r.agency, r.province, r.city, r.county, c.portal, r.year FROM reports r "
        "JOIN captures c ON c.id = r.capture_id ORDER BY r.id LIMIT 1 OFFSET "
        "(SELECT count(*) / 2 FROM reports)").fetchone()
    conn.close()
    out = [("dashboard", f"/-/dashboards/{DASHBOARD}")]
    status, body, _ = server.get("/-/metadata.json")
    boards = (json.loads(body).get("plugins") or {}).get("datasette-dashboards") or {} \
        if status == 200 else {}
    try:
        from datasette_dashboards import replace_opts_in_query
    except ImportError:
        replace_opts_in_query = None
    for slug, chart in (boards.get(DASHBOARD) or {}).get("charts", {}).items():
        if chart.get("query") and replace_opts_in_query:  # what the page's script fetches
            sql = replace_opts_in_query(chart["query"], {})
            out.append((f"dashboard chart {slug}",
                        _q(f"/{chart.get('db', 'archive')}.json", sql=sql, _shape="objects")))
            sql_p = replace_opts_in_query(chart["query"], {"province": province})
            out.append((f"dashboard chart {slug} (province)",
                        _q(f"/{chart.get('db', 'archive')}.json", sql=sql_p,
                           province=province, _shape="objects")))
    out.append(("dashboard (province)", _q(f"/-/dashboards/{DASHBOARD}", province=province)))
    out += [
        ("report_overview", "/archive/report_overview"),
        ("report_overview facet province", _q("/archive/report_overview", _facet="province")),
        ("report_overview facet year", _q("/archive/report_overview", _facet="year")),
        ("report_overview province+year", _q("/archive/report_overview", province=province,
                                              year=str(year))),
        ("search 公开", _q("/-/search", q="公开")),
        ("search 预算", _q("/-/search", q="预算")),
        ("report page", f"/-/report/{report_id}"),
    ]
    status, body, _ = server.get("/archive.json")
    listed = json.loads(body) if status == 200 else {}
    for name in sorted([t["name"] for t in listed.get("tables", []) if not t.get("hidden")]
                       + [v["name"] for v in listed.get("views", [])]):
        if name != "report_overview":  # timed above
            out.append((f"table {name}", f"/archive/{name}"))
    samples = {"q": "公开", "agency": agency, "portal": portal, "year": str(year),
               "province": province, "city": city, "county": county, "parser_version": "",
               "run_id": RUN_ID, "report_id": str(report_id), "capture_id": str(report_id)}
    status, body, _ = server.get("/archive.json")
    queries = json.loads(body).get("queries", []) if status == 200 else []
    if not queries:
        out.append(("canned queries", "/archive.json#no-queries-listed"))
    for query in queries:
        params = query.get("params") or _named_parameters(query.get("sql") or "")
        blank = {p: samples[p] if p in ("q", "agency", "portal", "report_id", "capture_id")
                 else "" for p in params}
        out.append((f"query {query['name']}", _q(f"/archive/{query['name']}", **blank)))
        filled = {p: samples.get(p, "") for p in params}
        if filled != blank:
            out.append((f"query {query['name']} ({', '.join(k for k in filled if filled[k])})",
                        _q(f"/archive/{query['name']}", **filled)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", default=bool(os.environ.get(
        "NIANBAO_BENCH_QUICK")))
    ap.add_argument("--reports", type=int)
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--keep", help="build the catalog in this directory and keep it")
    ap.add_argument("--reuse", help="time the catalog an earlier --keep built there, as it is")
    args = ap.parse_args()
    n = args.reports or (5_000 if args.quick else 100_000)
    repeat = args.repeat or (3 if args.quick else 5)

    tmp = Path(tempfile.mkdtemp(prefix="nianbao-bench-serve-"))
    data = Path(args.reuse or args.keep) if (args.reuse or args.keep) else tmp / "data"
    try:
        built = None
        if args.reuse:
            n = sqlite3.connect(str(data / "archive.db")).execute(
                "SELECT count(*) FROM reports").fetchone()[0]
            print(f"reusing the catalog of {n:,} reports in {data}")
            db_bytes = sum(p.stat().st_size for p in data.glob("archive.db*"))
        else:
            if check_against_store(tmp / "check"):
                raise SystemExit("the synthetic catalog would not be what store_report writes")
            built = build(data, n)
            print(f"built {n:,} reports: generated in {built['generate_s']:.1f} s, written in "
                  f"{built['write_s']:.1f} s (executemany + report_totals), views and "
                  f"full-text index in {built['index_s']:.1f} s; "
                  f"{built['db_bytes'] / 1e6:.0f} MB")
            db_bytes = built["db_bytes"]
        server = Server(data, tmp / "serve.log")
        try:
            count = measure(server, _q("/archive.json", sql="SELECT count(*) FROM reports",
                                       _shape="array"), repeat)
            if count["status"] != 200:
                raise SystemExit(f"the count query failed: {count}")
            print(f"baseline SELECT count(*) FROM reports (JSON API): {count['ms']:.1f} ms "
                  f"(median of {repeat})")
            results = {}
            for name, path in pages(server, data / "archive.db"):
                r = measure(server, path, repeat)
                r["ratio"] = r["ms"] / count["ms"]
                results[name] = r
                verdict = ("within 1 s" if r["ms"] <= LIMIT_MS else "OVER 1 s") \
                    if r["status"] == 200 else f"ERROR {r['status']}"
                print(f"  {name:58} {r['status']:>3} {r['ms']:9.1f} ms  x{r['ratio']:8.1f}  "
                      f"{verdict}{'  (' + r['note'] + ')' if r['note'] else ''}"
                      f"{'  ' + r['error'][:160] if r['error'] else ''}", flush=True)
        finally:
            server.stop()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    ok = {k: v for k, v in results.items() if v["status"] == 200}
    worst = max(ok, key=lambda k: ok[k]["ms"]) if ok else None
    print(json.dumps({
        "reports": n, "count_ms": round(count["ms"], 1),
        "worst_page": worst, "worst_page_ms": round(ok[worst]["ms"], 1) if worst else None,
        "worst_ratio_vs_count": round(ok[worst]["ratio"], 1) if worst else None,
        "over_1s": sorted(k for k, v in ok.items() if v["ms"] > LIMIT_MS),
        "errors": {k: f"{v['status']} {v['error'][:80]}" for k, v in results.items()
                   if v["status"] != 200},
        "timed_out_parts": sorted(k for k, v in ok.items() if v["note"]),
        "pages": {k: {"ms": round(v["ms"], 1), "ratio": round(v["ratio"], 1),
                      "status": v["status"]} for k, v in results.items()},
        "build_s": (round(built["generate_s"] + built["write_s"] + built["index_s"], 1)
                    if built else None),
        "db_mb": round(db_bytes / 1e6),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
