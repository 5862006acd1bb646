"""Generate the portal farm's static sites under tests/farm/sites/ (run once, output committed).

    python tests/farm/build_sites.py [OUT_DIR]

Writes one folder per site family plus `sites/farm.json`, which tells the server what to do
beyond serving files (redirects, the flaky URL, slow and oversized responses, the pagination
trap, charsets) and lists what a crawl must find (`documents`, `errors`, `never_fetch`,
`list_pages`). Tests read farm.json rather than repeating paths.

Sites:
- county/  TRS-style county portal (UTF-8): column zfxxgknb/ with index.html + index_1.html
  paginated by `createPageHTML(2, n, "index", "html")`; report pages as HTML tables built from
  tests/examples 000 and 004, the real 平潭 page (behind a 301), and a page whose report is
  the real 淮安 PDF attachment (served as application/octet-stream); a 404 link, a flaky
  report (503 once), and a draft folder robots.txt forbids.
- gbk/     a county portal in GBK (declared gb2312), home page -> column, "下一页" pagination,
  the 002 report, a slow list page and an oversized attachment.
- jslist/  a list built by JavaScript from inline data (needs the browser), linking the 004
  report rendered as Word pastes it (numbers split over spans).
- trap/    (crawler/farm/apps/trap.py, no files) endless pagination: index_<n>.html for every n.
"""
from __future__ import annotations

import html
from importlib import import_module
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLES = REPO / "tests" / "examples"
SITES = REPO / "crawler" / "farm" / "sites"

# Sites with a module of their own (tests/farm/site_<name>.py, each `build(sites_dir, farm)`)
SITE_MODULES: list[str] = ["site_guarded", "site_gkmlpt", "site_hanweb", "site_township",
                           "site_revised"]

sys.path.insert(0, str(HERE))
from report_layout import layout_tables, narrative_from_text, render_html  # noqa: E402

TRS_PAGER_JS = """function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
  if(_nPageCount == null || _nPageCount<=1){ return; }
  var nCurrIndex = _nCurrIndex || 0;
  var out = "";
  if(nCurrIndex == 0){ out += "<span>首页</span> <span>上一页</span> "; }
  else {
    out += "<a href=\\"" + _sPageName + "." + _sPageExt + "\\">首页</a> ";
    out += "<a href=\\"" + (nCurrIndex == 1 ? _sPageName + "." + _sPageExt
                           : _sPageName + "_" + (nCurrIndex-1) + "." + _sPageExt) + "\\">上一页</a> ";
  }
  if(nCurrIndex == _nPageCount-1){ out += "<span>下一页</span> <span>尾页</span>"; }
  else {
    out += "<a href=\\"" + _sPageName + "_" + (nCurrIndex+1) + "." + _sPageExt + "\\">下一页</a> ";
    out += "<a href=\\"" + _sPageName + "_" + (_nPageCount-1) + "." + _sPageExt + "\\">尾页</a>";
  }
  document.write(out);
}"""


def write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def load_example(name: str) -> tuple[dict, str]:
    expected = json.loads((EXAMPLES / f"{name}.expected.json").read_text("utf-8"))
    return expected, (EXAMPLES / f"{name}.txt").read_text("utf-8")


def report_page(example: str, *, site_name: str, column_name: str, column_href: str,
                home_href: str, pub_date: str, charset: str = "utf-8", word_pasted: bool = False,
                labels: dict | None = None, values: dict | None = None) -> str:
    """The example's report as a portal's article page; `values` replaces its table values
    (a corrected edition of the same report)."""
    expected, text = load_example(example)
    title, body = narrative_from_text(text)
    tables = layout_tables(expected["values"] if values is None else values,
                           expected["meta"]["template"], labels=labels)
    return render_html(title=title, body=body, tables=tables, site_name=site_name,
                       column_name=column_name, column_href=column_href, home_href=home_href,
                       pub_date=pub_date, charset=charset, word_pasted=word_pasted)


def list_page(*, site_name: str, column_name: str, items: list[tuple[str, str, str]],
              charset: str = "utf-8", pager_html: str = "", home_href: str = "/",
              head_script: str = "") -> str:
    """A column list page: items are (href, title, date); long titles are cut, as portals do,
    with the full title kept in the title attribute."""
    lis = []
    for href, title, date in items:
        shown = title if len(title) <= 24 else title[:22] + "..."
        lis.append(f'<li><a href="{html.escape(href)}" title="{html.escape(title)}" '
                   f'target="_blank">{html.escape(shown)}</a><span>{date}</span></li>')
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<meta name="ColumnName" content="{html.escape(column_name)}" />
<title>{html.escape(column_name)}_{html.escape(site_name)}</title>
{head_script}
</head>
<body>
<div class="header"><a href="{home_href}">{html.escape(site_name)}</a></div>
<div class="nav"><a href="{home_href}">首页</a> &gt; <span>{html.escape(column_name)}</span></div>
<div class="list">
<ul>
{chr(10).join(lis)}
</ul>
</div>
{pager_html}
<div class="footer">主办：{html.escape(site_name)}</div>
</body>
</html>
"""


def trs_pager(total: int, current: int) -> str:
    return (f'<div class="page" id="page_div">\n<script type="text/javascript">\n{TRS_PAGER_JS}\n'
            f'createPageHTML({total}, {current}, "index", "html");\n</script>\n</div>')


def build_county(farm: dict) -> None:
    site = SITES / "county"
    name, column = "示范县人民政府", "政府信息公开年报"
    col = "/county/zfxxgknb/"
    # the home page's 政务公开 menu item leads to a page that is gone
    farm["errors"].append({"path": "/county/zwgk/", "status": 404,
                           "note": "a menu link on the home page to a page that is gone"})
    write(site / "index.html", f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>{name}</title></head>
<body><div class="nav"><a href="./">首页</a> <a href="zwgk/">政务公开</a>
<a href="zfxxgknb/" title="{column}">{column}</a> <a href="xwzx/">新闻中心</a></div>
<p>欢迎访问{name}门户网站（本地演示站点）。</p></body></html>
""")
    pages = {
        "000": ("202203/t20220315_123456.html", "2022-03-15"),
        "004": ("202101/t20210128_110234.html", "2021-01-28"),
    }
    write(site / "zfxxgknb" / pages["000"][0],
          report_page("000_26e4c39d6db4dceb", site_name=name, column_name=column, column_href="../",
                      home_href="../../", pub_date=pages["000"][1],
                      labels={"本年废止件数": "本年度止件数"}))
    write(site / "zfxxgknb" / pages["004"][0],
          report_page("004_1583c84d3300f656", site_name=name, column_name=column, column_href="../",
                      home_href="../../", pub_date=pages["004"][1],
                      labels={"社会公益组织": "社会组织"}))
    # the real 平潭 page, byte for byte, behind a 301 from the URL the list links to, and the
    # real 淮安 PDF as an attachment of a short report page (copied: the farm ships in the
    # package, for `nianbao demo`, and must not read tests/ at run time)
    pdf_name = "P020250120384756129301.pdf"
    copy(EXAMPLES / "real_pingtan_2020.html", site / "zfxxgknb" / "202103" / "t20210305_80595.htm")
    copy(EXAMPLES / "real_huaian_2024.pdf", site / "zfxxgknb" / "202501" / pdf_name)
    huaian_title = "淮安市人民政府2024年政府信息公开工作年度报告"
    write(site / "zfxxgknb" / "202501" / "t20250120_200001.html",
          render_html(title=huaian_title,
                      body=[("p", "现将淮安市人民政府2024年政府信息公开工作年度报告予以公布，全文详见附件。")],
                      tables=[], site_name=name, column_name=column, column_href="../",
                      home_href="../../", pub_date="2025-01-20",
                      attachments=[(f"./{pdf_name}", f"{huaian_title}.pdf")]))
    # a draft robots.txt forbids: it exists, so a crawl that fetched it would show it
    write(site / "zfxxgknb" / "draft" / "t20240101_000001.html",
          "<html><head><meta charset='utf-8'><title>草稿</title></head><body>"
          "2023年政府信息公开工作年度报告（征求意见稿）</body></html>")

    page0 = [
        (f"./{pages['000'][0]}", "友谊县新镇乡人民政府2021年政府信息公开工作年度报告", "2022-03-15"),
        ("./202103/t20210305_080595.html", "平潭综合实验区2020年度政府信息公开工作年度报告", "2021-03-05"),
        (f"./{pages['004'][0]}", "金凤区良田镇人民政府2020年政府信息公开工作年度报告", "2021-01-28"),
    ]
    page1 = [
        ("./202501/t20250120_200001.html", huaian_title, "2025-01-20"),
        ("./draft/t20240101_000001.html", "2023年政府信息公开工作年度报告（征求意见稿）", "2024-01-01"),
        ("./202001/t20200110_999999.html", "某镇人民政府2019年政府信息公开工作年度报告", "2020-01-10"),
    ]
    for i, items in enumerate((page0, page1)):
        write(site / "zfxxgknb" / ("index.html" if i == 0 else f"index_{i}.html"),
              list_page(site_name=name, column_name=column, items=items, home_href="../",
                        pager_html=trs_pager(2, i)))

    farm["redirects"][col + "202103/t20210305_080595.html"] = col + "202103/t20210305_80595.htm"
    farm["flaky"].append(col + pages["000"][0])
    farm["charset"]["county"] = "UTF-8"
    farm["robots_disallow"].append(col + "draft/")
    farm["never_fetch"].append(col + "draft/t20240101_000001.html")
    farm["errors"] += [{"path": col + "202001/t20200110_999999.html", "status": 404}]
    farm["list_pages"] += [col, col + "index.html", col + "index_1.html"]
    farm["documents"] += [
        {"path": col + pages["000"][0], "kind": "page", "example": "000_26e4c39d6db4dceb",
         "portal": "demo-county", "note": "answers 503 once, then 200"},
        {"path": col + pages["004"][0], "kind": "page", "example": "004_1583c84d3300f656",
         "portal": "demo-county"},
        {"path": col + "202103/t20210305_80595.htm", "kind": "page", "example": "real_pingtan_2020",
         "portal": "demo-county", "redirected_from": col + "202103/t20210305_080595.html"},
        {"path": col + "202501/t20250120_200001.html", "kind": "page", "example": None,
         "portal": "demo-county", "note": "the report is the attachment"},
        {"path": col + "202501/" + pdf_name, "kind": "attachment", "example": "real_huaian_2024",
         "portal": "demo-county", "content_type": "application/octet-stream"},
    ]


def build_gbk(farm: dict) -> None:
    site = SITES / "gbk"
    name, column = "民权县人民政府", "政府信息公开年度报告"
    col = "/gbk/zwgk/ndbg/"
    write(site / "index.html", f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>{name}</title></head>
<body><div class="nav"><a href="index.html">首页</a> <a href="zwgk/zfxxgkzn/index.html">政府信息公开指南</a>
<a href="zwgk/ndbg/index.html">政府信息公开年度报告</a> <a href="xwzx/index.html">新闻中心</a></div>
<p>欢迎访问民权网（本地演示站点，GBK 编码）。</p></body></html>
""", "gbk")
    report = "2022/0120/c12345.html"
    write(site / "zwgk" / "ndbg" / report,
          report_page("002_4ddc41b1f223583e", site_name=name, column_name=column,
                      column_href="../../index.html", home_href="../../../../index.html",
                      pub_date="2022-01-20", charset="gb2312"), "gbk")
    write(site / "zwgk" / "ndbg" / "index.html",
          list_page(site_name=name, column_name=column, charset="gb2312", home_href="../../index.html",
                    items=[(report, "胡集乡人民政府2021年政府信息公开工作年度报告", "2022-01-20")],
                    pager_html='<div class="pages"><span>1</span> <a href="index_2.html">2</a> '
                               '<a href="index_2.html">下一页</a></div>'), "gbk")
    write(site / "zwgk" / "ndbg" / "index_2.html",
          list_page(site_name=name, column_name=column, charset="gb2312", home_href="../../index.html",
                    items=[("files/2019nbqw.zip", "民权县2019年政府信息公开工作年度报告（全文打包）.zip",
                            "2020-01-31")],
                    pager_html='<div class="pages"><a href="index.html">上一页</a> '
                               '<a href="index.html">1</a> <span>2</span></div>'), "gbk")
    farm["slow"][col + "index_2.html"] = 1.0
    farm["oversized"][col + "files/2019nbqw.zip"] = 3 * 1024 ** 3
    farm["list_pages"] += ["/gbk/", "/gbk/zwgk/ndbg/index.html", col + "index_2.html"]
    farm["errors"] += [{"path": col + "files/2019nbqw.zip", "status": None,
                        "note": "declares 3 GB: cancelled above DOWNLOAD_MAXSIZE"}]
    farm["documents"] += [
        {"path": col + report, "kind": "page", "example": "002_4ddc41b1f223583e",
         "portal": "demo-gbk", "encoding": "gbk"},
    ]


def build_jslist(farm: dict) -> None:
    site = SITES / "jslist"
    name, column = "金凤区人民政府", "政府信息公开年报"
    col = "/jslist/xxgk/ndbg/"
    write(site / "index.html", f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>{name}</title></head>
<body><div class="nav"><a href="/jslist/">首页</a>
<a href="{col}" title="{column}">{column}</a></div>
<p>欢迎访问{name}门户网站（本地演示站点：年报列表由脚本生成）。</p></body></html>
""")
    report = "202102/t20210201_5001.html"
    write(site / "xxgk" / "ndbg" / report,
          report_page("004_1583c84d3300f656", site_name=name, column_name=column,
                      column_href="../", home_href="../../../", pub_date="2021-02-01",
                      word_pasted=True, labels={"社会公益组织": "社会组织"}))
    docs = [{"title": "金凤区良田镇人民政府2020年政府信息公开工作年度报告", "url": f"./{report}",
             "date": "2021-02-01"}]
    script = ("<script>\nvar docs = " + json.dumps(docs, ensure_ascii=False) + """;
document.addEventListener("DOMContentLoaded", function () {
  var ul = document.getElementById("doclist");
  setTimeout(function () {
    docs.forEach(function (d) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = d.url; a.textContent = d.title; a.title = d.title;
      li.appendChild(a); ul.appendChild(li);
    });
  }, 300);
});
</script>""")
    write(site / "xxgk" / "ndbg" / "index.html", f"""<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>{column}_{name}</title>
{script}
</head>
<body><div class="nav"><a href="../../">首页</a> &gt; <span>{column}</span></div>
<div class="list"><ul id="doclist"></ul></div>
<div class="footer">主办：{name}</div></body></html>
""")
    farm["list_pages"] += [col]
    farm["documents"] += [
        {"path": col + report, "kind": "page", "example": "004_1583c84d3300f656",
         "portal": "demo-js", "needs_browser": True, "note": "Word-pasted cells"},
    ]


def main(out: Path | None = None) -> None:
    """Write the sites into `out` (default: crawler/farm/sites, replacing what is there)."""
    global SITES
    SITES = Path(out) if out else REPO / "crawler" / "farm" / "sites"
    if SITES.exists():
        shutil.rmtree(SITES)
    SITES.mkdir(parents=True)
    farm: dict = {"redirects": {}, "flaky": [], "slow": {}, "oversized": {}, "charset": {},
                  "robots_disallow": [], "list_pages": [],
                  "documents": [], "errors": [], "never_fetch": []}
    build_county(farm)
    build_gbk(farm)
    build_jslist(farm)
    for module in SITE_MODULES:
        import_module(module).build(SITES, farm)
    write(SITES / "farm.json", json.dumps(farm, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {sum(1 for p in SITES.rglob('*') if p.is_file())} files under {SITES}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
