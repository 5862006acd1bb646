"""gkmlpt-site/: a district portal on Guangdong's 政府信息公开目录平台 (gkmlpt).

Home page -> 政府信息公开 -> the catalog `/gkmlpt-site/gkmlpt/index`, a page whose inline
script sets `window._CONFIG = {SID: ..., TREE: ...}` and whose menu names the categories as
`#ID` links. Nothing on it links a report: the articles of category 2361 (政府信息公开年报)
come from the JSON API `/gkmlpt-site/gkmlpt/api/all/2361?page=N&sid=SID`
(crawler/farm/apps/gkmlpt.py, reading the `_articles_<ID>.json` files written here): 25
articles, 10 a page, so 3 pages; 23 are reports (one the full 000 example with its tables,
the others short pages), 2 are not and must never be fetched. Category 2363 (政策文件) has
articles too: a crawl that asked every category would fetch them.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from build_sites import render_html, report_page, write

SITE = "gkmlpt-site"
ROOT = f"/{SITE}/"
CATALOG = ROOT + "gkmlpt/index"
NAME, COLUMN, COLUMN_ID = "示范区人民政府", "政府信息公开年报", 2361
SID = "757013"
PAGE_SIZE = 10
EXAMPLE = "000_26e4c39d6db4dceb"
EXAMPLE_TITLE = "友谊县新镇乡人民政府2021年政府信息公开工作年度报告"
BEIJING = timezone(timedelta(hours=8))
AGENCIES = ["示范区人民政府", "示范区人民政府办公室", "示范区发展和改革局", "示范区教育局"]
NOT_REPORTS = {7: ("示范区2023年国民经济和社会发展统计公报", "2024-01-15"),
               21: ("关于做好2021年春节期间安全生产工作的通知", "2021-01-05")}
POLICY_ID, POLICY_NAME = 2363, "政策文件"
POLICIES = [("示范区人民政府关于印发2024年重点民生实事的通知", "2024-02-20"),
            ("示范区人民政府办公室关于加强政务服务便民热线工作的通知", "2023-09-12"),
            ("示范区人民政府关于促进制造业高质量发展的若干措施", "2023-05-06")]
TREE = [{"id": 2356, "name": "政府信息公开指南", "children": []},
        {"id": 2357, "name": "政府信息公开制度", "children": []},
        {"id": 2358, "name": "法定主动公开内容", "children": [
            {"id": POLICY_ID, "name": POLICY_NAME, "children": []},
            {"id": 2364, "name": "规划计划", "children": []}]},
        {"id": COLUMN_ID, "name": COLUMN, "children": []}]


def post_path(article_id: int) -> str:
    """Where gkmlpt puts an article: content/<id // 10^6>/<id // 10^3>/post_<id>.html."""
    return f"{ROOT}gkmlpt/content/{article_id // 1_000_000}/{article_id // 1000}/post_{article_id}.html"


def article(article_id: int, title: str, date: str, category: int, n: int) -> dict:
    moment = datetime.fromisoformat(date).replace(hour=10, tzinfo=BEIJING)
    return {"id": article_id, "title": title, "path": post_path(article_id),
            "create_time": int(moment.timestamp()), "date": int(moment.timestamp()),
            "created_at": moment.strftime("%Y-%m-%d %H:%M:%S"), "publisher": NAME,
            "identifier": f"{SID}/{date[:4]}-{n:05d}", "document_number": "", "type": "normal",
            "classify_main": category}


def report_articles() -> list[dict]:
    """Category 2361, newest first: reports of 2024..2019 by four agencies, the 000 example
    among the 2021 ones (page 2), two articles that are not reports."""
    titles = [(f"{agency}{year}年政府信息公开工作年度报告", f"{year + 1}-01-{28 - 5 * i:02d}")
              for year in range(2024, 2018, -1) for i, agency in enumerate(AGENCIES)]
    titles[13] = (EXAMPLE_TITLE, titles[13][1])
    for at, item in sorted(NOT_REPORTS.items()):
        titles.insert(at, item)
    titles = titles[:25]
    return [article(3180001 + i, t, d, COLUMN_ID, i + 1) for i, (t, d) in enumerate(titles)]


def short_page(title: str, date: str) -> str:
    body = [("p", f"根据《中华人民共和国政府信息公开条例》规定，现公布{title}。"),
            ("p", "本报告所列数据的统计期限自当年1月1日起至12月31日止。")]
    return render_html(title=title, body=body, tables=[], site_name=NAME, column_name=COLUMN,
                       column_href=f"{CATALOG}#{COLUMN_ID}", home_href=ROOT, pub_date=date)


def catalog_page() -> str:
    def menu(nodes) -> str:
        items = []
        for node in nodes:
            sub = f"<ul>{menu(node['children'])}</ul>" if node["children"] else ""
            items.append(f'<li><a href="#{node["id"]}">{node["name"]}</a>{sub}</li>')
        return "".join(items)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>政府信息公开目录_{NAME}</title>
<script>
var TREE = {json.dumps(TREE, ensure_ascii=False)};
window._CONFIG = {{SID: '{SID}', TREE: TREE, SITE_NAME: '{NAME}'}};
</script>
</head>
<body><div class="header"><a href="{ROOT}">{NAME}</a></div>
<div class="nav"><a href="{ROOT}">首页</a> &gt; <span>政府信息公开目录</span></div>
<div class="classify-tree"><ul>{menu(TREE)}</ul></div>
<div id="app" class="article-list">正在加载……</div>
<div class="footer">主办：{NAME}</div></body></html>
"""


def build(sites_dir: Path, farm: dict) -> None:
    site = Path(sites_dir) / SITE
    write(site / "index.html", f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>{NAME}</title></head>
<body><div class="nav"><a href="{ROOT}">首页</a> <a href="{CATALOG}">政府信息公开</a></div>
<p>欢迎访问{NAME}门户网站（本地演示站点：政府信息公开目录在广东政府信息公开目录平台上）。</p></body></html>
""")
    write(site / "gkmlpt" / "index" / "index.html", catalog_page())
    reports = report_articles()
    policies = [article(3170001 + i, t, d, POLICY_ID, i + 1) for i, (t, d) in enumerate(POLICIES)]
    for cid, name, articles in ((COLUMN_ID, COLUMN, reports), (POLICY_ID, POLICY_NAME, policies)):
        data = {"sid": SID, "page_size": PAGE_SIZE, "articles": articles,
                "classify": {"id": cid, "name": name, "post_count": len(articles), "jump_url": ""}}
        write(site / f"_articles_{cid}.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    for a in reports + policies:
        date = a["created_at"][:10]
        page = (report_page(EXAMPLE, site_name=NAME, column_name=COLUMN,
                            column_href=f"{CATALOG}#{COLUMN_ID}", home_href=ROOT, pub_date=date)
                if a["title"] == EXAMPLE_TITLE else short_page(a["title"], date))
        write(site / a["path"][len(ROOT):], page)

    farm["list_pages"] += [ROOT, CATALOG]
    not_reports = {title for title, _ in NOT_REPORTS.values()}
    for i, a in enumerate(reports):
        if a["title"] in not_reports:
            continue
        example = EXAMPLE if a["title"] == EXAMPLE_TITLE else None
        farm["documents"].append(
            {"path": a["path"], "kind": "page", "example": example, "portal": "demo-gkmlpt",
             "note": f"listed on page {i // PAGE_SIZE + 1} of the gkmlpt API"
                     + ("" if example else "; a short page, no report table")})
    farm["never_fetch"] += [a["path"] for a in reports if a["title"] in not_reports]
    farm["never_fetch"] += [a["path"] for a in policies]
