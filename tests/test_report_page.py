"""The report page `/-/report/<id>` on a real `nianbao serve`, and the links to it.

The catalog is built with the archive's own functions (ensure_schema, store_report) and a WARC
file written with warcio (tests/test_serve.py's helpers); the page is read back as HTML and
its cells compared with what was stored: a blank stays blank, a 0 stays 0.
"""
from __future__ import annotations

import hashlib
import sqlite3

import lxml.html
import pytest

from archive.report_store import store_report
from archive.schema import ensure_schema
from tests.serving import serving
from tests.test_serve import (AGENCY, HTML_BODY, HTML_URL, OTHER_AGENCY, PDF_BODY,
                              PDF_URL, _report, _write_warc, get)

URL_2022 = "http://portal.example.gov.cn/xxgk/ndbg/2022/t20230110_1.html"


def add_capture(conn, cid: int, url: str, body: bytes, ctype: str, place, status: int = 200,
                fetched_at: str = "2026-11-20T00:10:00Z") -> None:
    offset, length, rec_id = place or (None, None, None)
    conn.execute(
        "INSERT INTO captures (id, run_id, portal, url, final_url, status, headers, fetched_at, "
        "payload_sha256, payload_size, content_type, record_type, warc_file, warc_offset, "
        "warc_length, warc_record_id) VALUES (?, 'run-1', 'demo-county', ?, ?, ?, '[]', ?, ?, ?, "
        "?, 'response', ?, ?, ?, ?)",
        (cid, url, url, status, fetched_at, hashlib.sha256(body).hexdigest(), len(body), ctype,
         "nianbao-test-00000.warc.gz" if place else None, offset, length, rec_id))


def full_report(agency: str, year: int, url: str) -> dict:
    r = _report(agency, year, "test-2", granted=6, checks_ok=False)
    r["region"]["adcode"] = "230522"
    r["active_disclosure"] = [
        {"item": "20.1", "category": "regulations", "measure": "issued", "value": 0,
         "unit": None, "raw": "0"},
        {"item": "20.1", "category": "regulations", "measure": "repealed", "value": None,
         "unit": None, "raw": ""},
        {"item": "20.1", "category": "regulations", "measure": "in_force", "value": 5,
         "unit": None, "raw": "5"},
        {"item": "20.8", "category": "fees", "measure": "fee_amount", "value": 552.91,
         "unit": "万元", "raw": "552.91"},
    ]
    r["sections"]["problems"] = "预算公开不够细化，下一步改进。"
    r["source"]["url"] = url
    return r


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> dict:
    data = tmp_path_factory.mktemp("report-page") / "data"
    (data / "warc").mkdir(parents=True)
    places = _write_warc(data / "warc" / "nianbao-test-00000.warc.gz")
    conn = sqlite3.connect(str(data / "archive.db"))
    ensure_schema(conn)
    conn.execute("INSERT INTO crawl_runs (id, started_at, status, portals) "
                 "VALUES ('run-1', '2026-11-20T00:00:00Z', 'finished', '[\"demo-county\"]')")
    add_capture(conn, 1, HTML_URL, HTML_BODY, "text/html; charset=utf-8", places[HTML_URL])
    add_capture(conn, 2, PDF_URL, PDF_BODY, "application/pdf", places[PDF_URL])
    add_capture(conn, 3, URL_2022, b"<html>2022</html>", "text/html", None)
    add_capture(conn, 4, HTML_URL, b"not found", "text/html", None, status=404,
                fetched_at="2026-12-01T00:00:00Z")
    for did, url, cid in ((1, HTML_URL, 1), (2, PDF_URL, 2), (3, URL_2022, 3)):
        conn.execute("INSERT INTO documents (id, portal, url, title, kind, latest_capture_id) "
                     "VALUES (?, 'demo-county', ?, '年报', 'page', ?)", (did, url, cid))
    conn.execute("INSERT INTO document_events (document_id, event, old_capture_id, "
                 "new_capture_id, run_id, detail, detected_at) VALUES (1, 'gone', 1, 4, "
                 "'run-1', 'HTTP 404', '2026-12-01T01:00:00Z')")
    conn.commit()
    old_parse, _ = store_report(conn, 1, 1, _report(AGENCY, 2023, "test-1", 5, False))
    main, _ = store_report(conn, 1, 1, full_report(AGENCY, 2023, HTML_URL))
    other_office, _ = store_report(conn, 2, 2, _report(OTHER_AGENCY, 2022, "test-2", 6, True))
    year_2022, _ = store_report(conn, 3, 3, _report(AGENCY, 2022, "test-2", 6, True))
    conn.close()
    return {"data": data, "main": main, "old_parse": old_parse, "other_office": other_office,
            "year_2022": year_2022, "place": places[HTML_URL]}


@pytest.fixture(scope="module")
def server(catalog, tmp_path_factory):
    with serving(catalog["data"], tmp_path_factory.mktemp("report-log")) as (base, _):
        yield base


@pytest.fixture(scope="module")
def page(server, catalog):
    status, headers, body = get(server, f"/-/report/{catalog['main']}")
    assert status == 200, body[:1000]
    assert headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(body.decode("utf-8"))


def texts(page, table_class: str, row: str | None = None) -> list[str]:
    """The figure cells (td) of a form table, or of one of its rows (data-row)."""
    table = page.cssselect(f"table.{table_class}")[0]
    rows = table.cssselect(f'tr[data-row="{row}"]') if row else table.cssselect("tbody tr")
    assert rows, (table_class, row)
    return [td.text_content() for tr in rows for td in tr.cssselect("td")]


def test_header_facts(page):
    text = page.text_content()
    assert f"{AGENCY}2023年政府信息公开工作年度报告" in page.cssselect("h1")[0].text_content()
    for fact in (AGENCY, "黑龙江省", "双鸭山市", "友谊县", "新镇乡", "230522", "2023",
                 "国办公开办函〔2021〕30号", "2024-01-15"):
        assert fact in text, fact
    assert "base.html" not in text and page.cssselect("header nav")  # Datasette's layout


def test_applications_cells_as_the_form(page):
    assert texts(page, "nb-applications", "new_received") == ["9", "", "", "", "", "", "9"]
    assert texts(page, "nb-applications", "granted") == ["", "", "", "", "", "", "6"]
    assert texts(page, "nb-applications", "denied_process_info") == [""] * 7  # blank, not 0
    assert texts(page, "nb-applications", "carried_over") == [""] * 7  # not printed: blank
    table = page.cssselect("table.nb-applications")[0]
    # every line of the 2021 form: （六） in its three lines, not the 2019 form's single one
    assert len(table.cssselect("tbody tr")) == 25
    assert table.cssselect('tr[data-row="other_no_fee"]')
    assert not table.cssselect('tr[data-row="other_processing"]')
    labels = table.text_content()
    for label in ("自然人", "商业企业", "法律服务机构", "总计", "三、本年度办理结果",
                  "（三）不予公开", "1.属于国家秘密", "（七）总计", "四、结转下年度继续办理"):
        assert label in labels, label
    blank = table.cssselect('tr[data-row="denied_process_info"] td.blank')
    assert len(blank) == 7


def test_active_disclosure_and_review_cells(page):
    table = page.cssselect("table.nb-active")[0]
    row = next(tr for tr in table.cssselect("tbody tr") if tr[0].text_content() == "规章")
    assert [td.text_content() for td in row.cssselect("td")] == ["0", "", "5"]
    assert "第二十条第（八）项" in table.text_content() and "552.91 万元" in table.text_content()
    review = texts(page, "nb-review")
    assert review[:5] == ["1", "0", "0", "0", "1"] and review[5:] == [""] * 10
    assert "未经复议直接起诉" in page.cssselect("table.nb-review")[0].text_content()


def test_failing_checks_and_sections(page):
    failed = page.cssselect("ul.nb-failed-checks")[0].text_content()
    assert "applications.results_sum.total" in failed and "（七）总计 9 ≠ 12" in failed
    text = page.text_content()
    assert "一、总体情况" in text and "本机关坚持以公开为常态，不公开为例外。" in text
    assert "五、存在的主要问题及改进情况" in text and "预算公开不够细化" in text


def test_other_years_of_the_same_office(page, catalog):
    links = [a.get("href") for a in page.cssselect("ul.nb-other-years a")]
    assert links == [f"/-/report/{catalog['year_2022']}"]  # not the other office's 2022
    versions = [a.get("href") for a in page.cssselect("ul.nb-versions a")]
    assert f"/-/report/{catalog['old_parse']}" in versions


def test_provenance(page, catalog):
    prov = page.cssselect("dl.nb-provenance")[0].text_content()
    offset, length, record_id = catalog["place"]
    assert hashlib.sha256(HTML_BODY).hexdigest() in prov
    assert "nianbao-test-00000.warc.gz" in prov and f"offset {offset}" in prov
    assert f"length {length}" in prov and record_id in prov
    assert "2026-11-20T00:10:00Z" in prov and HTML_URL in prov
    hrefs = [a.get("href") for a in page.cssselect("dl.nb-provenance a")]
    assert "/-/original/1" in hrefs
    event = page.cssselect("table.nb-events tr.nb-event-gone")[0].text_content()
    assert "HTTP 404" in event and "2026-12-01T01:00:00Z" in event
    assert [a.get("href") for a in page.cssselect("table.nb-events a")] == \
        ["/-/original/1", "/-/original/4"]


def test_the_original_link_works(server):
    status, headers, body = get(server, "/-/original/1")
    assert status == 200 and body == HTML_BODY


def test_unknown_report_is_a_404_page(server):
    status, headers, body = get(server, "/-/report/999999")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "999999" in body.decode("utf-8")
    assert get(server, "/-/report/abc")[0] == 404


@pytest.mark.parametrize("path", [
    "/archive/report_overview", "/archive/current_reports", "/archive/applications",
    "/archive/checks", "/archive/sections", "/archive/failed_checks", "/archive/reports",
    "/archive/parse_changes",
])
def test_report_cells_link_to_the_report_page(server, catalog, path):
    status, _, body = get(server, path)
    assert status == 200
    hrefs = {a.get("href") for a in lxml.html.fromstring(body.decode("utf-8")).cssselect("a")}
    assert f"/-/report/{catalog['main']}" in hrefs, path


def test_reports_row_page_links_its_id(server, catalog):
    body = get(server, f"/archive/reports/{catalog['main']}")[2].decode("utf-8")
    assert f'href="/-/report/{catalog["main"]}"' in body
