"""archive.warc_writer: records written with warcio read back with warcio, byte for byte."""
from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.warc_writer import (WarcWriterFile, sha256_to_warc_digest,
                                 warc_digest_to_sha256)

BODY = "<html><body>政府信息公开工作年度报告</body></html>".encode("utf-8")
RESP_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Set-Cookie", "a=1; Path=/"),
    ("Server", "nginx"),
    ("Set-Cookie", "b=2; Path=/"),
    ("Transfer-Encoding", "chunked"),
]


def read_all(path: Path) -> list[dict]:
    out = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            raw = record.raw_stream.read()
            out.append({
                "type": record.rec_type,
                "warc": record.rec_headers,
                "http": record.http_headers,
                "raw": raw,
                "offset": it.get_record_offset(),
                "length": it.get_record_length(),
            })
    return out


@pytest.fixture
def writer(tmp_path):
    w = WarcWriterFile(tmp_path / "warc", "20261123T084400Z-3f2a1c")
    yield w
    w.close()


def write_one(writer, body=BODY, url="http://www.example.gov.cn/xxgk/ndbg/index_2.html?page=2&x=1",
              **kw):
    return writer.write_exchange(
        url=url, method="GET",
        request_headers={b"User-Agent": [b"nianbao-test"], b"Accept-Encoding": [b"identity"],
                         b"Cookie": [b"s=1"]},
        status=200, response_headers=RESP_HEADERS, body=body, **kw)


def test_request_and_response_round_trip(writer, tmp_path):
    ex = write_one(writer)
    writer.close()
    path = tmp_path / "warc" / ex.response.warc_file
    assert path.name == "nianbao-20261123T084400Z-3f2a1c-00000.warc.gz"
    records = read_all(path)
    assert [r["type"] for r in records] == ["warcinfo", "request", "response"]
    info, req, resp = records

    assert info["warc"].protocol == "WARC/1.1"
    assert b"software: nianbao/" in info["raw"]
    assert b"20261123T084400Z-3f2a1c" in info["raw"]

    assert req["http"].protocol == "GET"
    assert req["http"].statusline == "/xxgk/ndbg/index_2.html?page=2&x=1 HTTP/1.1"
    assert req["http"].headers == [("Host", "www.example.gov.cn"),
                                   ("User-Agent", "nianbao-test"),
                                   ("Accept-Encoding", "identity"), ("Cookie", "s=1")]

    assert resp["http"].protocol == "HTTP/1.1"
    assert resp["http"].statusline == "200 OK"
    assert resp["http"].headers == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Server", "nginx"),
        ("Set-Cookie", "b=2; Path=/"),
        ("X-Archive-Orig-Transfer-Encoding", "chunked"),
    ]
    assert resp["raw"] == BODY
    assert resp["warc"].get_header("WARC-Target-URI") == (
        "http://www.example.gov.cn/xxgk/ndbg/index_2.html?page=2&x=1")
    # Linked both ways.
    assert resp["warc"].get_header("WARC-Concurrent-To") == req["warc"].get_header(
        "WARC-Record-ID")
    assert req["warc"].get_header("WARC-Concurrent-To") == ex.response.record_id
    assert resp["warc"].get_header("WARC-Payload-Digest") == sha256_to_warc_digest(
        hashlib.sha256(BODY).hexdigest())

    # What the writer returned is where warcio finds the records.
    assert (ex.request.offset, ex.request.length) == (req["offset"], req["length"])
    assert (ex.response.offset, ex.response.length) == (resp["offset"], resp["length"])
    assert ex.response.record_id == resp["warc"].get_header("WARC-Record-ID")
    assert ex.payload_sha256 == hashlib.sha256(BODY).hexdigest()
    assert ex.response.payload_sha256 == ex.payload_sha256
    assert ex.payload_size == len(BODY)


def test_record_at_offset_reads_alone(writer, tmp_path):
    write_one(writer, body=b"first")
    ex = write_one(writer, body=b"second body", url="http://a.gov.cn/b.pdf")
    with open(tmp_path / "warc" / ex.response.warc_file, "rb") as fh:
        fh.seek(ex.response.offset)
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "response"
        assert record.content_stream().read() == b"second body"


def test_revisit_record(writer, tmp_path):
    first = write_one(writer)
    ex = write_one(writer, url="http://www.example.gov.cn/copy.html",
                   revisit_of=("http://www.example.gov.cn/orig.html", first.response.warc_date))
    writer.close()
    records = read_all(tmp_path / "warc" / ex.response.warc_file)
    revisit = records[-1]
    assert revisit["type"] == ex.response.record_type == "revisit"
    h = revisit["warc"]
    assert h.get_header("WARC-Profile") == (
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest")
    assert h.get_header("WARC-Refers-To-Target-URI") == "http://www.example.gov.cn/orig.html"
    assert h.get_header("WARC-Refers-To-Date") == first.response.warc_date
    assert warc_digest_to_sha256(h.get_header("WARC-Payload-Digest")) == first.payload_sha256
    assert revisit["raw"] == b""  # the bytes are not stored again
    assert revisit["http"].statusline == "200 OK"
    assert ex.payload_sha256 == first.payload_sha256


def test_content_encoding_kept_raw_and_decoded_on_read(writer, tmp_path):
    gz = gzip.compress(BODY)
    ex = writer.write_exchange(url="http://a.gov.cn/gz", method="GET", request_headers=[],
                               status=200, body=gz,
                               response_headers=[("Content-Encoding", "gzip"),
                                                 ("Content-Length", str(len(gz)))])
    assert ex.payload_sha256 == hashlib.sha256(gz).hexdigest()
    with open(tmp_path / "warc" / ex.response.warc_file, "rb") as fh:
        fh.seek(ex.response.offset)
        record = next(iter(ArchiveIterator(fh)))
        assert record.http_headers.get_header("Content-Encoding") == "gzip"
        assert record.http_headers.get_header("Content-Length") == str(len(gz))
        assert record.content_stream().read() == BODY


def test_rendered_body_does_not_claim_encoding_or_wrong_length(writer, tmp_path):
    ex = writer.write_exchange(url="http://a.gov.cn/r", method="GET", request_headers=[],
                               status=200, body=BODY, decoded_body=True,
                               response_headers=[("Content-Encoding", "gzip"),
                                                 ("Content-Length", "12")])
    with open(tmp_path / "warc" / ex.response.warc_file, "rb") as fh:
        fh.seek(ex.response.offset)
        record = next(iter(ArchiveIterator(fh)))
        assert record.http_headers.headers == [("X-Archive-Orig-Content-Encoding", "gzip"),
                                               ("X-Archive-Orig-Content-Length", "12")]
        assert record.content_stream().read() == BODY


def test_every_record_is_flushed(writer, tmp_path):
    ex = write_one(writer)
    # Not closed: another reader already sees complete records.
    records = read_all(tmp_path / "warc" / ex.response.warc_file)
    assert [r["type"] for r in records] == ["warcinfo", "request", "response"]
    assert records[-1]["raw"] == BODY


def test_rotation_starts_new_files_with_warcinfo(tmp_path):
    w = WarcWriterFile(tmp_path / "warc", "RUN", max_size=2000)
    exchanges = [write_one(w, body=bytes([65 + i]) * 3000) for i in range(4)]
    w.close()
    names = sorted(p.name for p in (tmp_path / "warc").iterdir())
    assert len(names) >= 2
    assert names[:2] == ["nianbao-RUN-00000.warc.gz", "nianbao-RUN-00001.warc.gz"]
    for name in names:
        records = read_all(tmp_path / "warc" / name)
        assert records[0]["type"] == "warcinfo"
    # A request and its response never straddle two files.
    for ex in exchanges:
        assert ex.request.warc_file == ex.response.warc_file


def test_existing_file_is_never_overwritten(tmp_path):
    (tmp_path / "warc").mkdir()
    old = tmp_path / "warc" / "nianbao-RUN-00000.warc.gz"
    old.write_bytes(b"keep me")
    with WarcWriterFile(tmp_path / "warc", "RUN") as w:
        ex = write_one(w)
    assert old.read_bytes() == b"keep me"
    assert ex.response.warc_file == "nianbao-RUN-00001.warc.gz"


def test_warcio_check_passes(writer, tmp_path):
    first = write_one(writer)
    write_one(writer, url="http://a.gov.cn/again",
              revisit_of=("http://a.gov.cn/x", first.response.warc_date))
    writer.close()
    warcio = Path(sys.executable).parent / "warcio"
    result = subprocess.run([str(warcio), "check", "-v", *writer.files],
                            cwd=tmp_path / "warc", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("digest pass") == 4  # warcinfo, request, response, request


def test_digest_helpers_round_trip():
    hexd = hashlib.sha256(b"x").hexdigest()
    assert warc_digest_to_sha256(sha256_to_warc_digest(hexd)) == hexd
    assert warc_digest_to_sha256("sha1:ABC") is None


def test_rendered_page_gets_a_conversion_record_referring_to_its_response(writer, tmp_path):
    from archive.warc_writer import Rendered

    dom = "<html><body><a href=r.html>2023年报</a></body></html>".encode("gbk")
    ex = write_one(writer, decoded_body=True, ip_address="10.0.0.7",
                   rendered=Rendered(dom, "text/html; charset=gbk", "http://a.gov.cn/l#x"))
    records = read_all(tmp_path / "warc" / ex.response.warc_file)
    assert [r["type"] for r in records] == ["warcinfo", "request", "response", "conversion"]
    resp, conv = records[2], records[3]
    assert resp["raw"] == BODY and conv["raw"] == dom  # the server's bytes, then the DOM
    assert resp["warc"].get_header("WARC-IP-Address") == "10.0.0.7"
    assert conv["warc"].get_header("WARC-Refers-To") == ex.response.record_id
    assert conv["warc"].get_header("WARC-Target-URI") == "http://a.gov.cn/l#x"
    assert conv["warc"].get_header("Content-Type") == "text/html; charset=gbk"
    assert conv["http"] is None
    # right after its response: the reader finds it there
    assert ex.conversion.offset == ex.response.offset + ex.response.length
    assert (ex.conversion.offset, ex.conversion.length) == (conv["offset"], conv["length"])
    assert conv["warc"].get_header("WARC-Warcinfo-ID") == records[0]["warc"].get_header(
        "WARC-Record-ID")


def test_metadata_record_is_json_referring_to_its_record(writer, tmp_path):
    import json

    ex = write_one(writer)
    info = writer.write_metadata("http://a.gov.cn/x", {"nianbao": "capture", "portal": "淮安"},
                                 refers_to=ex.response.record_id,
                                 concurrent_to=ex.response.record_id)
    meta = read_all(tmp_path / "warc" / info.warc_file)[-1]
    assert meta["type"] == info.record_type == "metadata"
    assert meta["warc"].get_header("Content-Type") == "application/json"
    assert meta["warc"].get_header("WARC-Refers-To") == ex.response.record_id
    assert meta["warc"].get_header("WARC-Concurrent-To") == ex.response.record_id
    assert json.loads(meta["raw"]) == {"nianbao": "capture", "portal": "淮安"}


def test_revisit_names_the_record_it_refers_to(writer, tmp_path):
    first = write_one(writer)
    ex = write_one(writer, url="http://a.gov.cn/copy",
                   revisit_of=("http://a.gov.cn/x", first.response.warc_date),
                   revisit_of_id=first.response.record_id)
    revisit = read_all(tmp_path / "warc" / ex.response.warc_file)[-1]
    assert revisit["warc"].get_header("WARC-Refers-To") == first.response.record_id


def test_stored_headers_say_how_a_reader_sees_them(writer):
    from archive.warc_writer import original_headers

    ex = write_one(writer)
    assert original_headers(list(ex.stored_headers)) == RESP_HEADERS
    ex = writer.write_exchange(url="http://a.gov.cn/f", method="GET", request_headers=[],
                               status=200, body=b"x", response_headers=[
                                   ("Content-Disposition", 'attachment; filename="年报.pdf"')])
    assert original_headers(list(ex.stored_headers)) != [
        ("Content-Disposition", 'attachment; filename="年报.pdf"')]  # %-encoded by warcio


def test_warcio_check_passes_with_conversion_and_metadata(writer, tmp_path):
    from archive.warc_writer import Rendered

    ex = write_one(writer, rendered=Rendered(b"<html>dom</html>"))
    writer.write_metadata("urn:nianbao:run:R", {"nianbao": "run"}, refers_to=ex.response.record_id)
    writer.close()
    warcio = Path(sys.executable).parent / "warcio"
    result = subprocess.run([str(warcio), "check", "-v", *writer.files],
                            cwd=tmp_path / "warc", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
