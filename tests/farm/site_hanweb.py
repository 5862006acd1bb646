"""hanweb/: a county portal on the Hanweb (大汉) jcms/jpaas CMS (crawler/farm/apps/hanweb.py).

Home page -> 政府信息公开 (/hanweb/col/col100/, a Hanweb column of non-report items, jpage
configured with an inline `ajaxParam:{...}`) -> 政府信息公开年报 (/hanweb/col/col1234/, 46
records, perPage 15, groupSize 2, `ajaxParam:param_5102`). Only the first 15 records are in
the page's `<datastore>`; the other 31 come from `dataproxy.jsp` (records 16-45, 46-75). Most
records are report pages (a title and a paragraph), one carries example 000's tables, one
links the real 淮安 PDF as `downfile.jsp?classid=0&filename=abc123.pdf`; six are notices
(关于…的通知 and the like) a crawl must not fetch.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from build_sites import EXAMPLES, copy, report_page, write

NAME, COLUMN = "示范县人民政府", "政府信息公开年报"
PORTAL = "demo-hanweb"
HOME = "/hanweb/"
XXGK = ("100", "5101", "政府信息公开")      # columnid, unitid (container id), name
NDBG = ("1234", "5102", COLUMN)
PROXY = "/hanweb/module/web/jpage/dataproxy.jsp"
DOWNFILE = "/hanweb/module/download/downfile.jsp?classid=0&filename=abc123.pdf"
PER_PAGE, GROUP_SIZE = 15, 2
REPORT_TEXT = re.compile(r"年度报告|年报|政府信息公开.{0,8}报告")  # as spiders/links.py reads titles

UNITS = ["人民政府办公室", "发展和改革委员会", "教育体育局", "公安局", "民政局", "财政局",
         "人力资源和社会保障局", "自然资源和规划局", "住房和城乡建设局", "交通运输局",
         "卫生健康委员会", "城关镇人民政府", "新华乡人民政府"]  # of 示范县
NOTICES = [  # (title, date): not reports, never to be fetched
    ("关于印发《示范县2024年政务公开工作要点》的通知", "2024-04-12"),
    ("示范县人民政府办公室关于开展政务公开专项检查的通知", "2024-02-20"),
    ("关于调整示范县政务公开工作领导小组成员的通知", "2023-06-08"),
    ("示范县政府信息公开指南（2023年修订）", "2023-02-01"),
    ("关于做好政府信息依申请公开办理工作的通知", "2022-05-16"),
    ("示范县政务公开工作考核办法", "2021-11-03"),
]
FULL = ("000_26e4c39d6db4dceb", "友谊县新镇乡人民政府2021年政府信息公开工作年度报告", "2022-03-15")
HUAIAN = ("淮安市人民政府2024年政府信息公开工作年度报告", "2025-01-20")
JPAGE_JS = """/* jpage stand-in for the demo: shows the records of the datastore, no paging */
function $(a){
  if (typeof a === "function") { document.addEventListener("DOMContentLoaded", a); return; }
  var box = document.getElementById(a.replace("#", ""));
  return {jpage: function(cfg){
    var xml = box.querySelector('script[type="text/xml"]').textContent;
    var parts = xml.split("<record><![CDATA[").slice(1).map(function(r){ return r.split("]]></record>")[0]; });
    var ul = document.createElement("ul"); ul.className = "list"; ul.innerHTML = parts.join("");
    box.appendChild(ul);
  }};
}
"""


def art_path(col: str, date: str, n: int) -> str:
    y, m, d = (int(x) for x in date.split("-"))
    return f"/hanweb/art/{y}/{m}/{d}/art_{col}_{n}.html"


def record(href: str, title: str, date: str) -> str:
    shown = title if len(title) <= 24 else title[:22] + "..."
    return (f'<li><a href="{html.escape(href)}" title="{html.escape(title)}" target="_blank">'
            f'{html.escape(shown)}</a><span>{date}</span></li>')


def article(title: str, date: str, paragraphs: list[str], attachment: tuple[str, str] | None = None,
            column: tuple[str, str, str] = NDBG) -> str:
    """A Hanweb article page: meta ArticleTitle / PubDate, the text in `<div id="zoom">`."""
    esc = html.escape
    body = "\n".join(f'<p style="text-indent:2em">{esc(p)}</p>' for p in paragraphs)
    if attachment:
        body += (f'\n<p>附件：<a href="{esc(attachment[0])}" target="_blank">'
                 f'{esc(attachment[1])}</a></p>')
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" />
<meta name="SiteName" content="{NAME}" /><meta name="ColumnName" content="{esc(column[2])}" />
<meta name="ArticleTitle" content="{esc(title)}" /><meta name="PubDate" content="{date} 09:00" />
<title>{esc(title)}_{esc(column[2])}_{NAME}</title></head>
<body><div class="header"><a href="/hanweb/index.html">{NAME}</a></div>
<div class="position">当前位置：<a href="/hanweb/index.html">首页</a> &gt;
<a href="/hanweb/col/col{column[0]}/index.html">{esc(column[2])}</a></div>
<div class="article"><h1>{esc(title)}</h1><div class="info">发布日期：{date}　信息来源：{NAME}</div>
<div id="zoom">
{body}
</div></div>
<div class="footer">主办：{NAME}</div></body></html>
"""


def column_page(column: tuple[str, str, str], records: list[str], total: int, config: str) -> str:
    col, unit, name = column
    first = "\n".join(f"<record><![CDATA[{r}]]></record>" for r in records)
    nextgroup = (f'<a href="{PROXY}?page=1&webid=1&path=/&columnid={col}&unitid={unit}'
                 f'&webname={NAME}&permissiontype=0"></a>')
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><meta name="ColumnName" content="{name}" />
<title>{name}_{NAME}</title>
<script type="text/javascript" src="/hanweb/module/web/jpage/jpage.js"></script></head>
<body><div class="header"><a href="/hanweb/index.html">{NAME}</a></div>
<div class="left-nav"><a href="/hanweb/col/col100/index.html">政府信息公开</a>
<a href="/hanweb/col/col1234/index.html" title="{COLUMN}">{COLUMN}</a></div>
<div class="position">当前位置：<a href="/hanweb/index.html">首页</a> &gt; <span>{name}</span></div>
<div class="main"><div id="{unit}"><script type="text/xml"><datastore>
<nextgroup><![CDATA[{nextgroup}]]></nextgroup>
<recordset>
{first}
</recordset></datastore></script></div></div>
<script type="text/javascript">
{config}
$(function(){{$('#{unit}').jpage({{themeName:'default',showMode:'full',totalRecord:{total},openCookies:false,dataBefore:'<ul class="list">',dataAfter:'</ul>',groupSize:{GROUP_SIZE},proxyUrl:'{PROXY}',perPage:{PER_PAGE},barPosition:'bottom',ajaxParam:{"param_" + unit if config else _inline(column)}}});}});
</script>
<div class="footer">主办：{NAME}</div></body></html>
"""


def _inline(column: tuple[str, str, str]) -> str:
    return (f"{{col:1,appid:'1',webid:1,path:'/',columnid:{column[0]},sourceContentType:1,"
            f"unitid:'{column[1]}',webname:'{NAME}',permissiontype:0}}")


def build(sites_dir: Path, farm: dict) -> None:
    site = Path(sites_dir) / "hanweb"
    write(site / "index.html", f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>{NAME}</title></head>
<body><div class="nav"><a href="/hanweb/index.html">首页</a>
<a href="/hanweb/col/col100/index.html">政府信息公开</a></div>
<p>欢迎访问{NAME}门户网站（本地演示站点：大汉 Hanweb jpaas 栏目，列表分组由 dataproxy.jsp 提供）。</p>
</body></html>
""")
    write(site / "module" / "web" / "jpage" / "jpage.js", JPAGE_JS)

    # the annual-report column: (href, title, date, document or None)
    rows: list[tuple[str, str, str, dict | None]] = []
    n = 5000
    for year in (2023, 2022, 2021):
        for i, unit in enumerate(UNITS):
            if (year, unit) == (2021, UNITS[-1]):
                continue  # 38 short report pages
            n += 1
            date = f"{year + 1}-{1 + i // 5:02d}-{10 + i % 5 * 3:02d}"
            title = f"示范县{unit}{year}年政府信息公开工作年度报告"
            href = art_path(NDBG[0], date, n)
            write(site / href[len(HOME):], article(title, date, [
                f"根据《中华人民共和国政府信息公开条例》规定，现公布示范县{unit}{year}年政府信息公开工作年度报告。",
                "本报告中所列数据的统计期限自当年1月1日起至12月31日止。"]))
            rows.append((href, title, date, {"path": href, "kind": "page", "example": None,
                                             "note": "a title and a paragraph, no tables"}))
    full_href = art_path(NDBG[0], FULL[2], 4001)
    write(site / full_href[len(HOME):],
          report_page(FULL[0], site_name=NAME, column_name=COLUMN, column_href="/hanweb/col/col1234/index.html",
                      home_href="/hanweb/index.html", pub_date=FULL[2], labels={"本年废止件数": "本年度止件数"}))
    rows.append((full_href, FULL[1], FULL[2], {"path": full_href, "kind": "page", "example": FULL[0]}))
    huaian_href = art_path(NDBG[0], HUAIAN[1], 6001)
    copy(EXAMPLES / "real_huaian_2024.pdf", site / "_files" / "abc123.pdf")
    write(site / huaian_href[len(HOME):], article(
        HUAIAN[0], HUAIAN[1], ["现将淮安市人民政府2024年政府信息公开工作年度报告予以公布，全文详见附件。"],
        attachment=(DOWNFILE, f"{HUAIAN[0]}.pdf")))
    rows.append((huaian_href, HUAIAN[0], HUAIAN[1],
                 {"path": huaian_href, "kind": "page", "example": None, "note": "the report is the attachment"}))
    for i, (title, date) in enumerate(NOTICES):
        assert not REPORT_TEXT.search(title), title
        href = art_path(NDBG[0], date, 7001 + i)
        write(site / href[len(HOME):], article(title, date, [f"{title}，现予印发，请认真贯彻执行。"]))
        rows.append((href, title, date, None))
    rows.sort(key=lambda r: (r[2], r[0]), reverse=True)  # newest first, as the CMS lists
    fragments = [record(href, title, date) for href, title, date, _ in rows]
    write(site / f"_records_{NDBG[0]}.json",
          json.dumps({"total": len(rows), "records": fragments}, ensure_ascii=False, indent=0) + "\n")
    write(site / "col" / f"col{NDBG[0]}" / "index.html", column_page(
        NDBG, fragments[:PER_PAGE], len(rows),
        f"var param_{NDBG[1]} = {_inline(NDBG)};"))

    # the 信息公开 column: four non-report items, all in its datastore
    items = [("政府信息公开指南", "2023-02-01"), ("政府信息公开制度", "2022-08-15"),
             ("机构职能", "2022-06-30"), ("政府信息公开申请表", "2021-12-01")]
    xxgk_rows = []
    for i, (title, date) in enumerate(items):
        href = art_path(XXGK[0], date, 3001 + i)
        write(site / href[len(HOME):], article(title, date, [f"{NAME}{title}。"], column=XXGK))
        xxgk_rows.append((href, record(href, title, date)))
    write(site / f"_records_{XXGK[0]}.json", json.dumps(
        {"total": len(items), "records": [r for _, r in xxgk_rows]}, ensure_ascii=False, indent=0) + "\n")
    write(site / "col" / f"col{XXGK[0]}" / "index.html",
          column_page(XXGK, [r for _, r in xxgk_rows], len(items), ""))

    farm["list_pages"] += [HOME, "/hanweb/col/col100/index.html", "/hanweb/col/col1234/index.html"]
    for pos, (href, _, _, doc) in enumerate(rows, start=1):
        if doc is None:
            farm["never_fetch"].append(href)
            continue
        doc = {**doc, "portal": PORTAL}
        if pos > PER_PAGE:
            doc["note"] = (doc.get("note", "") + f"; record {pos}: listed only by dataproxy.jsp").lstrip("; ")
        farm["documents"].append(doc)
        if href == huaian_href:
            farm["documents"].append({"path": DOWNFILE, "kind": "attachment", "example": "real_huaian_2024",
                                      "portal": PORTAL, "content_type": "application/octet-stream"})
    farm["never_fetch"] += [href for href, _ in xxgk_rows]
