"""The portal farm serves what the crawler tests rely on, and its pages hold the example reports."""
from __future__ import annotations

import http.client
import json
import re
from pathlib import Path

import lxml.html
import pytest

from tests.farm import build_sites
from tests.farm.report_layout import (expand_grid, layout_tables, narrative_from_text,
                                      render_html, render_table_html)
from crawler.farm.server import load_config, start_farm

EXAMPLES = Path(__file__).resolve().parent / "examples"
SITES = Path(__file__).resolve().parents[1] / "crawler" / "farm" / "sites"
CONFIG = load_config()


@pytest.fixture(scope="module")
def farm():
    base, stop = start_farm()
    yield base
    stop()


def fetch(base: str, path: str, method: str = "GET"):
    host, port = base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read() if method != "HEAD" else b""
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def requested_paths(base: str) -> list[str]:
    return [r["path"] for r in json.loads(fetch(base, "/_farm/requests")[2])]


def test_list_pages_paginate_by_script(farm):
    for path, current in (("/county/zfxxgknb/", 0), ("/county/zfxxgknb/index_1.html", 1)):
        status, headers, body = fetch(farm, path)
        assert status == 200 and headers["content-type"] == "text/html; charset=UTF-8"
        assert f'createPageHTML(2, {current}, "index", "html")' in body.decode("utf-8")


def test_flaky_page_503_once_then_200(farm):
    path = CONFIG["flaky"][0]
    status, headers, _ = fetch(farm, path)
    assert status == 503 and headers["retry-after"] == "1"
    status, _, body = fetch(farm, path)
    assert status == 200 and "新镇乡" in body.decode("utf-8")


def test_redirect_to_the_real_pingtan_page(farm):
    (src, dst), = CONFIG["redirects"].items()
    status, headers, _ = fetch(farm, src)
    assert status == 301 and headers["location"] == dst
    status, _, body = fetch(farm, dst)
    assert status == 200 and body == (EXAMPLES / "real_pingtan_2020.html").read_bytes()


def test_pdf_attachment_is_octet_stream(farm):
    doc = next(d for d in CONFIG["documents"] if d["kind"] == "attachment")
    status, headers, body = fetch(farm, doc["path"])
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert body == (EXAMPLES / "real_huaian_2024.pdf").read_bytes()


def test_robots_and_404(farm):
    status, _, body = fetch(farm, "/robots.txt")
    assert status == 200
    assert "Disallow: /county/zfxxgknb/draft/" in body.decode()
    missing = next(e["path"] for e in CONFIG["errors"] if e["status"] == 404)
    assert fetch(farm, missing)[0] == 404
    assert fetch(farm, "/../../pyproject.toml")[0] == 404
    assert fetch(farm, "/farm.json")[0] == 404


def test_gbk_site_is_gbk(farm):
    doc = next(d for d in CONFIG["documents"] if d.get("encoding") == "gbk")
    status, headers, body = fetch(farm, doc["path"])
    assert status == 200 and "charset" not in headers["content-type"]
    assert b"charset=gb2312" in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "胡集乡人民政府" in body.decode("gbk")


def test_oversized_declares_its_size(farm):
    (path, size), = CONFIG["oversized"].items()
    status, headers, _ = fetch(farm, path, "HEAD")
    assert status == 200 and int(headers["content-length"]) == size


def test_trap_never_ends(farm):
    for n in (1, 77, 12345):
        status, _, body = fetch(farm, f"/trap/zfxxgknb/index_{n}.html")
        assert status == 200 and f'href="index_{n + 1}.html"' in body.decode()


def test_request_log(farm):
    fetch(farm, "/county/index.html")
    assert "/county/index.html" in requested_paths(farm)


# --- the layout and the generated sites --------------------------------------------------

CASES = [("000_26e4c39d6db4dceb", "2021"), ("002_4ddc41b1f223583e", "2021"),
         ("004_1583c84d3300f656", "2019"), ("real_huaian_2024", "2021"),
         ("real_pingtan_2020", "2019")]


def values_of(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.expected.json").read_text("utf-8"))["values"]


@pytest.mark.parametrize("name, template", CASES)
def test_layout_is_rectangular_and_shaped_like_the_template(name, template):
    values = values_of(name)
    grids = [expand_grid(t) for t in layout_tables(values, template)]
    three = any(k.startswith("applications.other_no_") for k in values)
    assert [(len(g), len(g[0])) for g in grids] == [
        (14 if template == "2021" else 18, 4), (28 if three else 26, 10), (4, 15)]


def test_layout_puts_values_in_their_cells():
    values = values_of("real_huaian_2024")
    active, apps, review = (expand_grid(t) for t in layout_tables(values, "2021"))
    row = next(r for r in apps if r[2] == "1.本机关不掌握相关政府信息")
    assert row[1] == "（四）无法提供" and row[3:] == ["746", "12", "0", "0", "10", "1", "769"]
    assert apps[3][3:] == ["3001", "53", "0", "0", "61", "4", "3119"]
    blank = layout_tables({"applications.new_received.total": 5}, "2021")[1]
    assert expand_grid(blank)[3][3:] == ["", "", "", "", "", "", "5"]  # None stays blank
    assert review[3] == ["72", "64", "178", "37", "351", "13", "4", "8", "1", "26",
                         "12", "1", "1", "6", "20"]
    fees = next(r for r in active if r[0] == "行政事业性收费")
    assert fees[1:] == ["96171.6"] * 3  # one cell spanning three columns


def test_layout_rejects_unknown_template():
    with pytest.raises(ValueError):
        layout_tables({}, "2020")


def html_grid(table_el) -> list[list[str]]:
    """Expand an HTML table's spans (independently of report_layout.expand_grid)."""
    grid: dict = {}
    for r, tr in enumerate(table_el.xpath("./tbody/tr|./tr")):
        c = 0
        for td in tr.xpath("./td|./th"):
            while (r, c) in grid:
                c += 1
            text = "".join(td.itertext()).replace("\xa0", "").strip()
            for dr in range(int(td.get("rowspan", 1))):
                for dc in range(int(td.get("colspan", 1))):
                    grid[(r + dr, c + dc)] = text
            c += int(td.get("colspan", 1))
    rows = 1 + max(r for r, _ in grid)
    cols = 1 + max(c for _, c in grid)
    return [[grid.get((r, c)) for c in range(cols)] for r in range(rows)]


@pytest.mark.parametrize("word_pasted", [False, True])
def test_html_tables_round_trip(word_pasted):
    tables = layout_tables(values_of("real_pingtan_2020"), "2019",
                           units={"active_disclosure.20.9.procurement.procurement_amount": "元"})
    for table in tables:
        el = lxml.html.fromstring(render_table_html(table, word_pasted=word_pasted))
        assert html_grid(el) == expand_grid(table)
    assert "73802895.9元" in expand_grid(tables[0])[-1]


def test_report_pages_hold_the_example_tables():
    """Each generated report page's tables expand to the layout of its example's values."""
    pages = [d for d in CONFIG["documents"] if d["kind"] == "page" and d["example"]
             and d["example"][:3].isdigit()]
    assert len(pages) >= 4 and {d["portal"] for d in pages} >= {"demo-county", "demo-gbk", "demo-js"}
    for doc in pages:
        raw = (SITES / doc.get("file", doc["path"]).lstrip("/")).read_bytes()
        root = lxml.html.fromstring(raw.decode(doc.get("encoding", "utf-8")))
        grids = [html_grid(t) for t in root.xpath("//div[@class='TRS_Editor']//table")]
        values = values_of(doc["example"])
        template = json.loads((EXAMPLES / f"{doc['example']}.expected.json").read_text())["meta"]["template"]
        wanted = [expand_grid(t) for t in layout_tables(values, template)]
        assert [(len(g), len(g[0])) for g in grids] == [(len(g), len(g[0])) for g in wanted]
        assert [[c for row in g for c in row if re.fullmatch(r"-?\d+(\.\d+)?", c or "")]
                for g in grids] == \
               [[c for row in g for c in row if re.fullmatch(r"-?\d+(\.\d+)?", c or "")]
                for g in wanted], doc["path"]


def test_narrative_keeps_sections_and_places_tables():
    title, body = narrative_from_text((EXAMPLES / "004_1583c84d3300f656.txt").read_text("utf-8"))
    assert title.startswith("金凤区良田镇人民政府")
    kinds = [k for k, _ in body]
    assert kinds.count("table") == 3
    headings = [v for k, v in body if k == "h"]
    assert [h[:2] for h in headings if re.match(r"^[一二三四五六]、", h)] == \
           ["一、", "二、", "三、", "四、", "五、", "六、"]
    # each table right after its section's heading text
    order = [v if k == "table" else v[:2] for k, v in body if k == "table" or
             (k == "h" and re.match(r"^[二三四五]、", v))]
    assert order == ["二、", 0, "三、", 1, "四、", 2, "五、"]
    page = render_html(title=title, body=body, tables=layout_tables(values_of("004_1583c84d3300f656"), "2019"),
                       site_name="s", column_name="c", column_href="../", pub_date="2021-01-28")
    assert page.count("<table") == 3 and 'rowspan="20"' in page


def test_committed_sites_are_what_build_sites_writes(tmp_path):
    out = tmp_path / "sites"
    build_sites.main(out)
    built = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(SITES) for p in SITES.rglob("*") if p.is_file())
    assert built == committed
    for rel in built:
        assert (out / rel).read_bytes() == (SITES / rel).read_bytes(), \
            f"{rel} differs: run `python tests/farm/build_sites.py` and commit the result"
