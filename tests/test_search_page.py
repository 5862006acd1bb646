"""The search page `/-/search`, Datasette's own search box on `sections`, and the bigram
index kept out of every visible table, on a real `nianbao serve`; and an archive made before
the index moved (sections.search_text, an external-content index) upgrading on open."""
from __future__ import annotations

import sqlite3
import urllib.parse

import lxml.html
import pytest

from archive.bigrams import to_bigrams
from archive.report_store import store_report
from archive.schema import ensure_schema
from archive.search_index import ensure_fts
from tests.serving import serving
from tests.test_report_page import add_capture
from tests.test_serve import AGENCY, OTHER_AGENCY, _report, get, get_json

MANY = 25  # reports sharing one word: more than a page of results


def _store(conn, cid: int, agency: str, year: int, sections: dict, version="v2") -> int:
    add_capture(conn, cid, f"http://portal.example.gov.cn/{cid}.html", b"x", "text/html", None)
    conn.execute("INSERT OR IGNORE INTO documents (id, portal, url, kind, latest_capture_id) "
                 "VALUES (?, 'demo-county', ?, 'page', ?)",
                 (cid, f"http://portal.example.gov.cn/{cid}.html", cid))
    conn.commit()
    report = _report(agency, year, version, 6, True)
    report["sections"] = sections
    return store_report(conn, cid, cid, report)[0]


def build(data) -> dict:
    data.mkdir(parents=True)
    conn = sqlite3.connect(str(data / "archive.db"))
    ensure_schema(conn)
    conn.execute("INSERT INTO crawl_runs (id, started_at, status, portals) "
                 "VALUES ('run-1', '2026-11-20T00:00:00Z', 'finished', '[]')")
    ids = {}
    ids["budget"] = _store(conn, 1, AGENCY, 2023, {
        "overview": "本机关坚持以公开为常态，不公开为例外。",
        "problems": "部门预算公开不够细化，下一步改进。<script>alert(1)</script>"})
    ids["other"] = _store(conn, 2, OTHER_AGENCY, 2022, {"overview": "无相关内容。"})
    # an older parse of capture 3, then the current one: only the current is listed
    ids["superseded"] = _store(conn, 3, AGENCY, 2021, {"overview": "旧解析：复议申请。"}, "v1")
    ids["current"] = store_report(conn, 3, 3, {**_report(AGENCY, 2021, "v2", 6, True),
                                               "sections": {"overview": "新解析：复议申请。"}})[0]
    ids["many"] = [_store(conn, 10 + i, f"第{i}镇人民政府", 2020, {"other": "政务专栏建设。"})
                   for i in range(MANY)]
    conn.close()
    return ids


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    data = tmp_path_factory.mktemp("search") / "data"
    return data, build(data)


@pytest.fixture(scope="module")
def server(catalog, tmp_path_factory):
    with serving(catalog[0], tmp_path_factory.mktemp("search-log")) as (base, _):
        yield base


def search(base, q, **params):
    status, _, body = get(base, "/-/search", q=q, **params)
    assert status == 200, body[:1000]
    return lxml.html.fromstring(body.decode("utf-8"))


def results(page) -> list[dict]:
    return [{"href": li.cssselect("a.nb-report")[0].get("href"),
             "agency": li.cssselect(".nb-agency")[0].text_content(),
             "year": li.cssselect(".nb-year")[0].text_content(),
             "excerpt": lxml.html.tostring(li.cssselect(".nb-excerpt")[0], encoding="unicode")}
            for li in page.cssselect("ol.nb-results li")]


@pytest.mark.parametrize("word", ["预算", "公开"])
def test_two_character_word_finds_its_report_with_the_hit_marked(server, catalog, word):
    found = results(search(server, word))  # one result per section found
    assert {(r["href"], r["agency"], r["year"]) for r in found} == {
        (f"/-/report/{catalog[1]['budget']}", AGENCY, "2023")}
    assert all(f"<mark>{word}</mark>" in r["excerpt"] for r in found)


def test_every_word_is_marked_and_the_text_escaped(server):
    found = results(search(server, "预算 细化"))
    assert len(found) == 1
    excerpt = found[0]["excerpt"]
    assert "<mark>预算</mark>" in excerpt and "<mark>细化</mark>" in excerpt
    assert "<script>" not in excerpt and "&lt;script&gt;" in excerpt
    assert "预 算" not in excerpt and "预算 算公" not in excerpt  # never the index's bigrams


def test_only_the_current_parse_is_listed(server, catalog):
    found = results(search(server, "复议申请"))
    assert [r["href"] for r in found] == [f"/-/report/{catalog[1]['current']}"]
    assert "新解析" in found[0]["excerpt"]


def test_pages(server, catalog):
    first = search(server, "政务专栏")
    assert len(results(first)) == 20
    count = " ".join(first.cssselect(".nb-count")[0].text_content().split())
    assert count.startswith(f"{MANY} matching sections in every archived copy and parse; "
                            "from the newest copies, results 1–20")
    nxt = first.cssselect('a[rel="next"]')[0].get("href")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query) == {"q": ["政务专栏"],
                                                                       "p": ["2"]}
    second = search(server, "政务专栏", p="2")
    listed = {r["href"] for r in results(first)} | {r["href"] for r in results(second)}
    assert listed == {f"/-/report/{i}" for i in catalog[1]["many"]}
    assert not second.cssselect('a[rel="next"]')


@pytest.mark.parametrize("q", ["没有这个词", '"', "NEAR(公开", "*", "公开 OR"])
def test_nothing_found_or_odd_input_never_errors(server, q):
    page = search(server, q)
    if q != "公开 OR":
        assert page.cssselect(".nb-none")


def test_empty_query_shows_the_form(server):
    page = search(server, "")
    assert page.cssselect('form.nb-search input[name="q"]') and not page.cssselect(".nb-none")


def test_search_is_linked_from_the_menu_and_the_sections_table(server):
    body = get(server, "/archive/sections")[2].decode("utf-8")
    assert 'href="/-/search"' in body


def test_bigram_column_is_in_no_visible_table(server):
    data = get_json(server, "/archive.json")
    for table in data["tables"]:
        assert "search_text" not in table["columns"], table["name"]
        assert "bigrams" not in table["columns"] or table["hidden"], table["name"]
    sections = get_json(server, "/archive/sections.json", _shape="objects")
    assert "search_text" not in sections["columns"]
    assert set(sections["columns"]) == {"rowid", "report_id", "section", "text"}
    hidden = {t["name"] for t in data["tables"] if t["hidden"]}
    assert "sections_fts" in hidden


def test_datasette_search_box_on_sections(server, catalog):
    page = get(server, "/archive/sections")[2].decode("utf-8")
    assert 'name="_search"' in page  # the box is there
    data = get_json(server, "/archive/sections.json", _search="预算", _shape="objects")
    assert [r["report_id"] for r in data["rows"]] == [catalog[1]["budget"]]
    data = get_json(server, "/archive/sections.json", _search="政务专栏", _shape="objects",
                    _size="max")
    assert len(data["rows"]) == MANY


# ----- an archive from before the move -----

OLD_FTS = ("CREATE VIRTUAL TABLE sections_fts USING fts5(search_text, content='sections', "
           "content_rowid='rowid', tokenize='unicode61')")
OLD_TRIGGERS = [
    "CREATE TRIGGER sections_fts_ai AFTER INSERT ON sections BEGIN INSERT INTO sections_fts"
    "(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER sections_fts_ad AFTER DELETE ON sections BEGIN INSERT INTO sections_fts"
    "(sections_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
]


def make_old(data) -> list[tuple]:
    """Turn a fresh catalog into one as the release before m003 left it: the bigrams in
    sections.search_text, an external-content index over them, m003 not applied."""
    conn = sqlite3.connect(str(data / "archive.db"))
    conn.execute("DROP TABLE sections_fts")
    for name in ("sections_fts_ad", "sections_fts_au"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("ALTER TABLE sections ADD COLUMN search_text TEXT")
    conn.create_function("to_bigrams", 1, to_bigrams)
    conn.execute("UPDATE sections SET search_text = to_bigrams(text)")
    conn.execute(OLD_FTS)
    for trigger in OLD_TRIGGERS:
        conn.execute(trigger)
    conn.execute("INSERT INTO sections_fts(sections_fts) VALUES ('rebuild')")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE 'm003%'")
    conn.commit()
    rows = conn.execute("SELECT rowid, report_id, section, text FROM sections ORDER BY rowid"
                        ).fetchall()
    assert conn.execute("SELECT count(*) FROM sections_fts WHERE sections_fts MATCH '\"预算\"'"
                        ).fetchone()[0] == 1  # the old index works
    conn.close()
    return rows


def test_an_old_catalog_upgrades_and_search_still_finds(tmp_path):
    data = tmp_path / "data"
    ids = build(data)
    conn = sqlite3.connect(str(data / "archive.db"))
    ensure_fts(conn)  # as a `nianbao serve` of the old release would have had it: indexed
    conn.close()
    before = make_old(data)
    with serving(data, tmp_path / "log") as (base, _):
        found = results(search(base, "预算"))
        assert [r["href"] for r in found] == [f"/-/report/{ids['budget']}"]
        assert "<mark>预算</mark>" in found[0]["excerpt"]
        data_json = get_json(base, "/archive/sections.json", _search="公开", _shape="objects")
        assert [r["report_id"] for r in data_json["rows"]] == [ids["budget"]] * 2
        assert "search_text" not in data_json["columns"]
        # a report stored while serving (a crawl's parse) is searchable at once
        conn = sqlite3.connect(str(data / "archive.db"))
        new = _store(conn, 99, OTHER_AGENCY, 2024, {"overview": "决算公开及时。"})
        conn.close()
        assert [r["href"] for r in results(search(base, "决算"))] == [f"/-/report/{new}"]
    conn = sqlite3.connect(str(data / "archive.db"))
    after = conn.execute("SELECT rowid, report_id, section, text FROM sections ORDER BY rowid"
                         ).fetchall()
    assert after[:len(before)] == before  # no row lost, rowids kept
    assert "search_text" not in [r[1] for r in conn.execute("PRAGMA table_info(sections)")]
    assert conn.execute("SELECT name FROM _sqlite_migrations WHERE name LIKE 'm003%'"
                        ).fetchone()
    conn.close()


def test_a_word_in_very_many_sections_is_listed_newest_first(catalog, monkeypatch):
    """Past RANK_LIMIT matches, ranking would score every one: the index's own order (newest
    stored first) is used instead, on the same real catalog."""
    from archive.web import search_page

    conn = sqlite3.connect(str(catalog[0] / "archive.db"))
    ranked = search_page.run_search(conn, "政务专栏", 1)
    assert ranked["order"] == "rank" and ranked["matched"] == MANY
    monkeypatch.setattr(search_page, "RANK_LIMIT", 5)
    newest = search_page.run_search(conn, "政务专栏", 1)
    conn.close()
    assert newest["order"] == "newest" and newest["matched_capped"]
    ids = [r["report_id"] for r in newest["results"]]
    assert ids == sorted(catalog[1]["many"], reverse=True)[:search_page.PAGE_SIZE]
