"""`nianbao serve`: a real Datasette process on a real catalog and WARC file.

The catalog is built with the archive's own functions (ensure_schema, store_report); the WARC
file is written with warcio; the server is the installed console script, bound to port 0.
"""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from archive.report_store import store_report
from archive.schema import TABLES, ensure_schema
from archive.views import APPLICATION_ROWS, VIEWS
from tests.serving import serving, write_responses
from parsers.model import new_report

REPO = Path(__file__).resolve().parents[1]
NIANBAO = Path(sys.executable).parent / "nianbao"
METADATA = yaml.safe_load((REPO / "archive" / "web" / "metadata.yml").read_text(encoding="utf-8"))
DB_META = METADATA["databases"]["archive"]

AGENCY = "友谊县新镇乡人民政府"
OTHER_AGENCY = "金凤区良田镇人民政府"
HTML_URL = "http://portal.example.gov.cn/xxgk/ndbg/2023/t20240115_1.html"
PDF_URL = "http://portal.example.gov.cn/xxgk/ndbg/2023/P020240115%E5%B9%B4%E6%8A%A5.pdf"
HTML_BODY = ("<html><head><meta charset='utf-8'><title>年报</title></head><body>"
             "<p id='t'>友谊县新镇乡2023年政府信息公开工作年度报告</p>"
             "<script>document.body.setAttribute('data-ran', 'yes')</script>"
             "</body></html>").encode("utf-8")
PDF_BODY = b"%PDF-1.4\n% fake but archived byte for byte\n%%EOF\n"


# ----- metadata: no server needed -----

def _schema_tables() -> list[str]:
    return re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", TABLES)


@pytest.mark.parametrize("name", _schema_tables() + list(VIEWS))
def test_every_table_and_view_has_title_and_description(name):
    meta = DB_META["tables"].get(name)
    assert meta, f"metadata.yml has no entry for {name}"
    assert meta.get("title") and meta.get("description")


def test_application_rows_documented_with_chinese_labels():
    described = DB_META["tables"]["applications"]["columns"]["row"]
    for key, _label in APPLICATION_ROWS:
        assert re.search(rf"\b{key} = \S", described), key
    assert "予以公开" in described and "不予公开" in described


def test_metadata_mentions_only_real_columns(tmp_path):
    conn = sqlite3.connect(str(tmp_path / "archive.db"))
    ensure_schema(conn)
    from archive.search_index import ensure_fts
    from archive.views import create_views
    create_views(conn)
    ensure_fts(conn)
    for name, meta in DB_META["tables"].items():
        cols = {r[1] for r in conn.execute(f"PRAGMA table_info({name})")}
        assert cols, f"{name} in metadata.yml is not a table or view"
        named = set(meta.get("columns", {})) | set(meta.get("facets", [])) \
            | set(meta.get("sortable_columns", []))
        if meta.get("label_column"):
            named.add(meta["label_column"])
        assert named <= cols, (name, named - cols)


# ----- a real catalog and WARC file -----

def _write_warc(path: Path) -> dict[str, tuple[int, int, str]]:
    """Write two responses; return url -> (offset, length, record id)."""
    return write_responses(path, {url: (url, body, ctype, []) for url, body, ctype in (
        (HTML_URL, HTML_BODY, "text/html; charset=utf-8"), (PDF_URL, PDF_BODY, "application/pdf"))})


def _report(agency: str, year: int, version: str, granted: float, checks_ok: bool) -> dict:
    r = new_report(version)
    r.update(title=f"{agency}{year}年政府信息公开工作年度报告", agency=agency, year=year,
             template="2021", published_at=f"{year + 1}-01-15")
    r["region"].update(province="黑龙江省", city="双鸭山市", county="友谊县", township="新镇乡")
    r["sections"]["overview"] = "本机关坚持以公开为常态，不公开为例外。"
    r["sections"]["applications"] = "本年度收到行政复议申请，依申请公开办理及时。"
    cols = {"natural_person": None, "commercial": None, "research": None, "social_welfare": None,
            "legal_services": None, "other_org": None}
    r["applications"] = {
        "new_received": {**cols, "natural_person": 9, "total": 9},
        "granted": {**cols, "total": granted},
        "denied_state_secret": {**cols, "total": 1},
        "denied_third_party": {**cols, "total": 2},
        "denied_process_info": {**cols, "total": None},
        "results_total": {**cols, "total": 9},
    }
    r["review_litigation"] = {"review": {"maintained": 1, "corrected": 0, "other": 0,
                                         "pending": 0, "total": 1}}
    r["checks"] = [{"rule": "applications.results_sum.total", "ok": checks_ok,
                    "detail": "" if checks_ok else "（七）总计 9 ≠ 12"}]
    r["source"].update(url=HTML_URL, format="html")
    return r


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("serve") / "data"
    (data / "warc").mkdir(parents=True)
    records = _write_warc(data / "warc" / "nianbao-test-00000.warc.gz")
    conn = sqlite3.connect(str(data / "archive.db"))
    ensure_schema(conn)
    conn.execute("INSERT INTO crawl_runs (id, started_at, finished_at, status, portals, errors) "
                 "VALUES ('run-1', '2026-11-20T00:00:00Z', '2026-11-20T01:00:00Z', 'finished', "
                 "'[\"demo-county\"]', 1)")
    conn.execute("INSERT INTO crawl_errors (run_id, portal, url, error, at) VALUES ('run-1', "
                 "'demo-county', 'http://portal.example.gov.cn/flaky', 'HTTP 503 after 3 attempts', "
                 "'2026-11-20T00:30:00Z')")
    ids = {}
    for cid, (url, body, ctype) in enumerate(((HTML_URL, HTML_BODY, "text/html; charset=utf-8"),
                                               (PDF_URL, PDF_BODY, "application/pdf")), 1):
        offset, length, rec_id = records[url]
        conn.execute(
            "INSERT INTO captures (id, run_id, portal, url, final_url, status, headers, fetched_at, "
            "payload_sha256, payload_size, content_type, record_type, warc_file, warc_offset, "
            "warc_length, warc_record_id) VALUES (?, 'run-1', 'demo-county', ?, ?, 200, '[]', "
            "'2026-11-20T00:10:00Z', 'x', ?, ?, 'response', 'nianbao-test-00000.warc.gz', ?, ?, ?)",
            (cid, url, url, len(body), ctype, offset, length, rec_id))
        conn.execute("INSERT INTO documents (id, portal, url, title, kind, latest_capture_id) "
                     "VALUES (?, 'demo-county', ?, '2023年年报', 'page', ?)", (cid, url, cid))
        ids[url] = cid
    conn.commit()
    # Capture 1: parsed twice (the second parse changes one figure); capture 2: another office.
    store_report(conn, 1, 1, _report(AGENCY, 2023, "test-1", granted=5, checks_ok=False))
    store_report(conn, 1, 1, _report(AGENCY, 2023, "test-2", granted=6, checks_ok=False))
    other = _report(OTHER_AGENCY, 2023, "test-2", granted=6, checks_ok=True)
    other["sections"] = {"overview": "无相关内容。"}
    store_report(conn, 2, 2, other)
    conn.close()
    return data


@pytest.fixture(scope="module")
def server(archive_dir, tmp_path_factory):
    with serving(archive_dir, tmp_path_factory.mktemp("serve-log")) as (base, _):
        yield base


def get(base: str, path: str, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(base: str, path: str, **params):
    status, _, body = get(base, path, **params)
    assert status == 200, body[:500]
    return json.loads(body)


def test_serve_without_catalog_fails_clearly(tmp_path):
    result = subprocess.run([str(NIANBAO), "serve", "--data", str(tmp_path), "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "archive.db" in result.stderr


def test_reports_rows(server):
    rows = get_json(server, "/archive/reports.json", _shape="array")
    assert sorted((r["agency"], r["parser_version"]) for r in rows) == sorted([
        (OTHER_AGENCY, "test-2"), (AGENCY, "test-1"), (AGENCY, "test-2")])
    assert {r["year"] for r in rows} == {2023}


def test_overview_has_current_reports_and_totals(server):
    rows = get_json(server, "/archive/report_overview.json", _shape="array")
    assert len(rows) == 2  # one per capture: the test-1 parse is superseded
    mine = next(r for r in rows if r["agency"] == AGENCY)
    assert mine["parser_version"] == "test-2" and mine["is_latest"] == 1
    assert (mine["new_received"], mine["granted"], mine["denied"], mine["results_total"]) \
        == (9, 6, 3, 9)
    assert mine["review_total"] == 1 and mine["litigation_total"] is None  # blank, not 0
    assert mine["checks_failed"] == 1


def test_metadata_titles_show_up(server):
    meta = get_json(server, "/-/metadata.json")
    assert meta["title"] == METADATA["title"]
    tables = meta["databases"]["archive"]["tables"]
    assert tables["reports"]["title"] == "报告 Parsed reports"
    _, _, page = get(server, "/archive/report_overview")
    assert "报告总览 Report overview" in page.decode("utf-8")


ACROSS_YEARS = {"offices_missing_years", "year_over_year"}
SAMPLE_PARAMS = {"q": "公开", "year": "2023", "province": "", "agency": "新镇乡",
                 "parser_version": "", "run_id": ""}


@pytest.mark.parametrize("name", sorted(DB_META["queries"]))
def test_canned_query_runs(server, name):
    params = {p: SAMPLE_PARAMS[p] for p in re.findall(r":(\w+)", DB_META["queries"][name]["sql"])}
    data = get_json(server, f"/archive/{name}.json", _shape="objects", **params)
    assert data["ok"] is True, data.get("error")
    if name in ACROSS_YEARS:  # this catalog has one year; test_serve_dashboard.py has several
        return
    assert data["rows"], f"{name} returned nothing on the test catalog"


def test_canned_queries_answer(server):
    refusals = get_json(server, "/archive/most_refusals.json", _shape="objects", year="2023",
                        province="")["rows"]
    assert refusals[0]["denied"] == 3 and refusals[0]["denied_percent"] == 33.3
    failing = get_json(server, "/archive/numbers_do_not_add_up.json", _shape="objects",
                       year="")["rows"]
    assert [r["agency"] for r in failing] == [AGENCY]
    assert "applications.results_sum.total" in failing[0]["failing"]
    changes = get_json(server, "/archive/last_reparse_changes.json", _shape="objects",
                       parser_version="")["rows"]
    assert [(c["path"], c["old_value"], c["new_value"]) for c in changes] == [
        ("applications.granted.total", "5", "6")]
    runs = get_json(server, "/archive/crawl_runs_and_errors.json", _shape="objects")["rows"]
    assert "HTTP 503 after 3 attempts" in runs[0]["top_errors"]


@pytest.mark.parametrize("word, expected", [
    ("公开", {AGENCY}),              # two characters
    ("复议", {AGENCY}),
    ("依申请公开", {AGENCY}),        # five characters
    ("相关内容", {OTHER_AGENCY}),
    ("公开例外", set()),             # not in the text as a phrase
])
def test_chinese_search(server, word, expected):
    rows = get_json(server, "/archive/search_text.json", _shape="objects", q=word, year="")["rows"]
    assert {r["agency"] for r in rows} == expected
    if expected:
        assert f"【{word}】" in rows[0]["excerpt"]


def test_search_box_on_sections(server):
    for word in ("公开", "依申请公开"):
        data = get_json(server, "/archive/sections.json", _search=word, _shape="objects")
        assert data["rows"] and all(word in r["text"] for r in data["rows"])
    data = get_json(server, "/archive/sections.json", _search='"NEAR(公开', _shape="objects")
    assert data["rows"] == []


def test_original_html_is_sandboxed(server):
    status, headers, body = get(server, "/-/original/1")
    assert status == 200 and body == HTML_BODY
    assert headers["content-security-policy"] == "sandbox"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"].startswith("text/html")


def test_original_pdf_inline_with_filename(server):
    status, headers, body = get(server, "/-/original/2")
    assert status == 200 and body == PDF_BODY
    assert headers["content-type"] == "application/pdf"
    assert headers["content-security-policy"] == "sandbox"
    disposition = headers["content-disposition"]
    assert disposition.startswith("inline;") and "filename*=UTF-8''P020240115%E5%B9%B4%E6%8A%A5.pdf" \
        in disposition


def test_original_unknown_is_404(server):
    assert get(server, "/-/original/999")[0] == 404
    assert get(server, "/-/original/abc")[0] == 404


def test_cells_link_to_originals_and_outside(server):
    page = get(server, "/archive/report_overview")[2].decode("utf-8")
    assert 'href="/-/original/1"' in page
    page = get(server, "/archive/captures")[2].decode("utf-8")
    assert f'href="{HTML_URL}" rel="noopener' in page
    page = get(server, "/archive/documents")[2].decode("utf-8")
    assert 'href="/-/original/2"' in page


@pytest.mark.browser
def test_browser_renders_chinese_and_never_runs_archived_scripts(server):
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page()
            page.goto(server + "/archive/report_overview")
            text = page.inner_text("body")
            assert "报告总览" in text and AGENCY in text and "黑龙江省" in text
            page.goto(server + "/-/original/1")
            assert page.inner_text("#t") == "友谊县新镇乡2023年政府信息公开工作年度报告"
            assert page.get_attribute("body", "data-ran") is None  # the sandbox blocked it
            control = browser.new_page()  # the same page outside the sandbox: its script runs
            control.set_content(HTML_BODY.decode("utf-8"))
            assert control.get_attribute("body", "data-ran") == "yes"
        finally:
            browser.close()


def test_a_view_too_big_to_count_is_served_without_a_count(server):
    """report_values (every figure of every report) is named `uncounted` in metadata.yml:
    its pages skip Datasette's row count unless asked, and still filter."""
    assert "report_values" in METADATA["plugins"]["nianbao"]["uncounted"]
    page = get_json(server, "/archive/report_values.json", report_id="1")
    assert page["rows"] and page["filtered_table_rows_count"] is None
    counted = get_json(server, "/archive/report_values.json", report_id="1", _nocount="0")
    assert counted["filtered_table_rows_count"] == len(counted["rows"])
    other = get_json(server, "/archive/report_overview.json")
    assert other["filtered_table_rows_count"] == len(other["rows"])
