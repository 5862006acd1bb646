"""What a journalist sees, in the system Chromium, with a screenshot of each page.

The archive is built as a user builds it: the portal farm stands in for the internet,
`nianbao crawl` archives three of its portals (a TRS county, a GBK county, a Hanweb portal that
sends the 淮安 PDF as `application/octet-stream` behind `downfile.jsp`), `nianbao parse` parses
them, and a real `nianbao serve` publishes them. Playwright then opens, in order: the dashboard,
a facet by year, a search for 公开, a report page, the first canned query and an archived
original, asserts each answered 200 and shows what it should, and saves a full-page
screenshot of each into `$NIANBAO_SCREENSHOTS` (default: the test's tmp_path) as
`1-dashboard.png` ... `6-original.png`, for the README's "for journalists" section.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from datasette_dashboards import replace_opts_in_query

from crawler.farm.server import start_farm
from tests.test_crawl_farm import nianbao, run_crawl_subprocess
from tests.test_serve_browser import launch_chromium, serving

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PORTALS = ["demo-county", "demo-gbk", "demo-hanweb"]
DASHBOARD = "overview"
# overlapping character pairs, as the search index holds the text: 政务 务公 公开
BIGRAMS = re.compile(r"([\u4e00-\u9fff])([\u4e00-\u9fff]) \2([\u4e00-\u9fff]) \3")


@pytest.fixture(scope="module")
def farm_archive(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("screens")
    base, stop = start_farm()
    try:
        run_crawl_subprocess(tmp, base, PORTALS)
    finally:
        stop()
    data = tmp / "data"
    parse = subprocess.run(nianbao() + ["parse", "--data", str(data)], capture_output=True,
                           text=True, timeout=300, cwd=tmp)
    assert parse.returncode == 0, parse.stderr[-3000:]
    return data


@pytest.fixture(scope="module")
def db(farm_archive):
    conn = sqlite3.connect(farm_archive / "archive.db")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def server(farm_archive, tmp_path_factory):
    with serving(farm_archive, tmp_path_factory.mktemp("screens-log")) as s:
        yield s[0]


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            yield ctx.new_page()
        finally:
            browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    out = Path(os.environ.get("NIANBAO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def get_json(server: str, path: str, **params):
    url = server + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def visit(page, server: str, path: str):
    response = page.goto(server + path, wait_until="networkidle")
    assert response is not None and response.status == 200, \
        f"{path} answered {response.status if response else None}"
    return response


def shoot(page, shots: Path, name: str) -> None:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one


def _pdf_report(db) -> tuple[int, int, str, str, int]:
    """(report id, capture id, title, agency, year) of the 淮安 PDF the portal sent as
    application/octet-stream."""
    row = db.execute(
        "SELECT r.id, r.capture_id, r.title, r.agency, r.year FROM reports r "
        "JOIN captures c ON c.id = r.capture_id WHERE r.format = 'pdf' AND r.status != 'failed' "
        "AND c.content_type = 'application/octet-stream' AND r.agency LIKE '%淮安%' "
        "ORDER BY r.id DESC LIMIT 1").fetchone()
    assert row, "the crawl archived no 淮安 PDF report sent as application/octet-stream"
    return row


def _js_text(value) -> str:
    """How dashboards.js prints a metric (`${value}`)."""
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_1_dashboard(page, server, shots):
    meta = get_json(server, "/-/metadata.json")
    boards = (meta.get("plugins") or {}).get("datasette-dashboards") or {}
    assert DASHBOARD in boards, f"metadata has no datasette-dashboards '{DASHBOARD}' dashboard"
    board = boards[DASHBOARD]
    # what the page asks for with no filter chosen (datasette-dashboards drops each
    # [[ optional clause ]] whose filter is empty, or applies the filters' defaults)
    filters = {k: f["default"] for k, f in (board.get("filters") or {}).items()
               if f.get("default")}
    visit(page, server, f"/-/dashboards/{DASHBOARD}")
    assert page.inner_text("h1").strip() == board["title"].strip()
    drawn = {}
    for slug, chart in board["charts"].items():
        library = chart.get("library")
        if library == "markdown":
            continue
        card = page.locator(f"#card-{slug}")
        assert chart["title"].strip() in card.inner_text()
        rows = get_json(server, f"/{chart['db']}.json", _shape="objects", **filters,
                        sql=replace_opts_in_query(chart["query"], filters))["rows"]
        if library == "metric":  # the number the chart's own query gives, as printed
            value = rows[0][chart["display"]["field"]]
            text = (chart["display"].get("prefix") or "") + _js_text(value) \
                + (chart["display"].get("suffix") or "")
            shown = card.locator(f"#chart-{slug} p").first
            shown.wait_for(timeout=20_000)
            assert shown.inner_html() == text  # (dashboards.js sets it as innerHTML)
            drawn[slug] = value
        elif library == "table":
            card.locator("table tbody tr").first.wait_for(timeout=20_000)
            assert card.locator("table tbody tr").count() == len(rows)
            drawn[slug] = len(rows)
        else:  # vega, vega-lite: vega-embed draws a canvas or svg once its query answered
            card.locator("canvas, svg").first.wait_for(timeout=20_000)
            drawn[slug] = len(rows)
    assert drawn and any(drawn.values()), f"every chart is empty on the farm archive: {drawn}"
    shoot(page, shots, "1-dashboard")


def test_2_facet_by_year(page, server, shots, db):
    years = {str(y) for (y,) in db.execute(
        "SELECT DISTINCT year FROM reports WHERE year IS NOT NULL")}
    assert {"2020", "2021", "2024"} <= years
    visit(page, server, "/archive/report_overview?_facet=year")
    facet = page.locator('.facet-info[data-column="year"]')
    values = {v.strip() for v in facet.locator("li a").all_inner_texts()}
    assert years <= values, (years, values)
    # a facet value narrows the table: click 2024 and the rows are 2024's
    facet.locator("li a", has_text="2024").first.click()
    page.wait_for_load_state("networkidle")
    assert "year=2024" in page.url
    years_shown = {t.strip() for t in page.locator("table.rows-and-columns td.col-year")
                   .all_inner_texts()}
    assert years_shown == {"2024"}
    page.goto(server + "/archive/report_overview?_facet=year", wait_until="networkidle")
    shoot(page, shots, "2-facet-by-year")


def test_3_search(page, server, shots, db):
    agencies = {a for (a,) in db.execute(
        "SELECT DISTINCT r.agency FROM sections s JOIN reports r ON r.id = s.report_id "
        "WHERE s.text LIKE '%公开%' AND r.agency IS NOT NULL")}
    assert agencies
    visit(page, server, "/-/search?q=" + urllib.parse.quote("公开"))
    text = page.inner_text("body")
    assert any(a in text for a in agencies), text[:2000]
    marks = page.locator("mark").all_inner_texts()
    assert marks and all(m == "公开" for m in marks), marks  # the hit is highlighted
    assert page.locator('a[href*="/-/report/"]').count() >= 1  # each result opens its report
    assert not BIGRAMS.search(text)  # never the index's bigram text
    shoot(page, shots, "3-search")


def test_4_report_page(page, server, shots, db):
    report_id, capture_id, title, agency, year = _pdf_report(db)
    visit(page, server, f"/-/report/{report_id}")
    text = page.inner_text("body")
    assert title and title in text
    assert agency in text and str(year) in text
    assert "三、收到和处理政府信息公开申请情况" in text  # the form's table 三
    assert page.locator(f'a[href$="/-/original/{capture_id}"]').count() >= 1
    shoot(page, shots, "4-report")


def test_5_canned_query(page, server, shots):
    queries = get_json(server, "/archive.json").get("queries") or []
    assert queries, "/archive.json lists no canned query"
    first = queries[0]
    name, title = first["name"], first.get("title") or first["name"]
    params = {p: "" for p in first.get("params") or []}
    data = get_json(server, f"/archive/{name}.json", _shape="objects", **params)
    assert data.get("ok", True), data
    visit(page, server, f"/archive/{urllib.parse.quote(name)}"
          + ("?" + urllib.parse.urlencode(params) if params else ""))
    assert title.strip() in page.inner_text("h1")
    shown = page.locator("table.rows-and-columns tbody tr").count()
    assert shown == len(data["rows"]), (shown, len(data["rows"]))
    if data["rows"]:
        column = next(iter(data["rows"][0]))
        assert page.locator("table.rows-and-columns thead").inner_text().find(column) >= 0
    shoot(page, shots, "5-canned-query")


def test_6_original_pdf(page, server, shots, db):
    _, capture_id, *_ = _pdf_report(db)
    response = visit(page, server, f"/-/original/{capture_id}")
    headers = response.all_headers()
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("inline;") \
        and ".pdf" in headers["content-disposition"]
    assert headers["content-security-policy"] == "sandbox"
    assert page.evaluate("document.contentType") == "application/pdf"  # shown, not downloaded
    page.wait_for_timeout(1500)  # the viewer draws its first page
    shoot(page, shots, "6-original")
