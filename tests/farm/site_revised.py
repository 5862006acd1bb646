"""revised/: a county column whose reports change between two crawls (served by
crawler/farm/apps/revised.py from `edition1/` or `edition2/`, as the farm's state says).

Edition 1 lists three reports: an HTML page from example 004, a DOCX attachment from example
000 and an HTML page from example 002. In edition 2 the list is the same, but the 004 page
has been replaced under the same URL by a corrected version (two more requests granted to
natural persons, the totals with them), the DOCX has been taken down (404), and the 002
page now redirects (302) to the list, as a portal does with a deleted article.
"""
from __future__ import annotations

import json
from pathlib import Path

from build_sites import layout_tables, list_page, load_example, narrative_from_text, \
    report_page, write

PORTAL = "demo-revised"
NAME = "示范区人民政府"
ROOT = "/revised/"
LIST = ROOT + "zfxxgknb/"
REPLACED = LIST + "content/post_2020.html"
REMOVED = LIST + "files/2021nb.docx"
REDIRECTED = LIST + "content/post_2021.html"
# what edition 2 changes in the replaced report (flat path -> new value)
CORRECTIONS = {
    "applications.new_received.natural_person": 3, "applications.new_received.total": 3,
    "applications.granted.natural_person": 2, "applications.granted.total": 2,
    "applications.results_total.natural_person": 3, "applications.results_total.total": 3,
}


def _page(example: str, values: dict | None = None) -> str:
    return report_page(example, site_name=NAME, column_name="政府信息公开年报", column_href=LIST,
                       home_href=ROOT, pub_date="2021-01-25", values=values)


def _first(path: str) -> str:
    return ROOT + "edition1/" + path.removeprefix(ROOT)


def build(sites_dir: Path, farm: dict) -> None:
    from render_docx import render_docx

    site = Path(sites_dir) / "revised"
    items = [(REPLACED, "良田镇2020年政府信息公开工作年度报告", "2021-01-25"),
             (REMOVED, "新镇乡2021年政府信息公开工作年度报告", "2022-03-15"),
             (REDIRECTED, "胡集乡2021年政府信息公开工作年度报告", "2022-01-20")]
    column = list_page(site_name=NAME, column_name="政府信息公开年报", items=items, home_href=ROOT)
    home = list_page(site_name=NAME, column_name="首页",
                     items=[(LIST, "政府信息公开年报", "")], home_href=ROOT)
    expected, _ = load_example("004_1583c84d3300f656")
    corrected = {**expected["values"], **CORRECTIONS}
    for edition, replaced in ((1, _page("004_1583c84d3300f656")),
                              (2, _page("004_1583c84d3300f656", corrected))):
        base = site / f"edition{edition}"
        write(base / "index.html", home)
        write(base / LIST.removeprefix(ROOT) / "index.html", column)
        write(base / REPLACED.removeprefix(ROOT), replaced)
        redirects = {REDIRECTED: LIST} if edition == 2 else {}
        write(base / "_redirects.json", json.dumps(redirects, ensure_ascii=False) + "\n")
    first = site / "edition1"
    write(first / REDIRECTED.removeprefix(ROOT), _page("002_4ddc41b1f223583e"))
    zero, text = load_example("000_26e4c39d6db4dceb")
    title, body = narrative_from_text(text)
    docx = render_docx(title=title, body=body,
                       tables=layout_tables(zero["values"], zero["meta"]["template"]))
    (first / REMOVED.removeprefix(ROOT)).parent.mkdir(parents=True, exist_ok=True)
    (first / REMOVED.removeprefix(ROOT)).write_bytes(docx)

    farm["list_pages"] += [ROOT, LIST]
    # "file": where the first edition's bytes lie (the server maps the path to it)
    farm["documents"] += [
        {"path": REPLACED, "file": _first(REPLACED), "kind": "page",
         "example": "004_1583c84d3300f656", "portal": PORTAL,
         "note": "replaced in edition 2 by a corrected version (revised.CORRECTIONS)"},
        {"path": REMOVED, "file": _first(REMOVED), "kind": "attachment",
         "example": "000_26e4c39d6db4dceb",
         "portal": PORTAL, "content_type": "application/octet-stream",
         "note": "taken down in edition 2 (404)"},
        {"path": REDIRECTED, "file": _first(REDIRECTED), "kind": "page",
         "example": "002_4ddc41b1f223583e",
         "portal": PORTAL, "note": "redirects to the list in edition 2 (302)"},
    ]
    farm["revised"] = {"replaced": REPLACED, "removed": REMOVED, "redirected": REDIRECTED,
                       "corrections": CORRECTIONS}
