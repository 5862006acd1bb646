"""township/: a county portal as most are built, crawled from its home page alone.

Home page -> 政务公开 (/township/zwgk/) -> 法定主动公开内容 (/township/zwgk/fdzdgknr/) ->
政府信息公开年报 (/township/zwgk/fdzdgknr/zfxxgknb/list.jsp), three links deep, beside menu
items a crawl must not follow (新闻中心, 政府信息公开指南, 依申请公开). The column is a .jsp list
paged by query string (`list.jsp?page=2`, served by crawler/farm/apps/township.py) whose
reports are attachments only: the real 淮安 PDF and a DOCX built from example 000 (both as
application/octet-stream). Page 2 holds example 002 as an HTML page. The column also lists
a notice (not fetched), a report on another county's site (off-site: never requested), a
report that was deleted (its URL now redirects, 302, to the list), and a part of the column
of its own: 往年年报 -> `2020/`, whose report page shows its PDF in a pdf.js viewer iframe.
"""
from __future__ import annotations

import html
from pathlib import Path

from build_sites import EXAMPLES, copy, layout_tables, load_example, narrative_from_text, \
    report_page, write

PORTAL = "demo-township"
NAME = "示范县人民政府"
ROOT = "/township/"
COLUMN = "/township/zwgk/fdzdgknr/zfxxgknb/"
LIST = COLUMN + "list.jsp"
DELETED = COLUMN + "content/post_2022.html"
PDF = COLUMN + "files/P020250120384756129301.pdf"
DOCX = COLUMN + "files/2021nb.docx"
PAGE2_REPORT = COLUMN + "content/post_2021.html"
NOTICE = COLUMN + "content/post_notice.html"
YEAR_LIST = COLUMN + "2020/"
VIEWER_REPORT = COLUMN + "2020/post_2020.html"
VIEWER_PDF = COLUMN + "2020/files/2020nb.pdf"


def menu_page(title: str, links: list[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in links)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>{html.escape(title)}_{NAME}</title></head>
<body><div class="nav"><a href="{ROOT}">首页</a> &gt; {html.escape(title)}</div>
<ul class="menu">
{items}
</ul>
<div class="footer">主办：{NAME} <a href="http://www.gov.cn.invalid/">中国政府网</a></div>
</body></html>
"""


def list_page(n: int, items: list[tuple[str, str, str]], pager: str) -> str:
    lis = "\n".join(f'<li><a href="{html.escape(h)}" title="{html.escape(t)}">{html.escape(t)}</a>'
                    f"<span>{d}</span></li>" for h, t, d in items)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>政府信息公开年报_{NAME}</title></head>
<body><div class="nav"><a href="{ROOT}">首页</a> &gt; <a href="/township/zwgk/">政务公开</a>
&gt; 政府信息公开年报</div>
<ul class="list">
{lis}
</ul>
<div class="pager">{pager}</div>
</body></html>
"""


def build(sites_dir: Path, farm: dict) -> None:
    site = Path(sites_dir) / "township"
    write(site / "index.html", menu_page("首页", [
        ("/township/zwgk/", "政务公开"), ("/township/xwzx/", "新闻中心"),
        ("/township/bsfw/", "办事服务"), ("/township/hdjl/", "互动交流")]))
    write(site / "zwgk" / "index.html", menu_page("政务公开", [
        ("/township/zwgk/zfxxgkzn/", "政府信息公开指南"),
        ("/township/zwgk/fdzdgknr/", "法定主动公开内容"),
        ("/township/zwgk/ysqgk/", "依申请公开")]))
    write(site / "zwgk" / "fdzdgknr" / "index.html", menu_page("法定主动公开内容", [
        ("/township/zwgk/fdzdgknr/jgzn/", "机构职能"),
        ("/township/zwgk/fdzdgknr/zcwj/", "政策文件"),
        (LIST, "政府信息公开年报")]))

    copy(EXAMPLES / "real_huaian_2024.pdf", site / PDF.removeprefix(ROOT))
    from render_docx import render_docx

    expected, text = load_example("000_26e4c39d6db4dceb")
    title, body = narrative_from_text(text)
    tables = layout_tables(expected["values"], expected["meta"]["template"])
    docx_path = site / DOCX.removeprefix(ROOT)
    docx_path.parent.mkdir(parents=True, exist_ok=True)
    docx_path.write_bytes(render_docx(title=title, body=body, tables=tables))
    write(site / PAGE2_REPORT.removeprefix(ROOT),
          report_page("002_4ddc41b1f223583e", site_name=NAME, column_name="政府信息公开年报",
                      column_href=LIST, home_href=ROOT, pub_date="2022-01-20"))
    write(site / NOTICE.removeprefix(ROOT),
          menu_page("关于开展政务公开专项检查的通知", []))

    page1 = [(PDF, "淮安市人民政府2024年政府信息公开工作年度报告", "2025-01-20"),
             (DOCX, "友谊县新镇乡人民政府2021年政府信息公开工作年度报告", "2022-03-15"),
             (DELETED, "示范县人民政府2022年政府信息公开工作年度报告", "2023-01-30"),
             ("http://neighbour.invalid/xxgk/2023nb.html", "邻县2023年政府信息公开工作年度报告",
              "2024-01-28"),
             (NOTICE, "关于开展政务公开专项检查的通知", "2023-05-06")]
    page2 = [(PAGE2_REPORT, "胡集乡人民政府2021年政府信息公开工作年度报告", "2022-01-20"),
             (YEAR_LIST, "2020年", "")]
    write(site / YEAR_LIST.removeprefix(ROOT) / "index.html", list_page(
        1, [(VIEWER_REPORT, "示范县人民政府2020年政府信息公开工作年度报告", "2021-01-29")], ""))
    copy(EXAMPLES / "real_huaian_2024.pdf", site / VIEWER_PDF.removeprefix(ROOT))
    write(site / VIEWER_REPORT.removeprefix(ROOT), f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>示范县人民政府2020年政府信息公开工作年度报告_{NAME}</title></head>
<body><h1>示范县人民政府2020年政府信息公开工作年度报告</h1>
<iframe src="/township/pdfjs/web/viewer.html?file={VIEWER_PDF}" width="100%" height="800"></iframe>
</body></html>
""")
    write(site / "zwgk" / "fdzdgknr" / "zfxxgknb" / "list_page1.html", list_page(
        1, page1, '<span>首页</span> <a href="list.jsp?page=2">下一页</a> '
                  '<a href="list.jsp?page=2">尾页</a>'))
    write(site / "zwgk" / "fdzdgknr" / "zfxxgknb" / "list_page2.html", list_page(
        2, page2, '<a href="list.jsp?page=1">首页</a> <a href="list.jsp?page=1">上一页</a>'))

    farm["list_pages"] += [ROOT, "/township/zwgk/", "/township/zwgk/fdzdgknr/", LIST,
                           LIST + "?page=2", YEAR_LIST]
    farm["documents"] += [
        {"path": PDF, "kind": "attachment", "example": "real_huaian_2024", "portal": PORTAL,
         "content_type": "application/octet-stream"},
        {"path": DOCX, "kind": "attachment", "example": "000_26e4c39d6db4dceb", "portal": PORTAL,
         "content_type": "application/octet-stream"},
        {"path": PAGE2_REPORT, "kind": "page", "example": "002_4ddc41b1f223583e",
         "portal": PORTAL, "note": "on the list's second page (?page=2)"},
        {"path": VIEWER_REPORT, "kind": "page", "example": None, "portal": PORTAL,
         "note": "in the column's 2020年 part; shows its PDF in a pdf.js iframe"},
        {"path": VIEWER_PDF, "kind": "attachment", "example": "real_huaian_2024",
         "portal": PORTAL, "note": "reached through the viewer's file= parameter"},
    ]
    farm["errors"] += [{"path": DELETED, "status": 302, "portal": PORTAL,
                        "note": "a deleted report: redirects to the list"}]
    farm["never_fetch"] += [NOTICE, "/township/xwzx/", "/township/bsfw/", "/township/hdjl/",
                            "/township/zwgk/zfxxgkzn/", "/township/zwgk/ysqgk/",
                            "/township/zwgk/fdzdgknr/jgzn/", "/township/zwgk/fdzdgknr/zcwj/"]
