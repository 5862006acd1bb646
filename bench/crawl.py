"""Crawl benchmark: pages/s of a whole `nianbao crawl` (WARC + catalog + document pipeline)
against a bare Scrapy spider fetching the same pages, the crawl's peak memory, and pages/s
and memory of a crawl rendered in Chromium.

    .venv/bin/python bench/crawl.py            # ~2000 pages, ~130 portals
    .venv/bin/python bench/crawl.py --quick    # ~300 pages, ~20 portals, under two minutes

The farm is generated into a temporary directory: many TRS-style portals `/pN/`, each a
home page linking 政府信息公开年报 -> `/pN/zfxxgknb/index.html`, list pages paginated by
`createPageHTML` (`index_1.html` ...) listing report pages (某县某局2023年政府信息公开工作
年度报告, a few KB each, some with a small PDF attachment) and a few notices that are not
reports. A registry (portals.yml format) has one entry per portal, `render: never`.

Each crawl runs in its own subprocess (Twisted's reactor runs once per process), against
the same server, nianbao then bare, `--rounds` times (default 3). Each round's two crawls
run back to back, so their ratio is paired against the shared machine's drift;
`ratio_vs_bare_scrapy` is the median of the rounds' ratios (all are printed):

- nianbao: `nianbao crawl --no-parse` with politeness off (DOWNLOAD_DELAY=0, AutoThrottle
  off, 16 requests per host: every portal is on one host), robots.txt obeyed;
- bare: the tiny `BareSpider` below in a CrawlerProcess with the same concurrency and
  robots.txt: the same link-following (home -> the link naming 年报, list -> links naming
  年度报告 and the createPageHTML pages, report -> its .pdf links), no archive, no pipeline.

pages/s = pages fetched / Scrapy's own `elapsed_time_seconds` (spider opened -> closed),
for both, so interpreter start-up and imports are left out (`ratio_vs_bare_scrapy`); the
rate from the first to the last response (`ratio_steady_state`: per-page cost only, without
start-up inside the spider's run) and the whole processes' wall clock
(`ratio_process_wall_clock`, best of each) are printed too. Pages are counted from the
catalog (captures) for nianbao and from `downloader/response_count` for the bare spider
(robots.txt included in both); the benchmark fails if they differ by more than 3 %.

Memory: the resident set of the crawl process plus all its descendants (Playwright's node
driver, Chromium's processes), summed from /proc every 50 ms by this process (RSS double
counts pages Chromium's processes share; PSS, which does not, is printed beside it). The
rendered crawl (`--render always`: list and report pages through real Chromium) runs at two
sizes; their peak ratio shows whether memory grows with the number of pages rendered.

Server: Debian's nginx (one worker, 127.0.0.1, a config in the temporary directory, run as
a foreground subprocess and stopped at the end), installed with apt-get when missing and
this runs as root. Why: the farm's own server (crawler/farm/server.py, `start_farm(sites=...)`,
kept as `--server farm`) limits the crawl. It is latency-bound, not CPU-bound: it writes a
reply's headers and body in two sends without TCP_NODELAY, so every request after the first
on a kept-alive connection waits ~44 ms for a delayed ACK. Measured here: the 16-connection
probe got ~330 req/s from it (the server at ~25 % of a core) and the bare spider 84-115
pages/s, against ~2900 req/s from nginx (13-18 % of a core) and 140-230 pages/s for the
bare spider. Each run prints the probe rate of the server it used beside the bare rate.

Figures are ratios and rates measured in one run on this machine; the last line printed is
a JSON object (DESIGN.md: benchmarks).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
CONCURRENCY = 16
TOLERANCE = 0.03  # nianbao's and the bare spider's page counts may differ by this much

# -------------------------------------------------------------------------------------------
# the generated farm
# -------------------------------------------------------------------------------------------

PLACES = ["安平", "宁远", "青山", "白水", "东阳", "南丰", "西林", "北川", "长乐", "永和", "清河",
          "临泉", "兴隆", "丰宁", "江华", "泰来", "富源", "新化", "宜章", "武宁", "德安", "通山",
          "崇义", "乐平", "都昌", "万年", "石门", "桃源", "绥宁", "隆回"]
AGENCIES = ["人民政府", "人民政府办公室", "发展和改革局", "教育局", "公安局", "民政局", "司法局",
            "财政局", "人力资源和社会保障局", "自然资源局", "生态环境局", "住房和城乡建设局",
            "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局", "卫生健康委员会",
            "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局"]
NOTICES = ["关于做好{y}年安全生产工作的通知", "关于公布{y}年度行政许可事项清单的公告",
           "{y}年第一季度重点工作推进情况", "关于开展{y}年防汛应急演练的通知"]
ROBOTS = "User-agent: *\n"

# the farm's own TRS pager (the script and its createPageHTML call), as county sites write it
sys.path.insert(0, str(REPO / "tests" / "farm"))
from build_sites import trs_pager  # noqa: E402


def _page(title: str, body: str, head: str = "") -> str:
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta http-equiv=\"Content-Type\" "
            "content=\"text/html; charset=utf-8\" />\n" + head +
            f"<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _report_html(rng: random.Random, site: str, title: str, year: int, pub: str,
                 pdf: str | None) -> str:
    n = [rng.randint(0, 900) for _ in range(12)]
    paras = [
        f"根据《中华人民共和国政府信息公开条例》（以下简称《条例》）要求，现公布{title[:-13]}"
        f"{year}年政府信息公开工作年度报告。本报告所列数据的统计期限自{year}年1月1日至{year}年"
        f"12月31日。如对本报告有疑问，请与本机关政务公开办公室联系（电话：0{rng.randint(100, 999)}—"
        f"{rng.randint(1000000, 9999999)}）。",
        f"一、总体情况。{year}年，本机关坚持以公开为常态、不公开为例外，全年主动公开政府信息"
        f"{n[0]}条，其中规范性文件{n[1]}件，政策解读{n[2]}篇，通过政务新媒体发布信息{n[3]}条。",
        f"（二）依申请公开情况。全年收到政府信息公开申请{n[4]}件，办结{n[5]}件，其中予以公开"
        f"{n[6]}件，部分公开{n[7]}件，不予公开{n[8]}件。",
        f"（三）政府信息管理。全年清理政府信息{n[9]}条，更新完善政府信息公开指南和目录。",
        f"二、行政复议、行政诉讼情况。因政府信息公开被申请行政复议{n[10] % 9}件，"
        f"被提起行政诉讼{n[11] % 5}件，结果均为维持。",
        "三、存在的主要问题及改进情况。一是公开内容不够全面，二是政策解读形式较为单一。"
        "下一步将加强业务培训，丰富解读形式，提高政府信息公开质量。",
    ]
    rows = "".join(f"<tr><td>{label}</td><td>{rng.randint(0, 300)}</td><td>{rng.randint(0, 300)}"
                   f"</td><td>{rng.randint(0, 300)}</td></tr>\n"
                   for label in ("规章", "行政规范性文件", "行政许可", "行政处罚", "行政强制",
                                 "行政事业性收费", "政府集中采购"))
    attach = (f'<p>附件：<a href="./{pdf}">{title}.pdf</a></p>\n' if pdf else "")
    body = (f'<div class="header"><a href="../../">{site}</a></div>\n'
            f'<div class="nav"><a href="../../">首页</a> &gt; <a href="../">政府信息公开年报</a></div>\n'
            f'<div class="article">\n<h1 class="title">{title}</h1>\n'
            f'<div class="info">发布时间：{pub}　来源：{site}</div>\n<div class="TRS_Editor">\n'
            + "".join(f'<p style="text-indent:2em">{p}</p>\n' for p in paras)
            + '<table border="1"><tr><th>信息内容</th><th>本年制发件数</th><th>本年废止件数</th>'
              f'<th>现行有效件数</th></tr>\n{rows}</table>\n' + attach + "</div>\n</div>\n"
            f'<div class="footer">主办：{site}</div>')
    head = (f'<meta name="SiteName" content="{site}" />\n'
            '<meta name="ColumnName" content="政府信息公开年报" />\n'
            f'<meta name="ArticleTitle" content="{title}" />\n<meta name="PubDate" content="{pub}" />\n')
    return _page(f"{title}_政府信息公开年报_{site}", body, head)


def _fake_pdf(text: str, rng: random.Random) -> bytes:
    filler = " ".join(str(rng.randint(0, 10 ** 9)) for _ in range(150))
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + text.encode("utf-8") +
            b"\n% " + filler.encode() + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def generate_farm(root: Path, target_pages: int, seed: int = 2026) -> dict:
    """Write portals /p0/, /p1/ ... under root/sites until about `target_pages` pages would
    be fetched. Returns {"portals": [{"name", "path", "pages", "rendered"}], "pages": n,
    "paths": every fetched path}."""
    rng = random.Random(seed)
    sites = root / "sites"
    sites.mkdir(parents=True)
    portals, paths = [], ["/robots.txt"]
    total = 1  # robots.txt
    i = 0
    while total < target_pages:
        place = PLACES[i % len(PLACES)] + ("县" if i % 3 else "区")
        site = f"{place}人民政府"
        base = f"/p{i}/"
        pdir = sites / f"p{i}"
        col = pdir / "zfxxgknb"
        col.mkdir(parents=True)
        n_lists = rng.choice((1, 2, 2, 3))
        fetched = [base, base + "zfxxgknb/index.html"]
        rendered = 2
        (pdir / "index.html").write_text(_page(site, (
            f'<div class="nav"><a href="./">首页</a> <a href="xwzx/">新闻中心</a>\n'
            f'<a href="zfxxgknb/index.html" title="政府信息公开年报">政府信息公开年报</a> '
            f'<a href="bsfw/">办事服务</a> <a href="hdjl/">互动交流</a></div>\n'
            f'<p>欢迎访问{site}门户网站。</p>')), "utf-8")
        for page_no in range(n_lists):
            items = []
            for k in range(rng.randint(5, 8)):
                year = rng.randint(2016, 2024)
                agency = rng.choice(AGENCIES)
                title = f"{place}{agency}{year}年政府信息公开工作年度报告"
                month = f"{year + 1}{rng.randint(1, 3):02d}"
                day = rng.randint(10, 28)
                stem = f"t{month}{day}_{rng.randint(100000, 999999)}"
                pub = f"{year + 1}-{month[4:]}-{day}"
                pdf = f"P0{month}{day}{rng.randint(10 ** 8, 10 ** 9)}.pdf" if rng.random() < 0.25 else None
                (col / month).mkdir(exist_ok=True)
                (col / month / f"{stem}.html").write_text(
                    _report_html(rng, site, title, year, pub, pdf), "utf-8")
                fetched.append(f"{base}zfxxgknb/{month}/{stem}.html")
                rendered += 1
                if pdf:
                    (col / month / pdf).write_bytes(_fake_pdf(title, rng))
                    fetched.append(f"{base}zfxxgknb/{month}/{pdf}")
                short = title if len(title) <= 22 else title[:20] + "..."
                items.append(f'<li><a href="./{month}/{stem}.html" title="{title}" target="_blank">'
                             f'{short}</a><span>{pub}</span></li>')
            for k in range(2):  # notices in the column: not reports, fetched by neither crawl
                y = rng.randint(2018, 2024)
                ntitle = rng.choice(NOTICES).format(y=y)
                stem = f"t{y}0{k + 4}15_{rng.randint(100000, 999999)}"
                (col / str(y)).mkdir(exist_ok=True)
                (col / str(y) / f"{stem}.html").write_text(_page(ntitle, f"<p>{ntitle}</p>"), "utf-8")
                items.insert(rng.randint(0, len(items)),
                             f'<li><a href="./{y}/{stem}.html" title="{ntitle}" target="_blank">'
                             f'{ntitle}</a><span>{y}-04-15</span></li>')
            name = "index.html" if page_no == 0 else f"index_{page_no}.html"
            if page_no:
                fetched.append(f"{base}zfxxgknb/{name}")
                rendered += 1
            (col / name).write_text(_page(f"政府信息公开年报_{site}", (
                f'<div class="header"><a href="../">{site}</a></div>\n'
                f'<div class="nav"><a href="../">首页</a> &gt; <span>政府信息公开年报</span></div>\n'
                f'<div class="list">\n<ul>\n' + "\n".join(items) + "\n</ul>\n</div>\n"
                f'{trs_pager(n_lists, page_no)}\n'
                f'<div class="footer">主办：{site}</div>'),
                '<meta name="ColumnName" content="政府信息公开年报" />\n'), "utf-8")
        portals.append({"name": f"bench-p{i}", "path": base, "pages": len(fetched),
                        "rendered": rendered})
        paths += fetched
        total += len(fetched)
        i += 1
    (sites / "robots.txt").write_text(ROBOTS, "utf-8")  # nginx serves it; the farm makes its own
    (sites / "farm.json").write_text(json.dumps({
        "redirects": {}, "flaky": [], "slow": {}, "oversized": {}, "charset": {},
        "robots_disallow": [], "list_pages": [], "documents": [], "errors": [],
        "never_fetch": []}, indent=1), "utf-8")
    return {"portals": portals, "pages": total, "paths": paths}


def write_registry(path: Path, base: str, portals: list[dict]) -> Path:
    lines = ["# generated by bench/crawl.py", "portals:"]
    for p in portals:
        lines += [f"  - name: {p['name']}", f"    url: {base}{p['path']}",
                  f"    allow: [\"{base}{p['path']}\"]", "    render: never", "    real: false"]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


# -------------------------------------------------------------------------------------------
# servers
# -------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_nginx() -> str | None:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("nginx missing: apt-get install nginx-light", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx-light"],
                   env=env, check=False, stdout=subprocess.DEVNULL)
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                     else None)


def start_nginx(exe: str, root: Path, sites: Path) -> tuple[str, callable]:
    conf_dir = root / "nginx"
    conf_dir.mkdir()
    port = _free_port()
    conf = conf_dir / "nginx.conf"
    conf.write_text(f"""worker_processes 1;
daemon off;
pid {conf_dir}/nginx.pid;
error_log {conf_dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  types {{ text/html html htm; text/plain txt; application/json json; application/pdf pdf; }}
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  keepalive_timeout 60;
  client_body_temp_path {conf_dir}/body;
  proxy_temp_path {conf_dir}/proxy;
  fastcgi_temp_path {conf_dir}/fastcgi;
  uwsgi_temp_path {conf_dir}/uwsgi;
  scgi_temp_path {conf_dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {sites};
    index index.html;
  }}
}}
""")
    proc = subprocess.Popen([exe, "-e", str(conf_dir / "error.log"), "-p", str(conf_dir),
                             "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode()[-800:]}")
            time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    stop.pids = [proc.pid]
    return base, stop


def start_server(kind: str, root: Path) -> tuple[str, callable, str]:
    sites = root / "sites"
    if kind in ("auto", "nginx"):
        exe = _ensure_nginx()
        if exe:
            base, stop = start_nginx(exe, root, sites)
            return base, stop, "nginx"
        if kind == "nginx":
            raise SystemExit("nginx not found (apt-get install nginx-light)")
        print("WARNING: nginx not available: the farm's Python server may limit the figures",
              flush=True)
    sys.path.insert(0, str(REPO))
    from crawler.farm.server import start_farm

    base, stop = start_farm(0, sites=sites)
    stop.pids = [os.getpid()]
    return base, stop, "farm"


# -------------------------------------------------------------------------------------------
# memory: a process tree's resident set, from /proc
# -------------------------------------------------------------------------------------------

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _kb(path: str, field: bytes) -> int:
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory(pid: int) -> tuple[int, int, int]:
    """(RSS kB, PSS kB, processes) of `pid` and all its descendants."""
    kids = _children_map()
    todo, rss, pss, n = [pid], 0, 0, 0
    while todo:
        p = todo.pop()
        r = _kb(f"/proc/{p}/status", b"VmRSS:")
        if r:
            n += 1
            rss += r
            pss += _kb(f"/proc/{p}/smaps_rollup", b"Pss:")
        todo += kids.get(p, [])
    return rss, pss, n


class MemoryWatch(threading.Thread):
    """Polls a process tree's memory every `interval` s until stopped; keeps the samples."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, int, int]] = []  # (t, rss kB, pss kB, procs)
        self.done = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.done.is_set():
            rss, pss, n = tree_memory(self.pid)
            if n:
                self.samples.append((time.monotonic() - t0, rss, pss, n))
            self.done.wait(self.interval)

    def peak(self, col: int = 1) -> float:
        return max((s[col] for s in self.samples), default=0) / 1024

    def procs(self) -> int:
        return max((s[3] for s in self.samples), default=0)


def run_watched(cmd: list[str], cwd: Path, timeout: float = 1800) -> tuple[subprocess.CompletedProcess, MemoryWatch, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    watch = MemoryWatch(proc.pid)
    watch.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        watch.done.set()
        watch.join()
    wall = time.perf_counter() - t0
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), watch, wall


# -------------------------------------------------------------------------------------------
# the crawls
# -------------------------------------------------------------------------------------------

POLITENESS_OFF = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
                  "CONCURRENT_REQUESTS_PER_DOMAIN": str(CONCURRENCY), "NIANBAO_PROGRESS": "off"}


def nianbao_crawl(tmp: Path, registry: Path, tag: str, render: str | None = None) -> dict:
    data = tmp / f"data-{tag}"
    exe = VENV_BIN / "nianbao"
    cmd = ([str(exe)] if exe.exists() else [sys.executable, "-m", "crawler.cli"]) + [
        "crawl", "--data", str(data), "--portals", str(registry), "--no-parse"]
    if render:
        cmd += ["--render", render]
    for name, value in POLITENESS_OFF.items():
        cmd += ["-s", f"{name}={value}"]
    out, watch, wall = run_watched(cmd, REPO)
    if out.returncode != 0:
        raise SystemExit(f"nianbao crawl failed ({out.returncode}):\n{out.stderr[-3000:]}")
    summary = json.loads(out.stdout[out.stdout.index("{"):])
    with sqlite3.connect(data / "archive.db") as db:
        pages = db.execute("SELECT count(*) FROM captures").fetchone()[0]
        rendered = db.execute("SELECT count(*) FROM captures WHERE rendered = 1").fetchone()[0]
        statuses = dict(db.execute("SELECT status, count(*) FROM captures GROUP BY status"))
        first, last = db.execute("SELECT min(fetched_at), max(fetched_at) FROM captures").fetchone()
        errors = db.execute("SELECT count(*) FROM crawl_errors").fetchone()[0]
        stats = json.loads(db.execute("SELECT stats FROM crawl_runs WHERE id = ?",
                                      (summary["run_id"],)).fetchone()[0])
    elapsed = stats["scrapy"].get("elapsed_time_seconds") or stats.get("duration_s")
    shutil.rmtree(data, ignore_errors=True)
    return {"pages": pages, "rendered": rendered, "statuses": statuses, "errors": errors,
            "steady": _ts(last) - _ts(first),
            "elapsed": elapsed, "wall": wall, "documents": summary.get("documents"),
            "peak_rss_mb": watch.peak(1), "peak_pss_mb": watch.peak(2), "procs": watch.procs(),
            "samples": watch.samples}


def _ts(warc_date: str) -> float:
    from datetime import datetime

    return datetime.strptime(warc_date, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def bare_crawl(tmp: Path, registry: Path, tag: str) -> dict:
    out_file = tmp / f"bare-{tag}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--bare-worker", str(registry),
           str(out_file)]
    out, watch, wall = run_watched(cmd, tmp)
    if out.returncode != 0:
        raise SystemExit(f"bare crawl failed ({out.returncode}):\n{out.stderr[-3000:]}")
    stats = json.loads(out_file.read_text())
    first, last = stats["first_last"]
    return {"pages": stats.get("downloader/response_count", 0), "steady": last - first,
            "statuses": {k.rsplit("/", 1)[-1]: v for k, v in stats.items()
                         if k.startswith("downloader/response_status_count/")},
            "elapsed": stats["elapsed_time_seconds"], "wall": wall,
            "peak_rss_mb": watch.peak(1)}


def bare_worker(registry: str, out_file: str) -> None:
    """The bare spider's process: a CrawlerProcess with Scrapy's defaults but the same
    concurrency, robots.txt and headers as nianbao's crawl; writes its stats as JSON."""
    import yaml
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    entries = yaml.safe_load(Path(registry).read_text("utf-8"))["portals"]
    page_call = re.compile(r"createPageHTML\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*\"(\w+)\"\s*,\s*\"(\w+)\"")

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self):
            for e in entries:
                yield scrapy.Request(e["url"], self.parse_home, cb_kwargs={"allow": e["allow"][0]})

        def _links(self, response, allow: str):
            for a in response.xpath("//a[@href]"):
                url = response.urljoin(a.attrib["href"]).split("#", 1)[0]
                if url.startswith(allow):
                    text = a.attrib.get("title") or " ".join(a.xpath(".//text()").getall())
                    yield url, text

        def parse_home(self, response, allow):
            for url, text in self._links(response, allow):
                if "年报" in text:
                    yield response.follow(url, self.parse_list, cb_kwargs={"allow": allow})

        def parse_list(self, response, allow):
            for url, text in self._links(response, allow):
                if "年度报告" in text:
                    yield response.follow(url, self.parse_report, cb_kwargs={"allow": allow})
            for script in response.xpath("//script/text()").getall():
                for total, current, prefix, ext in page_call.findall(script):
                    for n in range(int(total)):
                        if n != int(current):
                            name = f"{prefix}.{ext}" if n == 0 else f"{prefix}_{n}.{ext}"
                            yield response.follow(name, self.parse_list, cb_kwargs={"allow": allow})

        def parse_report(self, response, allow):
            for url, _ in self._links(response, allow):
                if url.lower().endswith(".pdf"):
                    yield response.follow(url, self.parse_file)

        def parse_file(self, response):
            pass

    times: list[float] = []
    process = CrawlerProcess({
        "ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY, "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "INFO", "TELNETCONSOLE_ENABLED": False,
        "USER_AGENT": "bare-scrapy-bench", "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5", "Accept-Encoding": "identity"},
    })
    crawler = process.create_crawler(BareSpider)
    crawler.signals.connect(lambda **kw: times.append(time.time()),
                            signal=signals.response_received, weak=False)
    process.crawl(crawler)
    process.start()
    stats = dict(crawler.stats.get_stats(), first_last=[min(times), max(times)] if times else None)
    Path(out_file).write_text(json.dumps(stats, default=str))


# -------------------------------------------------------------------------------------------
# the server probe: how fast does the server answer, apart from Scrapy?
# -------------------------------------------------------------------------------------------

def probe_worker(base: str, paths_file: str, seconds: str) -> None:
    """Fetch the farm's paths over CONCURRENCY keep-alive connections (http.client threads)
    for `seconds`; print requests per second."""
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(base)
    paths = json.loads(Path(paths_file).read_text())
    deadline = time.perf_counter() + float(seconds)
    counts = [0] * CONCURRENCY

    def fetch(slot: int) -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        i = slot
        while time.perf_counter() < deadline:
            conn.request("GET", paths[i % len(paths)], headers={"Accept-Encoding": "identity"})
            resp = conn.getresponse()
            resp.read()
            if resp.will_close:
                conn.close()
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
            counts[slot] += 1
            i += CONCURRENCY

    t0 = time.perf_counter()
    threads = [threading.Thread(target=fetch, args=(s,)) for s in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"req_per_s": sum(counts) / (time.perf_counter() - t0)}))


def probe(base: str, tmp: Path, paths: list[str], server_pids: list[int],
          seconds: float = 2.0) -> tuple[float, float]:
    """(requests/s, server CPU share of one core during the probe)."""
    paths_file = tmp / "paths.json"
    paths_file.write_text(json.dumps(paths))

    def cpu() -> float:
        total = 0
        for pid in server_pids:
            for p in [pid] + _children_map().get(pid, []):
                try:
                    fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])
                except OSError:
                    pass
        return total / os.sysconf("SC_CLK_TCK")

    c0, t0 = cpu(), time.perf_counter()
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--probe-worker", base,
                          str(paths_file), str(seconds)], capture_output=True, text=True, check=True)
    c1, t1 = cpu(), time.perf_counter()
    return json.loads(out.stdout)["req_per_s"], (c1 - c0) / (t1 - t0)


# -------------------------------------------------------------------------------------------

def _check_same(a: int, b: int, what: str) -> None:
    if abs(a - b) > TOLERANCE * max(a, b):
        raise SystemExit(f"FAIL: {what}: nianbao fetched {a} pages, the bare spider {b}: "
                         f"the crawls are not comparable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="~300 pages, under two minutes")
    parser.add_argument("--pages", type=int, help="pages to generate (default 300 / 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="nianbao/bare pairs, interleaved")
    parser.add_argument("--server", choices=("auto", "nginx", "farm"), default="auto")
    parser.add_argument("--no-browser", action="store_true", help="skip the rendered crawls")
    parser.add_argument("--render", choices=("auto", "never"), default="auto",
                        help="the measured crawl's --render: auto keeps Chromium on standby "
                             "(as for real portals), never leaves it out")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    target = args.pages or (300 if args.quick else 2000)
    render_sizes = (20, 80) if args.quick else (40, 160)

    tmp = Path(tempfile.mkdtemp(prefix="nianbao-bench-crawl-"))
    os.chmod(tmp, 0o755)  # nginx's worker may run as another user
    figures: dict = {"cores": os.cpu_count()}
    stop = None
    try:
        t0 = time.perf_counter()
        farm = generate_farm(tmp, target)
        base, stop, server = start_server(args.server, tmp)
        registry = write_registry(tmp / "portals.yml", base, farm["portals"])
        print(f"farm: {len(farm['portals'])} portals, {farm['pages']} pages to fetch, "
              f"served by {server} at {base} (built in {time.perf_counter() - t0:.1f} s)",
              flush=True)
        rate, cpu_share = probe(base, tmp, farm["paths"], stop.pids)
        print(f"server probe ({CONCURRENCY} keep-alive http.client connections): {rate:.0f} req/s, "
              f"server at {cpu_share * 100:.0f} % of a core", flush=True)
        figures.update(server=server, server_probe_req_per_s=round(rate),
                       server_probe_cpu=round(cpu_share, 2), portals=len(farm["portals"]),
                       pages_expected=farm["pages"])

        ours_runs, bare_runs = [], []
        for r in range(args.rounds):
            ours = nianbao_crawl(tmp, registry, f"r{r}", render=args.render)
            bare = bare_crawl(tmp, registry, f"r{r}")
            for run in (ours, bare):
                run["rate"] = run["pages"] / run["elapsed"]
                run["steady_rate"] = (run["pages"] - 1) / run["steady"]
            print(f"round {r + 1}: nianbao {ours['pages']} pages in {ours['elapsed']:.2f} s = "
                  f"{ours['rate']:.0f} pages/s (first to last response {ours['steady_rate']:.0f}/s, "
                  f"process {ours['wall']:.1f} s, peak RSS {ours['peak_rss_mb']:.0f} MB in "
                  f"{ours['procs']} processes); bare scrapy {bare['pages']} pages in "
                  f"{bare['elapsed']:.2f} s = {bare['rate']:.0f} pages/s ({bare['steady_rate']:.0f}/s, "
                  f"process {bare['wall']:.1f} s, peak RSS {bare['peak_rss_mb']:.0f} MB)", flush=True)
            if ours["statuses"] != {int(k): v for k, v in bare["statuses"].items()}:
                print(f"  statuses differ: nianbao {ours['statuses']} bare {bare['statuses']}")
            _check_same(ours["pages"], bare["pages"], f"round {r + 1}")
            ours_runs.append(ours)
            bare_runs.append(bare)

        def best(runs, key):
            return max(run[key] for run in runs)

        # each round's nianbao and bare crawls run back to back: their ratio is paired against
        # the machine's drift (it is shared); the median of the rounds' ratios is reported
        round_ratios = [o["rate"] / b["rate"] for o, b in zip(ours_runs, bare_runs)]
        ratio = statistics.median(round_ratios)
        steady_ratio = statistics.median(o["steady_rate"] / b["steady_rate"]
                                         for o, b in zip(ours_runs, bare_runs))
        wall_ratio = (max(o["pages"] / o["wall"] for o in ours_runs)
                      / max(b["pages"] / b["wall"] for b in bare_runs))
        figures.update(
            nianbao_pages=ours_runs[0]["pages"], bare_pages=bare_runs[0]["pages"],
            nianbao_pages_per_s=round(best(ours_runs, "rate"), 1),
            bare_pages_per_s=round(best(bare_runs, "rate"), 1),
            ratio_vs_bare_scrapy=round(ratio, 3),
            round_ratios=[round(r, 3) for r in round_ratios],
            nianbao_steady_pages_per_s=round(best(ours_runs, "steady_rate"), 1),
            bare_steady_pages_per_s=round(best(bare_runs, "steady_rate"), 1),
            ratio_steady_state=round(steady_ratio, 3), ratio_process_wall_clock=round(wall_ratio, 3),
            nianbao_runs_pages_per_s=[round(o["rate"], 1) for o in ours_runs],
            bare_runs_pages_per_s=[round(b["rate"], 1) for b in bare_runs],
            peak_rss_mb=round(best(ours_runs, "peak_rss_mb"), 1),
            peak_pss_mb=round(best(ours_runs, "peak_pss_mb"), 1),
            bare_peak_rss_mb=round(best(bare_runs, "peak_rss_mb"), 1))
        print(f"nianbao {figures['nianbao_pages_per_s']:.0f} pages/s vs bare scrapy "
              f"{figures['bare_pages_per_s']:.0f} pages/s (best of {args.rounds}, spider opened to "
              f"closed); ratio {ratio:.2f} (median of the rounds' "
              f"{', '.join(f'{r:.2f}' for r in round_ratios)}); first to last response "
              f"{steady_ratio:.2f}; whole "
              f"process {wall_ratio:.2f}. Peak RSS {figures['peak_rss_mb']:.0f} MB (PSS "
              f"{figures['peak_pss_mb']:.0f}), bare {figures['bare_peak_rss_mb']:.0f} MB", flush=True)
        if best(bare_runs, "steady_rate") > 0.5 * rate:
            print(f"  note: the bare spider ran at {best(bare_runs, 'steady_rate') / rate:.0%} of the "
                  f"server probe's rate: the server may be limiting it", flush=True)

        if not args.no_browser:
            rendered_runs = []
            for size in render_sizes:
                chosen, n = [], 0
                for p in farm["portals"]:
                    if n >= size:
                        break
                    chosen.append(p)
                    n += p["rendered"]
                reg = write_registry(tmp / f"portals-render-{size}.yml", base, chosen)
                run = nianbao_crawl(tmp, reg, f"render{size}", render="always")
                samples = run.pop("samples")
                half = samples[-1][0] / 2 if samples else 0
                first = max((s[1] for s in samples if s[0] <= half), default=0) / 1024
                second = max((s[1] for s in samples if s[0] > half), default=0) / 1024
                rate_r = run["rendered"] / run["elapsed"]
                print(f"rendered crawl, {len(chosen)} portals: {run['rendered']} pages through "
                      f"Chromium ({run['pages']} captures) in {run['elapsed']:.1f} s = {rate_r:.1f} "
                      f"pages/s; peak RSS {run['peak_rss_mb']:.0f} MB (PSS {run['peak_pss_mb']:.0f}, "
                      f"{run['procs']} processes); first half {first:.0f} MB, second half "
                      f"{second:.0f} MB", flush=True)
                rendered_runs.append((run, rate_r, first, second))
            small, large = rendered_runs[0], rendered_runs[-1]
            figures.update(
                browser_pages=[r[0]["rendered"] for r in rendered_runs],
                browser_pages_per_s=round(large[1], 2),
                browser_runs_pages_per_s=[round(r[1], 2) for r in rendered_runs],
                browser_peak_rss_mb=[round(r[0]["peak_rss_mb"], 1) for r in rendered_runs],
                browser_peak_pss_mb=[round(r[0]["peak_pss_mb"], 1) for r in rendered_runs],
                browser_rss_ratio_large_vs_small=round(large[0]["peak_rss_mb"] /
                                                       small[0]["peak_rss_mb"], 2),
                browser_rss_second_vs_first_half=round(large[3] / large[2], 2) if large[2] else None)
            print(f"browser memory: peak RSS {small[0]['peak_rss_mb']:.0f} MB for "
                  f"{small[0]['rendered']} pages, {large[0]['peak_rss_mb']:.0f} MB for "
                  f"{large[0]['rendered']}: x{figures['browser_rss_ratio_large_vs_small']:.2f}",
                  flush=True)
    finally:
        if stop is not None:
            stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--bare-worker":
        bare_worker(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "--probe-worker":
        probe_worker(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
