"""portals.yml: the repository's registry loads, and mistakes are reported clearly."""
from __future__ import annotations

import textwrap

import pytest

from spiders.portals import PortalsError, load_portals, select_portals

FARM = "http://127.0.0.1:9999"


def write(tmp_path, body: str):
    path = tmp_path / "portals.yml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_repository_registry_loads(repo_root):
    portals = load_portals(repo_root / "portals.yml", FARM)
    by_name = {p.name: p for p in portals}
    demo = [p for p in portals if not p.real]
    assert {"demo-county", "demo-gbk", "demo-js", "demo-trap"} <= {p.name for p in demo}
    for p in demo:
        assert all(u.startswith(FARM + "/") for u in p.start_urls + p.allow), p.name
    assert by_name["youyi"].real and by_name["youyi"].start_urls == [
        "http://www.hljyy.gov.cn/zwgk/zfxxgknb/"]
    assert by_name["pingtan"].start_urls == ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"]
    for name in ("jinfeng", "huaian", "minquan"):
        assert by_name[name].real and by_name[name].region, name
    assert by_name["demo-js"].render == "auto" and by_name["demo-js"].wait_for


def test_farm_entries_wait_for_a_farm(repo_root):
    portals = load_portals(repo_root / "portals.yml")  # no farm running
    runnable = select_portals(portals)
    assert runnable and all(p.real for p in runnable)
    with pytest.raises(PortalsError, match="nianbao demo"):
        select_portals(portals, ["demo-county"])
    assert [p.name for p in select_portals(load_portals(repo_root / "portals.yml", FARM),
                                           ["demo-county"], FARM)] == ["demo-county"]


def test_defaults(tmp_path):
    path = write(tmp_path, """
        portals:
          - name: x
            start_urls: http://www.x.gov.cn/zwgk/zfxxgknb/index.html
    """)
    (p,) = load_portals(path)
    assert p.start_urls == ["http://www.x.gov.cn/zwgk/zfxxgknb/index.html"]
    assert p.allow == ["http://www.x.gov.cn/zwgk/zfxxgknb/"]
    assert (p.render, p.real, p.max_pages, p.title) == ("auto", True, 50, "x")


@pytest.mark.parametrize("entry, message", [
    ("{name: x, start_urls: [http://a.gov.cn/], alow: [http://a.gov.cn/]}", r"portal #1 \(x\): unknown key\(s\) alow"),
    ("{name: x}", r"portal #1 \(x\): 'start_urls' is missing"),
    ("{name: x, start_urls: []}", r"'start_urls' is missing or empty"),
    ("{name: x, start_urls: [ftp://a.gov.cn/]}", r"is not an http\(s\) URL"),
    ("{name: x, start_urls: [http://a.gov.cn/], render: sometimes}", r"'render' must be one of"),
    ("{name: x, start_urls: [http://a.gov.cn/], max_pages: 0}", r"'max_pages' must be a positive integer"),
    ("{name: x, start_urls: [http://a.gov.cn/], link_pattern: '(['}", r"'link_pattern' is not a regular expression"),
    ("{name: x, start_urls: [http://a.gov.cn/], region: {town: a}}", r"'region' takes only"),
    ("{name: X Y, start_urls: [http://a.gov.cn/]}", r"'name' must be lowercase"),
])
def test_invalid_entries(tmp_path, entry, message):
    path = write(tmp_path, f"portals:\n  - {entry}\n")
    with pytest.raises(PortalsError, match=message):
        load_portals(path)


def test_duplicate_names(tmp_path):
    path = write(tmp_path, """
        portals:
          - {name: x, start_urls: [http://a.gov.cn/]}
          - {name: x, start_urls: [http://b.gov.cn/]}
    """)
    with pytest.raises(PortalsError, match="used twice"):
        load_portals(path)


def test_not_a_registry(tmp_path):
    with pytest.raises(PortalsError, match="'portals:' list"):
        load_portals(write(tmp_path, "- name: x\n"))
    with pytest.raises(PortalsError, match="unknown top-level"):
        load_portals(write(tmp_path, "portals: []\nportal: []\n"))


def test_unknown_portal_name(tmp_path):
    path = write(tmp_path, "portals:\n  - {name: x, start_urls: [http://a.gov.cn/]}\n")
    with pytest.raises(PortalsError, match="no portal named 'y'"):
        select_portals(load_portals(path), ["y"])
