"""Archived originals in a real browser: a real `nianbao serve` (the installed console script,
port 0) on a catalog and WARC file written here, driven through Playwright with the system
Chromium.

- An archived page whose script reads `document.cookie`, sets a global, calls Datasette's JSON
  API and writes into the DOM: the script never runs (DOM unchanged, no global, no request from
  it reaches the server, by the page's request listener and by the server's access log) and its
  document cannot read the cookie set on Datasette's origin. The same bytes served on that
  origin without the sandbox (a Playwright route) do all four: the checks can fail.
- The same page declared `application/octet-stream` (sniffed as HTML) and an SVG with a script
  are sandboxed the same way.
- A PDF the portal sent as `application/octet-stream` with `Content-Disposition: attachment`,
  opened by clicking its 原件 link, comes back as `application/pdf`, inline, under its own
  name, and Chromium shows it (no download); the portal's own headers make Chromium download.

The plain HTTP tests at the end (no browser) check the type and name of other formats.
"""
from __future__ import annotations

import io
import json
import re
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archive.schema import ensure_schema
from archive.web.original import served_type
from crawler.settings import CHROMIUM_ARGS, chromium_path
from tests.serving import serving, write_responses

REPO = Path(__file__).resolve().parents[1]
NIANBAO = Path(sys.executable).parent / "nianbao"
PORTAL = "http://portal.example.gov.cn"
SECRET = "ds-secret-7f3a"
PROBE = "nianbao_probe"

# Every way a script could show it ran: a global, the DOM, the cookie, a call to Datasette.
HOSTILE_HTML = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>年报</title></head><body>"
                "<p id='t'>友谊县新镇乡2023年政府信息公开工作年度报告</p>"
                "<p id='out'>原样 untouched</p>"
                "<script>"
                "window.nianbaoPwned = 'yes';"
                "document.body.setAttribute('data-ran', 'yes');"
                "var c = ''; try { c = document.cookie; } catch (e) { c = 'error:' + e.name; }"
                "document.getElementById('out').textContent = 'cookie=' + c;"
                f"fetch('/archive.json?{PROBE}=' + encodeURIComponent(location.pathname) + "
                "'&c=' + encodeURIComponent(c)).catch(function () {});"
                "</script></body></html>").encode("utf-8")
HOSTILE_SVG = ("<svg xmlns='http://www.w3.org/2000/svg' width='200' height='50'>"
               "<text x='5' y='30'>年报</text><script>"
               "document.documentElement.setAttribute('data-ran', 'yes');"
               f"fetch('/archive.json?{PROBE}=' + encodeURIComponent(location.pathname));"
               "</script></svg>").encode("utf-8")
PDF_BODY = (REPO / "tests" / "examples" / "real_huaian_2024.pdf").read_bytes()
PDF_NAME = "淮安市2024年政府信息公开工作年度报告.pdf"
GBK_TEXT = "民权县2023年政府信息公开工作年度报告\n一、总体情况\n本年新收申请 3 件。\n".encode("gbk")


def _docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("政府信息公开工作年度报告")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# capture id -> (URL, body, Content-Type as the portal sent it, other response headers)
CAPTURES = {
    1: (f"{PORTAL}/xxgk/ndbg/2023/t20240115_1.html", HOSTILE_HTML, "text/html; charset=utf-8", []),
    2: (f"{PORTAL}/xxgk/view.jsp?id=2", HOSTILE_HTML, "application/octet-stream", []),
    3: (f"{PORTAL}/module/download/downfile.jsp?classid=0&filename=abc123.pdf", PDF_BODY,
        "application/octet-stream",
        [("Content-Disposition", f'attachment; filename="{PDF_NAME}"')]),
    4: (f"{PORTAL}/images/chart.svg", HOSTILE_SVG, "image/svg+xml", []),
    5: (f"{PORTAL}/xxgk/download?id=5", None, "application/octet-stream", []),
    # a GBK file name, as a portal sends it (raw bytes, read as Latin-1 by HTTP clients)
    6: (f"{PORTAL}/xxgk/getfile?id=6", GBK_TEXT, "application/octet-stream",
        [("Content-Disposition",
          'attachment; filename="' + "民权县年报.txt".encode("gbk").decode("latin-1") + '"')]),
}



@pytest.fixture(scope="module")
def captures() -> dict:
    return {cid: (url, body if body is not None else _docx(), ctype, extra)
            for cid, (url, body, ctype, extra) in CAPTURES.items()}


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory, captures) -> Path:
    data = tmp_path_factory.mktemp("serve-browser") / "data"
    (data / "warc").mkdir(parents=True)
    places = write_responses(data / "warc" / "nianbao-test-00000.warc.gz", captures)
    conn = sqlite3.connect(str(data / "archive.db"))
    ensure_schema(conn)
    conn.execute("INSERT INTO crawl_runs (id, started_at, finished_at, status, portals) VALUES "
                 "('run-1', '2026-11-20T00:00:00Z', '2026-11-20T01:00:00Z', 'finished', "
                 "'[\"demo\"]')")
    for cid, (url, body, ctype, extra) in captures.items():
        offset, length, rec_id = places[cid]
        headers = json.dumps([["Content-Type", ctype], *[list(h) for h in extra]],
                             ensure_ascii=False)
        conn.execute(
            "INSERT INTO captures (id, run_id, portal, url, final_url, status, headers, fetched_at, "
            "payload_sha256, payload_size, content_type, record_type, warc_file, warc_offset, "
            "warc_length, warc_record_id) VALUES (?, 'run-1', 'demo', ?, ?, 200, ?, "
            "'2026-11-20T00:10:00Z', 'x', ?, ?, 'response', 'nianbao-test-00000.warc.gz', ?, ?, ?)",
            (cid, url, url, headers, len(body), ctype, offset, length, rec_id))
        conn.execute("INSERT INTO documents (id, portal, url, title, kind, latest_capture_id) "
                     "VALUES (?, 'demo', ?, ?, 'attachment', ?)", (cid, url, f"年报 {cid}", cid))
    conn.commit()
    conn.close()
    return data


@pytest.fixture(scope="module")
def server(archive_dir, tmp_path_factory):
    with serving(archive_dir, tmp_path_factory.mktemp("serve-browser-log")) as s:
        yield s


def launch_chromium(p):
    """The system Chromium (browsers are never downloaded here)."""
    return p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def server_log(server) -> str:
    return "".join(p.read_text("utf-8", "replace") for p in server[1])


def probes(server, path: str) -> list[str]:
    """The access-log lines of requests a script on `path` sent to Datasette's API."""
    marker = f"{PROBE}={urllib.parse.quote(path, safe='')}"
    return [line for line in server_log(server).splitlines() if marker in line]


def get(base: str, path: str):
    try:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser, server):
    """A browser context holding a cookie on Datasette's origin, recording the page's requests."""
    ctx = browser.new_context(accept_downloads=True)
    ctx.add_cookies([{"name": "ds_actor", "value": SECRET, "url": server[0] + "/"}])
    ctx.requests = []
    ctx.on("request", lambda r: ctx.requests.append(r.url))
    try:
        yield ctx
    finally:
        ctx.close()


def _settle(page, server, path: str, seconds: float = 3.0) -> list[str]:
    """Wait up to `seconds` for the page's script to reach the server; its log lines."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probes(server, path):
            break
        page.wait_for_timeout(100)
    return probes(server, path)


# ----- the sandbox, in the browser -----

@pytest.mark.browser
def test_cookie_is_set_on_datasette_origin(context, server):
    """The premise of the tests below: Datasette's own pages do get the cookie."""
    page = context.new_page()
    page.goto(server[0] + "/archive")
    assert SECRET in page.evaluate("document.cookie")


@pytest.mark.browser
@pytest.mark.parametrize("capture_id", [1, 2])  # declared text/html; declared octet-stream
def test_archived_script_never_runs_nor_reads_cookies(context, server, capture_id):
    page = context.new_page()
    path = f"/-/original/{capture_id}"
    response = page.goto(server[0] + path)
    assert response.status == 200
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith("text/html")
    assert page.inner_text("#t") == "友谊县新镇乡2023年政府信息公开工作年度报告"
    assert _settle(page, server, path) == []  # no request from the script reached Datasette
    assert not [u for u in context.requests if PROBE in u]
    assert page.inner_text("#out") == "原样 untouched"  # the DOM is as archived
    assert page.get_attribute("body", "data-ran") is None
    assert page.evaluate("typeof window.nianbaoPwned") == "undefined"
    # The document's origin is opaque: even a script that did run could not read the cookie.
    assert page.evaluate("self.origin") == "null"
    assert page.evaluate("() => { try { return document.cookie } catch (e) { return e.name } }") \
        == "SecurityError"


@pytest.mark.browser
def test_same_page_unsandboxed_on_datasette_origin_would_run(context, server):
    """Control: the archived bytes served on Datasette's origin without the sandbox run their
    script, which reads the cookie, writes the DOM and calls Datasette: the checks above can
    fail."""
    path = "/-/unsandboxed-control"
    context.route(server[0] + path, lambda route: route.fulfill(
        status=200, body=HOSTILE_HTML, content_type="text/html; charset=utf-8"))
    page = context.new_page()
    page.goto(server[0] + path)
    assert page.get_attribute("body", "data-ran") == "yes"
    assert page.evaluate("window.nianbaoPwned") == "yes"
    assert SECRET in page.inner_text("#out")
    hits = _settle(page, server, path)
    assert hits and " 200" in hits[0], server_log(server)[-2000:]


@pytest.mark.browser
def test_archived_svg_script_never_runs(context, server):
    page = context.new_page()
    path = "/-/original/4"
    response = page.goto(server[0] + path)
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["content-security-policy"] == "sandbox"
    assert page.locator("text").text_content() == "年报"  # the drawing is shown
    assert _settle(page, server, path, seconds=2) == []
    assert page.get_attribute("svg", "data-ran") is None


@pytest.mark.browser
def test_pdf_sent_as_octet_stream_opens_as_pdf(context, server):
    page = context.new_page()
    downloads = []
    page.on("download", lambda d: downloads.append(d.suggested_filename))
    page.goto(server[0] + "/archive/documents")
    link = page.locator('a[href="/-/original/3"]').first
    with page.expect_response(lambda r: r.url.endswith("/-/original/3")) as info:
        link.click()
    response = info.value
    assert response.status == 200
    # the raw headers: Chromium drops a PDF's CSP from the ones it hands its viewer
    headers = response.all_headers()
    assert headers["content-type"] == "application/pdf"
    assert headers["x-archive-content-type"] == "application/octet-stream"
    assert headers["content-security-policy"] == "sandbox"
    disposition = headers["content-disposition"]
    assert disposition.startswith("inline;")
    assert f"filename*=UTF-8''{urllib.parse.quote(PDF_NAME)}" in disposition
    page.wait_for_load_state()
    assert page.url.endswith("/-/original/3")
    assert page.evaluate("document.contentType") == "application/pdf"  # Chromium's viewer
    page.wait_for_timeout(500)
    assert downloads == []


@pytest.mark.browser
def test_pdf_as_the_portal_sent_it_only_downloads(context, server):
    """Control: with the portal's own headers Chromium downloads the PDF instead."""
    path = "/-/as-the-portal-sent-it"
    context.route(server[0] + path, lambda route: route.fulfill(
        status=200, body=PDF_BODY, headers={
            "Content-Type": "application/octet-stream", "X-Content-Type-Options": "nosniff",
            "Content-Disposition": 'attachment; filename="abc123.pdf"'}))
    page = context.new_page()
    with page.expect_download() as info:
        try:
            page.goto(server[0] + path)
        except Exception as e:  # Playwright: "Download is starting"
            assert "Download" in str(e)
    assert info.value.suggested_filename == "abc123.pdf"


# ----- types and names over plain HTTP -----

def test_pdf_bytes_served_as_archived(server):
    status, headers, body = get(server[0], "/-/original/3")
    assert status == 200 and body == PDF_BODY  # (the browser hands its viewer's page instead)
    assert headers["content-type"] == "application/pdf"
    assert headers["content-security-policy"] == "sandbox"


def test_docx_sent_as_octet_stream_gets_word_type_and_extension(server, captures):
    status, headers, body = get(server[0], "/-/original/5")
    assert status == 200 and body == captures[5][1]
    assert headers["content-type"] == \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert re.search(r'^inline; filename="download\.docx"', headers["content-disposition"])
    assert headers["content-security-policy"] == "sandbox"


def test_gbk_file_name_from_content_disposition(server):
    status, headers, body = get(server[0], "/-/original/6")
    assert status == 200 and body == GBK_TEXT
    assert headers["content-type"] == "text/plain; charset=gb18030"
    assert f"filename*=UTF-8''{urllib.parse.quote('民权县年报.txt')}" \
        in headers["content-disposition"]


@pytest.mark.parametrize("body, declared, expected", [
    (PDF_BODY, "application/octet-stream", "application/pdf"),
    (PDF_BODY, "text/html; charset=utf-8", "application/pdf"),  # the bytes win over the label
    (PDF_BODY, None, "application/pdf"),
    (HOSTILE_HTML, "application/octet-stream", "text/html; charset=utf-8"),
    (HOSTILE_HTML, "text/plain", "text/plain"),  # declared text stays text
    (HOSTILE_HTML, "multipart/x-mixed-replace; boundary=x", "text/html; charset=utf-8"),
    (HOSTILE_SVG, "image/svg+xml", "image/svg+xml"),
    ("<html><body><p>年报</p></body></html>".encode("gbk"), "application/x-download",
     "text/html; charset=gb18030"),
    (b"\x89PNG\r\n\x1a\n" + bytes(32), "application/octet-stream", "image/png"),
    (b"{\\rtf1\\ansi hello}", "application/octet-stream", "application/rtf"),
    (bytes(range(256)) * 4, "application/x-weird", "application/x-weird"),
    (bytes(range(256)) * 4, "text/html<script>", "application/octet-stream"),
])
def test_served_type(body, declared, expected):
    assert served_type(body, declared) == expected
