"""portals.yml: the repository's registry loads, and mistakes are reported clearly."""
from __future__ import annotations

import textwrap

import pytest
from pathlib import Path

from spiders.portals import PortalsError, load_portals, select_portals

FARM = "http://127.0.0.1:9999"


def write(tmp_path, body: str):
    path = tmp_path / "portals.yml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


FARM_PORTALS = Path(__file__).resolve().parents[1] / "crawler" / "farm" / "portals.yml"


def test_repository_registry_loads(repo_root):
    portals = load_portals(repo_root / "portals.yml")
    by_name = {p.name: p for p in portals}
    assert all(p.real for p in portals)
    assert by_name["youyi"].start_urls == ["http://www.hljyy.gov.cn/zwgk/zfxxgknb/"]
    assert by_name["youyi"].domains == ["hljyy.gov.cn"]
    assert by_name["pingtan"].start_urls == ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"]
    for name in ("jinfeng", "huaian", "minquan"):
        assert by_name[name].real and by_name[name].region, name


def test_farm_registry_keeps_each_portal_to_its_site():
    portals = load_portals(FARM_PORTALS, FARM)
    names = {p.name for p in portals}
    assert {"demo-county", "demo-gbk", "demo-js", "demo-trap", "demo-hanweb", "demo-gkmlpt",
            "demo-guarded", "demo-township"} <= names
    for p in portals:
        assert not p.real and p.allow, p.name  # one host for every site: allow keeps them apart
        assert all(u.startswith(FARM + "/") for u in p.start_urls + p.allow), p.name
        assert any(u.startswith(a) for u in p.start_urls for a in p.allow), p.name
    by_name = {p.name: p for p in portals}
    assert by_name["demo-js"].render == "auto" and by_name["demo-js"].wait_for


def test_farm_entries_wait_for_a_farm():
    portals = load_portals(FARM_PORTALS)  # no farm running
    assert select_portals(portals) == []
    with pytest.raises(PortalsError, match="nianbao demo"):
        select_portals(portals, ["demo-county"])
    assert [p.name for p in select_portals(load_portals(FARM_PORTALS, FARM), ["demo-county"],
                                           FARM)] == ["demo-county"]


def test_defaults(tmp_path):
    path = write(tmp_path, """
        portals:
          - name: x
            url: http://www.x.gov.cn/
    """)
    (p,) = load_portals(path)
    assert p.start_urls == ["http://www.x.gov.cn/"]
    assert p.allow == [] and p.domains == ["x.gov.cn"]  # the portal's domain, subdomains too
    assert (p.render, p.real, p.max_pages, p.max_list_pages, p.title) == ("auto", True, 300, 50, "x")


def test_extra_domains_and_addresses(tmp_path):
    path = write(tmp_path, """
        portals:
          - name: x
            start_urls: [http://www.x.gov.cn/, http://127.0.0.1:8080/x/]
            domains: [xxgk.city.gov.cn]
    """)
    (p,) = load_portals(path)
    assert p.domains == ["127.0.0.1:8080", "x.gov.cn", "xxgk.city.gov.cn"]


@pytest.mark.parametrize("entry, message", [
    ("{name: x, start_urls: [http://a.gov.cn/], alow: [http://a.gov.cn/]}", r"portal #1 \(x\): unknown key\(s\) alow"),
    ("{name: x}", r"portal #1 \(x\): 'url' \(or 'start_urls'\) is missing"),
    ("{name: x, start_urls: []}", r"'url' \(or 'start_urls'\) is missing or empty"),
    ("{name: x, url: http://a.gov.cn/, start_urls: [http://a.gov.cn/]}", r"not both"),
    ("{name: x, url: http://a.gov.cn/, domains: b.gov.cn}", r"'domains' must be a list"),
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
