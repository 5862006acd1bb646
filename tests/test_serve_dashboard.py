"""The journalist's way in (issue 10): the landing page, the dashboard, facets, canned queries
and CSV for Excel, on a real `nianbao serve` over a small catalog built with store_report.

Expected figures are computed here from the fixture's own definition (OFFICES), never copied
from a run. The server is tests/serving.py's.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest

from archive.report_store import compared_values, diff_flat, store_report
from archive.schema import ensure_schema
from parsers.model import new_report
from tests.serving import serving
from tests.test_serve import DB_META, METADATA, get, get_json

DASHBOARD = METADATA["plugins"]["datasette-dashboards"]["overview"]

# (portal, province, city, county, agency) -> {year: figures}; None = the report leaves it blank
HLJ = ("demo-county", "黑龙江省", "双鸭山市", "友谊县")
NX = ("demo-township", "宁夏回族自治区", "银川市", "金凤区")
OFFICES = {
    (*HLJ, "友谊县新镇乡人民政府"): {
        2021: dict(new=9, granted=5, partly=1, denied={"denied_state_secret": 1,
                   "denied_third_party": 2}, unable=0, review=1, lawsuits=None, ok=True),
        # no 2022 report: the year the archive misses
        2023: dict(new=15, granted=8, partly=2, denied={"denied_process_info": 4}, unable=1,
                   review=2, lawsuits=1, ok=True),
    },
    (*HLJ, "友谊县人民政府"): {
        2022: dict(new=30, granted=20, partly=3, denied={"denied_third_party": 5}, unable=2,
                   review=0, lawsuits=2, ok=True),
        2023: dict(new=40, granted=25, partly=4, denied={"denied_third_party": 6,
                   "denied_state_secret": 3}, unable=2, review=3, lawsuits=0, ok=False),
    },
    (*NX, "金凤区良田镇人民政府"): {
        2023: dict(new=12, granted=10, partly=None, denied={"denied_internal_affairs": 1},
                   unable=1, review=None, lawsuits=None, ok=True),
    },
}
STALE_GRANTED = 3  # an older copy of 金凤区良田镇's 2023 report: never counted


def _report(place, year, f, version="t-1", granted=None) -> dict:
    portal, province, city, county, agency = place
    r = new_report(version)
    r.update(title=f"{agency}{year}年政府信息公开工作年度报告", agency=agency, year=year,
             template="2021", published_at=f"{year + 1}-01-15")
    r["region"].update(province=province, city=city, county=county)
    cells = {"new_received": f["new"], "granted": f["granted"] if granted is None else granted,
             "partially_granted": f["partly"], **f["denied"], "unable_not_held": f["unable"]}
    cells["results_total"] = sum(v or 0 for v in cells.values()) - f["new"]
    r["applications"] = {row: {"total": v} for row, v in cells.items()}
    r["review_litigation"] = {"review": {"total": f["review"]},
                              "litigation_direct": {"total": f["lawsuits"]}}
    r["checks"] = [{"rule": "applications.results_sum.total", "ok": f["ok"],
                    "detail": "" if f["ok"] else "（七）总计 1 ≠ 2"}]
    r["sections"]["overview"] = f"{agency}坚持以公开为常态。"
    return r


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("dashboard") / "data"
    data.mkdir()
    conn = sqlite3.connect(str(data / "archive.db"))
    ensure_schema(conn)
    conn.execute("INSERT INTO crawl_runs (id, started_at, finished_at, status, portals, errors) "
                 "VALUES ('run-1', '2026-11-20T00:00:00Z', '2026-11-20T01:00:00Z', 'finished', "
                 "'[\"demo-county\"]', 2)")
    conn.executemany("INSERT INTO crawl_errors (run_id, portal, url, error, at) VALUES ('run-1', "
                     "'demo-county', ?, ?, '2026-11-20T00:30:00Z')",
                     [("http://a.example/1", "HTTP 503 after 3 attempts"),
                      ("http://a.example/2", "HTTP 503 after 3 attempts")])
    stored = []  # (capture_id, document_id, report)
    capture = 0
    for place, years in OFFICES.items():
        for year, f in years.items():
            capture += 1
            stored.append((capture, capture, _report(place, year, f)))
    newest = stored[-1]
    places = [place for place, years in OFFICES.items() for _ in years]
    for (cid, doc, _), place in zip(stored, places):
        conn.execute(
            "INSERT INTO captures (id, run_id, portal, url, status, headers, fetched_at, "
            "payload_sha256, payload_size, record_type) VALUES (?, 'run-1', ?, ?, 200, '[]', "
            "'2026-11-20T00:10:00Z', 'x', 1, 'response')", (cid, place[0], f"http://r.example/{cid}"))
        conn.execute("INSERT INTO documents (id, portal, url, kind, latest_capture_id) "
                     "VALUES (?, ?, ?, 'page', ?)", (doc, place[0], f"http://r.example/{cid}", cid))
    # an older capture of the last document, fetched a day earlier, stored after the newer one
    old_capture = capture + 1
    conn.execute("INSERT INTO captures (id, run_id, portal, url, status, headers, fetched_at, "
                 "payload_sha256, payload_size, record_type) VALUES (?, 'run-1', ?, ?, 200, '[]', "
                 "'2026-11-19T00:10:00Z', 'y', 1, 'response')",
                 (old_capture, places[-1][0], f"http://r.example/{newest[0]}"))
    conn.commit()
    for cid, doc, report in stored:
        store_report(conn, cid, doc, report)
    place, (year, f) = places[-1], next(iter(OFFICES[places[-1]].items()))
    store_report(conn, old_capture, newest[1], _report(place, year, f, granted=STALE_GRANTED))
    # a re-parse of the first report with a new parser version changes one figure
    first_place, (first_year, first_f) = places[0], next(iter(OFFICES[places[0]].items()))
    store_report(conn, 1, 1, _report(first_place, first_year, first_f, version="t-2",
                                     granted=first_f["granted"] + 1))
    conn.close()
    return data


@pytest.fixture(scope="module")
def server(archive_dir, tmp_path_factory):
    with serving(archive_dir, tmp_path_factory.mktemp("dashboard-log")) as (base, _):
        yield base


def _reports():
    """(place, year, figures) of every report the dashboard counts, with the re-parse applied."""
    out = []
    for i, (place, years) in enumerate(OFFICES.items()):
        for j, (year, f) in enumerate(years.items()):
            if i == 0 and j == 0:
                f = {**f, "granted": f["granted"] + 1}
            out.append((place, year, f))
    return out


def _sql_rows(server, sql: str, **params):
    data = get_json(server, "/archive.json", sql=sql, _shape="objects", **params)
    return data["rows"]


def _chart_sql(name: str, **filters) -> str:
    """The chart's query as the plugin runs it: [[ ... ]] kept only for the filters given."""
    sql = DASHBOARD["charts"][name]["query"]

    def keep(m):
        var = re.search(r":(\w+)", m.group(0)).group(1)
        return m.group(0)[2:-2] if filters.get(var) else ""
    return re.sub(r"\[\[.*?\]\]", keep, sql)


def _chart(server, name: str, **filters):
    return _sql_rows(server, _chart_sql(name, **filters), **filters)


# ----- metadata: every chart and query reads real columns (no server needed) -----

def test_dashboard_names_every_chart_in_its_layout():
    laid_out = {c for row in DASHBOARD["layout"] for c in row}
    assert laid_out == set(DASHBOARD["charts"])
    assert set(DASHBOARD["filters"]) == {"province", "city", "county", "year"}


def test_report_overview_facets_cover_the_journalists_questions():
    facets = DB_META["tables"]["report_overview"]["facets"]
    assert {"province", "city", "county", "year", "template", "adds_up"} <= set(facets)


# ----- the pages -----

def test_landing_page_leads_to_the_dashboard(server):
    status, _, body = get(server, "/")
    page = body.decode("utf-8")
    assert status == 200
    assert re.search(r'http-equiv="refresh" content="0; url=/-/dashboards/overview"', page)
    assert 'href="/-/dashboards/overview"' in page


def test_dashboard_page_names_its_charts_and_filters(server):
    status, _, body = get(server, "/-/dashboards/overview")
    page = body.decode("utf-8")
    assert status == 200
    for name, chart in DASHBOARD["charts"].items():
        assert f'id="chart-{name}"' in page
        if chart.get("title"):
            assert chart["title"] in page
    # the filters offer the provinces and years in the archive
    assert '<option value="黑龙江省"' in page and '<option value="宁夏回族自治区"' in page
    assert '<option value="2022"' in page
    # the charts' scripts come from this server, never from outside
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and all(s.startswith("/") for s in scripts), scripts
    for src in scripts:
        assert get(server, src)[0] == 200, src


def test_dashboard_filter_narrows_the_charts(server):
    status, _, body = get(server, "/-/dashboards/overview", province="宁夏回族自治区")
    assert status == 200
    # the page hands the filter to every chart's query
    assert "province=%E5%AE%81%E5%A4%8F" in body.decode("utf-8") or \
        "province=宁夏回族自治区" in body.decode("utf-8")


def test_every_chart_query_runs(server):
    for name, chart in DASHBOARD["charts"].items():
        if chart.get("query"):
            for filters in ({}, {"province": "黑龙江省", "year": "2023"},
                            {"province": "黑龙江省", "city": "双鸭山市", "county": "友谊县"}):
                rows = _chart(server, name, **filters)
                assert rows, (name, filters)


def test_requests_by_year_adds_up_the_fixture(server):
    expected = defaultdict(int)
    for _, year, f in _reports():
        expected[year] += f["new"]
    rows = _chart(server, "requests_by_year")
    assert {r["year"]: r["new_received"] for r in rows} == expected
    assert rows[0]["href"].startswith("/archive/report_overview?is_latest=1&year=")
    # the link leads to the rows behind the bar
    year = rows[-1]["year"]
    behind = get_json(server, rows[-1]["href"].replace("report_overview?", "report_overview.json?")
                      + "&_shape=array")
    assert sum(r["new_received"] for r in behind) == expected[year]


@pytest.mark.parametrize("filters", [{"province": "黑龙江省"}, {"province": "宁夏回族自治区"},
                                     {"year": "2023"}, {"county": "友谊县", "year": "2021"}])
def test_filters_change_the_numbers(server, filters):
    def chosen(place, year):
        _, province, city, county, _ = place
        values = {"province": province, "city": city, "county": county, "year": str(year)}
        return all(values[k] == v for k, v in filters.items())

    mine = [(p, y, f) for p, y, f in _reports() if chosen(p, y)]
    rows = _chart(server, "requests_by_year", **filters)
    assert sum(r["new_received"] for r in rows) == sum(f["new"] for _, _, f in mine)
    assert _chart(server, "reports", **filters)[0]["reports"] == len(mine)
    outcomes = {r["outcome"].split(" ")[0]: r["requests"]
                for r in _chart(server, "outcomes", **filters)}
    assert outcomes["（一）予以公开"] == sum(f["granted"] for _, _, f in mine)
    refused = sum(v for k, v in _chart_rows_by_col(server, "outcomes", **filters).items()
                  if k.startswith("denied_"))
    assert refused == sum(sum(f["denied"].values()) for _, _, f in mine)
    reviews = {(r["year"], r["kind"].split(" ")[0]): r["n"]
               for r in _chart(server, "reviews_lawsuits_by_year", **filters)}
    for year in {y for _, y, _ in mine}:
        assert reviews[(year, "行政复议")] == sum(f["review"] or 0 for _, y, f in mine if y == year)
        assert reviews[(year, "行政诉讼")] == sum(f["lawsuits"] or 0 for _, y, f in mine if y == year)


def _chart_rows_by_col(server, name, **filters):
    """The outcomes chart keyed by the column its bar links to."""
    return {re.search(r"_sort_desc=(\w+)", r["href"]).group(1): r["requests"]
            for r in _chart(server, name, **filters)}


def test_outcome_bars_link_to_the_reports_behind_them(server):
    rows = _chart(server, "outcomes")
    third_party = next(r for r in rows if "denied_third_party" in r["href"])
    behind = get_json(server, third_party["href"].replace("report_totals?", "report_totals.json?")
                      + "&_shape=array")
    assert sum(r["denied_third_party"] for r in behind) == third_party["requests"] > 0
    assert round(sum(r["percent"] for r in rows)) == 100


def test_top_refusers_lists_offices_with_links(server):
    rows = _chart(server, "top_refusers")
    refused = defaultdict(int)
    for place, _, f in _reports():
        refused[place[4]] += sum(f["denied"].values())
    best = max(refused, key=refused.get)
    assert best in rows[0]["机关 office"] and rows[0]["不予公开 refused"] == refused[best]
    assert re.match(r'<a href="/archive/report_overview\?is_latest=1&amp;_sort=year&amp;agency=',
                    rows[0]["机关 office"])
    assert [r["不予公开 refused"] for r in rows] == sorted(refused.values(), reverse=True)


def test_offices_and_failing_metrics(server):
    assert _chart(server, "offices")[0]["offices"] == len(OFFICES)
    failing = sum(1 for _, _, f in _reports() if not f["ok"])
    assert _chart(server, "not_adding_up")[0]["failing"] == failing


def test_overview_facets_and_adds_up(server):
    data = get_json(server, "/archive/report_overview.json", is_latest="1")
    facets = data["facet_results"]
    for name in ("province", "city", "county", "year", "template", "adds_up"):
        assert name in facets, name
    years = {r["value"]: r["count"] for r in facets["year"]["results"]}
    expected = defaultdict(int)
    for _, year, _ in _reports():
        expected[year] += 1
    assert years == expected
    adds_up = {r["value"]: r["count"] for r in facets["adds_up"]["results"]}
    assert adds_up == {1: sum(f["ok"] for *_, f in _reports()),
                       0: sum(not f["ok"] for *_, f in _reports())}


def test_table_page_keeps_column_notes_folded(server):
    page = get(server, "/archive/report_overview")[2].decode("utf-8")
    details = page.index('<details class="column-descriptions-toggle">')
    assert page.index("<summary>", details) < page.index('<dl class="column-descriptions">')
    assert details < page.index("</details>", details) < page.index('class="rows-and-columns"')
    note = DB_META["tables"]["report_overview"]["columns"]["denied"]
    assert f'title="{note}"' in page  # and as the column header's tooltip
    assert re.search(r'href="/archive/report_overview\.csv\?[^"]*_bom=1"', page)


# ----- canned queries: each gives what the fixture implies -----

def _query(server, name, **params):
    sql = DB_META["queries"][name]["sql"]
    args = {p: params.get(p, "") for p in re.findall(r":(\w+)", sql)}
    data = get_json(server, f"/archive/{name}.json", _shape="objects", **args)
    assert data["ok"] is True, data.get("error")
    return data["rows"]


def test_offices_missing_a_year(server):
    rows = _query(server, "offices_missing_years")
    expected = []
    for place, years in OFFICES.items():
        span = range(min(years), max(years) + 1)
        expected += [(place[4], y) for y in span if y not in years]
    assert expected  # the fixture has a gap
    assert [(r["agency"], r["missing_year"]) for r in rows] == expected
    assert _query(server, "offices_missing_years", province="宁夏回族自治区") == []


def test_year_over_year(server):
    rows = _query(server, "year_over_year")
    expected = {}
    for place, years in OFFICES.items():
        for y, f in years.items():
            if y - 1 in years:
                expected[(place[4], y)] = f["new"] - years[y - 1]["new"]
    assert {(r["agency"], r["year"]): r["change"] for r in rows} == expected
    assert _query(server, "year_over_year", agency="新镇乡") == []  # 2021 and 2023: no pair


def test_refusals_by_reason(server):
    rows = _query(server, "refusals_by_reason")
    expected = defaultdict(int)
    for _, year, f in _reports():
        for reason, n in f["denied"].items():
            expected[(year, reason)] += n
    got = {(r["year"], r["reason"]): r["refused"] for r in rows if r["refused"] is not None}
    assert got == expected
    top = rows[0]
    assert top["year"] == max(y for y, _ in expected)
    assert top["refused"] == max(v for (y, _), v in expected.items() if y == top["year"])


def test_numbers_do_not_add_up_and_crawl_errors(server):
    rows = _query(server, "numbers_do_not_add_up")
    failing = [(p[4], y) for p, y, f in _reports() if not f["ok"]]
    assert [(r["agency"], r["year"]) for r in rows] == failing
    assert "applications.results_sum.total" in rows[0]["failing"]
    runs = _query(server, "crawl_runs_and_errors")
    assert runs[0]["error_rows"] == 2 and "2 × HTTP 503 after 3 attempts" in runs[0]["top_errors"]


def test_last_reparse_changes(server):
    rows = _query(server, "last_reparse_changes")
    place, (year, f) = next(iter(OFFICES)), next(iter(next(iter(OFFICES.values())).items()))
    before = compared_values(_report(place, year, f))
    after = compared_values(_report(place, year, f, version="t-2", granted=f["granted"] + 1))
    expected = {(path, json.dumps(a), json.dumps(b)) for path, a, b in diff_flat(before, after)}
    assert ("applications.granted.total", str(f["granted"]), str(f["granted"] + 1)) in expected
    assert {(r["path"], r["old_value"], r["new_value"]) for r in rows} == expected


def test_stale_copy_is_never_counted(server):
    rows = get_json(server, "/archive/report_totals.json", _shape="array", granted=STALE_GRANTED)
    assert len(rows) == 1 and rows[0]["is_latest"] == 0 and rows[0]["is_current"] == 1
    latest = get_json(server, "/archive/report_overview.json", _shape="array", is_latest="1")
    assert len(latest) == len(_reports())


# ----- CSV for Excel -----

def test_csv_with_bom_for_excel(server):
    status, headers, body = get(server, "/archive/report_overview.csv", _bom="1", _dl="1",
                                _size="max")
    assert status == 200 and body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["agency"] for r in rows} == {place[4] for place in OFFICES}
    if "content-length" in headers:
        assert int(headers["content-length"]) == len(body)
    status, _, body = get(server, "/archive/offices_missing_years.csv", _bom="1", province="")
    assert status == 200 and body.startswith(b"\xef\xbb\xbf")
    assert "友谊县新镇乡人民政府" in body.decode("utf-8-sig")


def test_csv_without_bom_is_datasettes_own(server):
    _, _, body = get(server, "/archive/report_overview.csv")
    assert body.startswith(b"report_id,")
    _, _, page = get(server, "/archive/most_refusals", year="", province="")
    assert "_bom=1" in page.decode("utf-8")  # the query page's CSV link asks for it


# ----- report_totals on a catalog of an older release -----

def test_m004_backfills_report_totals(archive_dir, tmp_path):
    import shutil

    db = tmp_path / "archive.db"
    shutil.copy(archive_dir / "archive.db", db)
    conn = sqlite3.connect(str(db))
    stored = conn.execute("SELECT * FROM report_totals ORDER BY report_id").fetchall()
    assert len(stored) == conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    # as an older nianbao left it: no totals, migration m004 not applied
    conn.execute("DELETE FROM report_totals")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_report_totals'")
    conn.commit()
    ensure_schema(conn)
    assert conn.execute("SELECT * FROM report_totals ORDER BY report_id").fetchall() == stored
    conn.close()
