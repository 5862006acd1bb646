"""The Hanweb (大汉 jcms/jpaas) family: datastore records, jpage configs, dataproxy.jsp calls,
and the farm's Hanweb site answering them over HTTP."""
from __future__ import annotations

import http.client
import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from scrapy.http import HtmlResponse, TextResponse, XmlResponse

from crawler.farm.server import load_config, start_farm
from spiders.families import Entry, hanweb

EXAMPLES = Path(__file__).resolve().parent / "examples"
SITES = Path(__file__).resolve().parents[1] / "crawler" / "farm" / "sites"
COL = "http://www.xx.gov.cn/col/col1234/index.html"


def rec(n: int, title: str | None = None, date: str = "2024-01-05") -> str:
    title = title or f"某县第{n}号2023年政府信息公开工作年度报告"
    return (f"<record><![CDATA[<li><a href='/art/2024/1/5/art_1234_{n}.html' title='{title}' "
            f"target='_blank'>{title[:8]}...</a><span>{date}</span></li>]]></record>")


def datastore(unit: str, records: list[str], nextgroup: str = "") -> str:
    ng = f"<nextgroup><![CDATA[{nextgroup}]]></nextgroup>" if nextgroup else ""
    return (f'<div id="{unit}"><script type="text/xml"><datastore>{ng}<recordset>'
            + "\n".join(records) + "</recordset></datastore></script></div>")


def page(body: str, url: str = COL) -> HtmlResponse:
    return HtmlResponse(url, body=f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>"
                        .encode("utf-8"), encoding="utf-8")


INLINE = ("<script>$(function(){$('#49468').jpage({themeName:'default',showMode:'full',"
          "totalRecord:1418,openCookies:false,dataBefore:'',dataStore:InitData49468,dataAfter:'',"
          "groupSize:3,proxyUrl:'/module/jslib/jquery/jpage/dataproxy.jsp',perPage:25,"
          "barPosition:'bottom',ajaxParam:{col:1,appid:'1',webid:60,path:'/',columnid:30067,"
          "unitid:'49468',webname:'南通市政府采购网',permissiontype:0}});});</script>")
PARAM_VAR = ("<script>var param_5102 = {col:1,appid:'1',webid:'3',path:'/',columnid:1234,"
             "sourceContentType:1,unitid:'5102',webname:'示范县',permissiontype:0};"
             "$('#5102').jpage({totalRecord:46,perPage:15,groupSize:2,ajaxParam:param_5102});</script>")
NEXTGROUP = ('<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=73&path=/&columnid=103585'
             '&unitid=764752&webname=山东&permissiontype=0"></a>')


# --- detect --------------------------------------------------------------------------------

def test_detect_datastore_and_jpage_pages():
    assert hanweb.detect(page(datastore("5102", [rec(1)])))
    assert hanweb.detect(page("<ul id='list'></ul>" + INLINE, "http://x.gov.cn/zfcg/list.html"))
    assert hanweb.detect(page("<script src='/module/web/jpage/dataproxy.jsp?columnid=1'></script>"))


def test_detect_rejects_trs_and_plain_pages():
    trs = page('<ul><li><a href="./t2024_1.html">2023年政府信息公开工作年度报告</a></li></ul>'
               '<script>createPageHTML(5, 0, "index", "html");</script>',
               "http://x.gov.cn/zwgk/ndbg/index.html")
    assert not hanweb.detect(trs)
    assert not hanweb.detect(page('<a href="/art/2024/1/5/art_1_2.html">x</a>'))  # /col/ URL, no pager
    assert hanweb.more(trs, 10) == [] and hanweb.entries(trs) == []


# --- entries -------------------------------------------------------------------------------

def test_entries_from_the_datastore_block():
    plain = ("<record>&lt;li&gt;&lt;a href=&quot;../../art/2019/3/1/art_1234_9.html&quot;&gt;"
             "某镇2018年政府信息公开工作年度报告&lt;/a&gt;[2019-3-1]&lt;/li&gt;</record>")
    resp = page(datastore("5102", [rec(1, date="2024-01-05"), rec(2, "关于开展检查的通知", "2023-12-30"),
                                   plain], NEXTGROUP))
    got = hanweb.entries(resp)
    assert got[0] == Entry("http://www.xx.gov.cn/art/2024/1/5/art_1234_1.html",
                           "某县第1号2023年政府信息公开工作年度报告", "2024-01-05")  # title beats "..."
    assert got[1].text == "关于开展检查的通知" and got[1].date == "2023-12-30"
    assert got[2] == Entry("http://www.xx.gov.cn/art/2019/3/1/art_1234_9.html",
                           "某镇2018年政府信息公开工作年度报告", "2019-03-01")
    assert len(got) == 3 and not any("/module/" in e.url for e in got)  # nextgroup is no entry


# --- more ----------------------------------------------------------------------------------

def windows(fetches) -> list[tuple[int, int, int]]:
    out = []
    for f in fetches:
        q = {k: int(v[0]) for k, v in parse_qs(urlsplit(f.url).query).items()}
        out.append((q["startrecord"], q["endrecord"], q["perpage"]))
    return out


def test_more_asks_for_the_records_after_the_page_one_group_per_call():
    resp = page(datastore("49468", [rec(n) for n in range(1, 26)]) + INLINE)
    fetches = hanweb.more(resp, 10)
    assert windows(fetches) == [(26 + 75 * i, 100 + 75 * i, 25) for i in range(10)]  # limit 10
    assert windows(hanweb.more(resp, 100))[-1] == (1376, 1450, 25)  # groupSize 3 * perPage 25, to 1418
    f = fetches[0]
    assert f.kind == "api" and f.method == "POST"
    assert f.url.startswith("http://www.xx.gov.cn/module/jslib/jquery/jpage/dataproxy.jsp?")
    assert f.formdata == {"col": "1", "appid": "1", "webid": "60", "path": "/", "columnid": "30067",
                          "unitid": "49468", "webname": "南通市政府采购网", "permissiontype": "0"}
    assert windows(hanweb.more(resp, 1)) == [(26, 100, 25)]
    assert hanweb.more(resp, 0) == []


def test_more_with_a_param_variable_and_the_default_proxy():
    resp = page(datastore("5102", [rec(n) for n in range(1, 16)]) + PARAM_VAR)
    fetches = hanweb.more(resp, 10)
    assert windows(fetches) == [(16, 45, 15), (46, 75, 15)]
    assert urlsplit(fetches[0].url).path == "/module/web/jpage/dataproxy.jsp"
    assert fetches[0].formdata["columnid"] == "1234" and fetches[0].formdata["webid"] == "3"
    assert fetches[1].state["base"] == COL


def test_more_from_nextgroup_alone_chains_through_read():
    """No jpage config, no total: the nextgroup link gives proxy and params; one group is
    asked for, and its answer's <totalrecord> schedules the rest (within the limit)."""
    resp = page(datastore("764752", [rec(n) for n in range(1, 16)], NEXTGROUP))
    (first,) = hanweb.more(resp, 3)
    assert windows([first]) == [(16, 60, 15)] and first.state["chain"]
    assert first.formdata == {"webid": "73", "path": "/", "columnid": "103585", "unitid": "764752",
                              "webname": "山东", "permissiontype": "0"}
    answer = XmlResponse(first.url, body=("<?xml version='1.0' encoding='UTF-8'?><datastore>"
                                          "<totalrecord>200</totalrecord><recordset>"
                                          + "".join(rec(n) for n in range(16, 61))
                                          + "</recordset></datastore>").encode("utf-8"))
    found, further = hanweb.read(answer, first.state)
    assert len(found) == 45 and windows(further) == [(61, 105, 15), (106, 150, 15)]  # limit 3 in all
    assert further[0].formdata == first.formdata and not further[0].state.get("chain")
    assert hanweb.read(answer, further[0].state)[1] == []


def test_more_per_block_and_nothing_without_a_column():
    two = page(datastore("49468", [rec(1)]) + INLINE + datastore("5102", [rec(2)]) + PARAM_VAR)
    cols = [f.formdata["columnid"] for f in hanweb.more(two, 100)]
    assert cols.count("30067") == 19 and cols.count("1234") == 2  # 2..1418 by 75, 2..46 by 30
    assert len(hanweb.more(two, 5)) == 5
    assert hanweb.more(page(datastore("9", [rec(1)])), 10) == []  # no columnid anywhere
    short = page(datastore("5102", [rec(n) for n in range(1, 47)]) + PARAM_VAR)  # all 46 on the page
    assert hanweb.more(short, 10) == []


# --- read ----------------------------------------------------------------------------------

def answer_xml(encoding: str) -> bytes:
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n<datastore>\n<totalrecord>46</totalrecord>'
            "<recordset>\n" + rec(16, "示范县财政局2022年政府信息公开工作年度报告", "2023-01-16")
            + "\n" + rec(17, "关于印发工作要点的通知", "2023-01-10")
            + "\n</recordset></datastore>").encode(encoding)


@pytest.mark.parametrize("encoding", ["UTF-8", "GBK"])
def test_read_a_dataproxy_answer(encoding):
    url = "http://www.xx.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=16&endrecord=45&perpage=15"
    body = answer_xml(encoding)
    if encoding == "GBK":
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    for resp in (XmlResponse(url, body=body), TextResponse(url, body=body)):
        found, further = hanweb.read(resp, {"base": COL})
        assert further == []
        assert found == [Entry("http://www.xx.gov.cn/art/2024/1/5/art_1234_16.html",
                               "示范县财政局2022年政府信息公开工作年度报告", "2023-01-16"),
                         Entry("http://www.xx.gov.cn/art/2024/1/5/art_1234_17.html",
                               "关于印发工作要点的通知", "2023-01-10")]


def test_read_an_empty_answer():
    resp = XmlResponse("http://x/dataproxy.jsp", body=b"<datastore><totalrecord>0</totalrecord>"
                                                      b"<recordset></recordset></datastore>")
    assert hanweb.read(resp, {"chain": True, "start": 1, "window": 45, "perpage": 15, "limit": 5}) == ([], [])


# --- the farm's Hanweb site ------------------------------------------------------------------

@pytest.fixture(scope="module")
def farm():
    base, stop = start_farm()
    yield base
    stop()


def fetch(base: str, path: str, method: str = "GET", form: dict | None = None):
    host, port = base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = urlencode(form).encode() if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


PROXY = "/hanweb/module/web/jpage/dataproxy.jsp"
RECORDS = json.loads((SITES / "hanweb" / "_records_1234.json").read_text("utf-8"))


def test_farm_dataproxy_get_and_post(farm):
    status, headers, body = fetch(farm, PROXY + "?startrecord=16&endrecord=30&perpage=15"
                                              "&columnid=1234&unitid=5102&webid=1")
    assert status == 200 and headers["content-type"].startswith("text/xml")
    found, _ = hanweb.read(XmlResponse(farm + PROXY, body=body), {"base": farm + "/hanweb/"})
    assert len(found) == 15 and b"<totalrecord>46</totalrecord>" in body
    assert body.decode("utf-8").count("<record>") == 15
    status, _, posted = fetch(farm, PROXY + "?startrecord=16&endrecord=30&perpage=15", "POST",
                              {"col": "1", "webid": "1", "columnid": "1234", "unitid": "5102",
                               "webname": "示范县人民政府", "permissiontype": "0"})
    assert status == 200 and posted == body
    status, _, tail = fetch(farm, PROXY + "?startrecord=46&endrecord=75&perpage=15", "POST",
                            {"columnid": "1234"})
    assert tail.decode("utf-8").count("<record>") == 1


def test_farm_dataproxy_unknown_column_and_bad_numbers(farm):
    status, _, body = fetch(farm, PROXY + "?startrecord=1&endrecord=45&perpage=15", "POST",
                            {"columnid": "999999", "unitid": "1"})
    assert status == 200 and b"<totalrecord>0</totalrecord>" in body and b"<record>" not in body
    assert fetch(farm, PROXY + "?startrecord=x&endrecord=45&columnid=1234")[0] == 400
    assert fetch(farm, PROXY + "?startrecord=30&endrecord=10&columnid=1234")[0] == 400


def test_farm_downfile_is_an_attachment(farm):
    doc = next(d for d in load_config()["documents"]
               if d["portal"] == "demo-hanweb" and d["kind"] == "attachment")
    assert "downfile.jsp?" in doc["path"]
    status, headers, body = fetch(farm, doc["path"])
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"] == 'attachment; filename="abc123.pdf"'
    assert body == (EXAMPLES / "real_huaian_2024.pdf").read_bytes()
    for bad in ("nosuch.pdf", "../index.html", "..%2F_records_1234.json"):
        assert fetch(farm, "/hanweb/module/download/downfile.jsp?classid=0&filename=" + bad)[0] == 404


def test_family_reads_the_whole_farm_column(farm):
    """Column page over HTTP -> entries + more -> POST each call -> read: all 46 records,
    every report page farm.json lists, and the notices it must not fetch are only listed."""
    url = farm + "/hanweb/col/col1234/index.html"
    status, _, body = fetch(farm, "/hanweb/col/col1234/index.html")
    resp = HtmlResponse(url, body=body)
    assert status == 200 and hanweb.detect(resp)
    found = hanweb.entries(resp)
    fetches = hanweb.more(resp, 10)
    assert len(found) == 15 and windows(fetches) == [(16, 45, 15), (46, 75, 15)]
    for f in fetches:
        path = f.url[len(farm):]
        status, _, answer = fetch(farm, path, f.method, f.formdata)
        got, further = hanweb.read(XmlResponse(f.url, body=answer), f.state)
        assert status == 200 and further == []
        found += got
    urls = [e.url for e in found]
    assert len(urls) == len(set(urls)) == RECORDS["total"] == 46
    config = load_config()
    pages = {farm + d["path"] for d in config["documents"]
             if d["portal"] == "demo-hanweb" and d["kind"] == "page"}
    assert len(pages) == 40 and pages <= set(urls)
    never = {farm + p for p in config["never_fetch"] if p.startswith("/hanweb/art/")}
    assert len(never & set(urls)) == 6
    assert all("年度报告" in e.text for e in found if e.url in pages)
    assert not any("年度报告" in e.text or "年报" in e.text for e in found if e.url in never)
