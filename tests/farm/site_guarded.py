"""guarded/: a county portal behind a JavaScript cookie challenge (crawler/farm/apps/challenge.py).

Every path under /guarded/ answers HTTP 412 and a cookie-setting script until the request
carries the cookie the script computes; then these static files are served. Home page ->
政府信息公开年报 (a plain list) -> two HTML report pages (examples 000 and 002) and a page
whose report is the real 淮安 PDF attachment. `/guarded/never/` is a challenge no browser
passes (the app answers it, no files here).
"""
from __future__ import annotations

from pathlib import Path

from build_sites import EXAMPLES, copy, list_page, render_html, report_page, write

NAME, COLUMN = "守卫县人民政府", "政府信息公开年报"
COL = "/guarded/xxgk/ndbg/"
PDF = "P020240125551234567890.pdf"
PAGES = {  # example -> (path under the column, publication date)
    "000_26e4c39d6db4dceb": ("202203/t20220318_30001.html", "2022-03-18"),
    "002_4ddc41b1f223583e": ("202201/t20220121_30002.html", "2022-01-21"),
}
HUAIAN_PAGE = ("202401/t20240125_30003.html", "2024-01-25")
HUAIAN_TITLE = "淮安市人民政府2024年政府信息公开工作年度报告"


def build(sites_dir: Path, farm: dict) -> None:
    site = Path(sites_dir) / "guarded"
    write(site / "index.html", f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>{NAME}</title></head>
<body><div class="nav"><a href="/guarded/index.html">首页</a> <a href="/guarded/xwzx/">新闻中心</a>
<a href="/guarded/xxgk/ndbg/index.html" title="{COLUMN}">{COLUMN}</a></div>
<p>欢迎访问{NAME}门户网站（本地演示站点：每个主机先要通过一次脚本 Cookie 验证）。</p></body></html>
""")
    for example, (rel, date) in PAGES.items():
        write(site / "xxgk" / "ndbg" / rel,
              report_page(example, site_name=NAME, column_name=COLUMN,
                          column_href="../index.html", home_href="../../../index.html",
                          pub_date=date))
    pdf_rel = HUAIAN_PAGE[0].split("/")[0] + "/" + PDF
    copy(EXAMPLES / "real_huaian_2024.pdf", site / "xxgk" / "ndbg" / pdf_rel)
    write(site / "xxgk" / "ndbg" / HUAIAN_PAGE[0],
          render_html(title=HUAIAN_TITLE,
                      body=[("p", "现将淮安市人民政府2024年政府信息公开工作年度报告予以公布，全文详见附件。")],
                      tables=[], site_name=NAME, column_name=COLUMN, column_href="../index.html",
                      home_href="../../../index.html", pub_date=HUAIAN_PAGE[1],
                      attachments=[(f"./{PDF}", f"{HUAIAN_TITLE}.pdf")]))
    items = [
        (PAGES["000_26e4c39d6db4dceb"][0], "友谊县新镇乡人民政府2021年政府信息公开工作年度报告", "2022-03-18"),
        (PAGES["002_4ddc41b1f223583e"][0], "胡集乡人民政府2021年政府信息公开工作年度报告", "2022-01-21"),
        (HUAIAN_PAGE[0], HUAIAN_TITLE, HUAIAN_PAGE[1]),
    ]
    write(site / "xxgk" / "ndbg" / "index.html",
          list_page(site_name=NAME, column_name=COLUMN, items=items, home_href="../../index.html"))

    farm["list_pages"] += ["/guarded/", COL + "index.html"]
    note = "behind the JavaScript cookie challenge (412 until nb_guard is set)"
    farm["documents"] += [
        {"path": COL + PAGES["000_26e4c39d6db4dceb"][0], "kind": "page",
         "example": "000_26e4c39d6db4dceb", "portal": "demo-guarded", "note": note},
        {"path": COL + PAGES["002_4ddc41b1f223583e"][0], "kind": "page",
         "example": "002_4ddc41b1f223583e", "portal": "demo-guarded", "note": note},
        {"path": COL + HUAIAN_PAGE[0], "kind": "page", "example": None,
         "portal": "demo-guarded", "note": "the report is the attachment"},
        {"path": COL + pdf_rel, "kind": "attachment", "example": "real_huaian_2024",
         "portal": "demo-guarded", "content_type": "application/octet-stream"},
    ]
