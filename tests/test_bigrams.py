"""Chinese full-text search through bigrams: to_bigrams, bigram_query, and a real FTS5 index
built the way archive.search_index builds sections_fts."""
from __future__ import annotations

import sqlite3

import pytest

from archive.bigrams import bigram_query, search_excerpt, to_bigrams
from archive.schema import ensure_schema
from archive.search_index import ensure_fts, index_sections, rebuild_fts

TEXTS = [
    "本机关2023年度政府信息公开工作，坚持以公开为常态。依据第3条，预算公开及时。",
    "收到行政复议申请2件，均维持原行政行为。",
    "Email: office@example.gov.cn，网站 ABC 栏目更新。",
]


def test_to_bigrams():
    assert to_bigrams("信息公开") == "信息 息公 公开"
    assert to_bigrams("公") == "公"
    assert to_bigrams("公开，信息。") == "公开 信息"  # punctuation dropped, no pair across it
    assert to_bigrams("2023年ABC公开") == "2023 年 abc 公开"
    assert to_bigrams("２０２３年度") == "2023 年度"  # full-width digits folded
    assert to_bigrams("") == "" and to_bigrams(None) == ""


def test_bigram_query_expressions():
    assert bigram_query("公开") == '"公开"'
    assert bigram_query("信息公开") == '"信息 息公 公开"'
    assert bigram_query("预算 公开") == '"预算" AND "公开"'
    assert bigram_query("2023年") == '"2023 年" *'
    assert bigram_query("") == '""'


@pytest.fixture
def conn(tmp_path):
    """A catalog with three sections, indexed by ensure_fts (as `nianbao serve` does)."""
    c = sqlite3.connect(str(tmp_path / "archive.db"))
    ensure_schema(c)
    c.execute("INSERT INTO reports (id, capture_id, parser_version, parsed_at, status) "
              "VALUES (1, 1, 't', '2026-01-01', 'ok')")
    c.executemany("INSERT INTO sections (report_id, section, text) VALUES (1, ?, ?)",
                  [(f"s{i}", t) for i, t in enumerate(TEXTS)])
    c.commit()
    assert ensure_fts(c) is True  # new index: built from the rows already there
    c.create_function("bigram_query", 1, bigram_query)
    yield c
    c.close()


def found(conn, query) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT s.section FROM sections_fts JOIN sections s ON s.rowid = sections_fts.rowid "
        "WHERE sections_fts MATCH bigram_query(?) ORDER BY s.section", (query,))]


@pytest.mark.parametrize("query, sections", [
    ("公开", ["s0"]),                # two characters: what trigram alone misses
    ("复议", ["s1"]),
    ("信息公开", ["s0"]),            # four characters: a phrase of bigrams
    ("行政复议申请", ["s1"]),
    ("公开 复议", []),               # AND: no single section has both
    ("预算 常态", ["s0"]),
    ("2023年", ["s0"]),             # digits then a lone character
    ("第3条", ["s0"]),
    ("abc", ["s2"]),
    ("ABC栏目", ["s2"]),
    ("example.gov.cn", ["s2"]),
])
def test_words_found(conn, query, sections):
    assert found(conn, query) == sections


@pytest.mark.parametrize("query", ["信息复议", "公开工作报告", "维持公开", "2024年", "xyz"])
def test_phrase_not_in_text_not_found(conn, query):
    assert found(conn, query) == []


@pytest.mark.parametrize("query", ['"', '""', '"信息', "公开\"", "(", ")", "*", "公开*", "^公开",
                                   "NEAR(公开 复议)", "公开 OR 复议", "NOT", "AND", "-公开",
                                   "s0:公开", "search_text:公开", "{search_text}: x", "'", "\\",
                                   "", "   ", "，。！", "\u0000"])
def test_fts_syntax_in_queries_does_not_raise(conn, query):
    found(conn, query)  # would raise sqlite3.OperationalError on an FTS5 syntax error


def test_operators_are_words_not_syntax(conn):
    assert found(conn, "公开 OR 复议") == []  # "or" is a word that is in no section
    assert found(conn, '"信息公开"') == ["s0"]


def test_index_follows_inserts_deletes_and_rebuild(conn):
    # as archive.report_store stores a section: the row, then its bigrams in the index
    rowid = conn.execute("INSERT INTO sections (report_id, section, text) "
                         "VALUES (1, 's3', '依申请公开办理')").lastrowid
    index_sections(conn, [(rowid, "依申请公开办理")])
    assert found(conn, "依申请") == ["s3"]
    conn.execute("DELETE FROM sections WHERE section = 's0'")
    assert found(conn, "信息公开") == []
    # Rows another writer stored without indexing them are indexed by ensure_fts.
    conn.execute("INSERT INTO sections (report_id, section, text) VALUES (1, 's4', '政务公开专栏')")
    conn.commit()
    assert found(conn, "政务公开") == []
    assert ensure_fts(conn) is True
    assert found(conn, "政务公开") == ["s4"]
    rebuild_fts(conn)
    assert found(conn, "公开") == ["s3", "s4"]
    assert conn.execute("INSERT INTO sections_fts(sections_fts, rank) "
                        "VALUES ('integrity-check', 1)").rowcount == 1


def test_search_excerpt_marks_the_word():
    text = "前言。" * 30 + "本年度收到行政复议申请2件。" + "结语。" * 30
    excerpt = search_excerpt(text, "行政复议", 30)
    assert "【行政复议】" in excerpt and excerpt.startswith("…") and excerpt.endswith("…")
    assert search_excerpt("短文本", "没有") == "短文本"


def test_index_out_of_step_is_rebuilt(conn):
    # A writer that bypassed the triggers (or a VACUUM that renumbered rowids).
    conn.execute("DROP TRIGGER sections_fts_ad")
    conn.execute("DELETE FROM sections WHERE section = 's1'")
    conn.commit()
    stale_hits = "SELECT count(*) FROM sections_fts WHERE sections_fts MATCH bigram_query('复议')"
    assert conn.execute(stale_hits).fetchone()[0] == 1  # the index still has the deleted row
    assert ensure_fts(conn) is True
    assert conn.execute(stale_hits).fetchone()[0] == 0
    assert ensure_fts(conn) is False  # in step again, triggers back: nothing to do
    conn.execute("DELETE FROM sections WHERE section = 's0'")
    assert found(conn, "公开") == []
