"""`/-/search?q=<words>`: search the text of every report, in Chinese, with excerpts.

Words of two characters and more (公开, 预算, 依申请公开) are found through the bigram index
(`archive.search_index`, `archive.bigrams.bigram_query`); several words must all be in one
section; "quotes" keep a phrase with spaces. Results are the best-ranked sections (FTS5's
bm25) of each document's newest report, `PAGE_SIZE` a page, up to `MAX_RESULTS`: each with
its report (linking to its report page), office, year, section and an excerpt with every
word found marked by <mark>. The excerpt comes from the section's own text, never from the
index's bigrams.
"""
from __future__ import annotations

import sqlite3

import markupsafe
from datasette.utils import sqlite_timelimit
from datasette.utils.asgi import NotFound, Response

from archive.bigrams import bigram_query, excerpt_window, find_words, query_words
from archive.web.original import DATABASE
from archive.web.report_page import SECTION_TITLES

PAGE_SIZE = 20
MAX_RESULTS = 1000   # sections looked at, in order: pages stop there
RANK_LIMIT = 20000   # up to this many matching sections, by rank; more: newest stored first
EXCERPT_WIDTH = 120

# The first `MAX_RESULTS` sections in order, then their reports: only those are joined,
# however many sections match. FTS5 sorts by rank by scoring every match (about 3 µs each),
# so a word found in most sections (公开) is listed in the index's own order instead, newest
# stored first, which costs nothing.
SEARCH_SQL = """
WITH hits AS (
  SELECT rowid, rank FROM sections_fts WHERE sections_fts MATCH :match
  ORDER BY {order} LIMIT :cap
)
SELECT s.report_id, s.section, s.text, r.title, r.agency, r.year, r.province, r.city,
  r.county, r.capture_id
FROM hits JOIN sections s ON s.rowid = hits.rowid
JOIN report_totals t ON t.report_id = s.report_id AND t.is_latest = 1
JOIN reports r ON r.id = s.report_id
ORDER BY {outer_order}
LIMIT :limit OFFSET :offset
"""
ORDERS = {"rank": ("rank", "hits.rank"), "newest": ("rowid DESC", "hits.rowid DESC")}
COUNT_SQL = ("SELECT count(*) FROM (SELECT 1 FROM sections_fts WHERE sections_fts MATCH ? "
             "LIMIT ?)")


def excerpt_html(text: str | None, query: str | None, width: int = EXCERPT_WIDTH):
    """About `width` characters of `text` around the first word found, every word of `query`
    inside marked with <mark>, the rest escaped."""
    text = " ".join((text or "").split())
    spans = find_words(text, query)
    start, end = excerpt_window(text, spans, width)
    out, pos = [], start
    for a, b in spans:
        if b <= start or a >= end:
            continue
        a, b = max(a, start), min(b, end)
        out.append(markupsafe.escape(text[pos:a]))
        out.append(markupsafe.Markup("<mark>{}</mark>").format(text[a:b]))
        pos = b
    out.append(markupsafe.escape(text[pos:end]))
    return markupsafe.Markup(("…" if start else "") + "".join(out) +
                             ("…" if end < len(text) else ""))


def run_search(conn: sqlite3.Connection, q: str, page: int) -> dict:
    """One page of results for `q` (page 1 first)."""
    match = bigram_query(q)
    matched = conn.execute(COUNT_SQL, (match, RANK_LIMIT + 1)).fetchone()[0]
    order = "rank" if matched <= RANK_LIMIT else "newest"
    offset = (page - 1) * PAGE_SIZE
    inner, outer = ORDERS[order]
    cur = conn.execute(SEARCH_SQL.format(order=inner, outer_order=outer),
                       {"match": match, "cap": MAX_RESULTS, "limit": PAGE_SIZE + 1,
                        "offset": offset})
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    for row in rows:
        row["excerpt"] = excerpt_html(row.pop("text"), q)
        row["section_title"] = SECTION_TITLES.get(row["section"], row["section"])
    return {"results": rows[:PAGE_SIZE], "has_next": len(rows) > PAGE_SIZE,
            "matched": matched, "matched_capped": matched > RANK_LIMIT, "order": order,
            "offset": offset}


async def search_page(request, datasette):
    try:
        db = datasette.get_database(DATABASE)
    except KeyError:
        raise NotFound("no archive database is served")
    q = (request.args.get("q") or "").strip()
    try:
        page = max(1, int(request.args.get("p") or 1))
    except ValueError:
        page = 1
    context = {"q": q, "page": page, "words": query_words(q), "database": DATABASE,
               "page_size": PAGE_SIZE, "max_results": MAX_RESULTS, "count_cap": RANK_LIMIT,
               "results": [], "has_next": False, "matched": 0}
    limit_ms = datasette.setting("sql_time_limit_ms")

    def search(conn):
        with sqlite_timelimit(conn, limit_ms):
            return run_search(conn, q, page)

    if q:
        try:
            context.update(await db.execute_fn(search))
        except sqlite3.OperationalError as e:  # the time limit, most likely
            context["error"] = f"The search did not finish: {e}. Try more specific words."
    html = await datasette.render_template("search.html", context, request=request)
    return Response.html(html)
