"""archive.reader and archive.verify: captures read back; damage reported, never raised."""
from __future__ import annotations

import gzip
import zlib

import pytest
from click.testing import CliRunner

from archive.catalog import Catalog, archive_exchange
from archive.reader import ArchiveReadError, read_capture
from archive.verify import verify_archive
from archive.warc_writer import WarcWriterFile
from crawler.cli import cli

HTML = "<html><head><meta charset='utf-8'></head><body>2023年度报告</body></html>".encode()
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def archive(data_dir):
    """A small archive: an html page (gzip on the wire), a pdf, a revisit of the pdf."""
    cat = Catalog(data_dir / "archive.db")
    run = cat.start_run(["demo"], {})
    writer = WarcWriterFile(data_dir / "warc", run)
    ids = {
        "html": archive_exchange(cat, writer, run_id=run, url="http://a.gov.cn/ndbg/2023.html",
                                 status=200, body=gzip.compress(HTML),
                                 response_headers=[("Content-Type", "text/html; charset=utf-8"),
                                                   ("Content-Encoding", "gzip")]),
        "pdf": archive_exchange(cat, writer, run_id=run, url="http://a.gov.cn/files/2023.pdf",
                                status=200, body=PDF,
                                response_headers=[("Content-Type", "application/pdf")]),
        "again": archive_exchange(cat, writer, run_id=run, url="http://a.gov.cn/files/copy.pdf",
                                  status=200, body=PDF,
                                  response_headers=[("Content-Type", "application/pdf"),
                                                    ("X-Copy", "1")]),
    }
    yield {"dir": data_dir, "catalog": cat, "writer": writer, "run": run, "ids": ids}
    writer.close()
    cat.close()


def warc_path(a, capture_id):
    return a["dir"] / "warc" / a["catalog"].get_capture(capture_id)["warc_file"]


def test_read_capture_by_id_decodes_body(archive):
    cap = read_capture(archive["dir"], archive["ids"]["html"])
    assert cap.status == 200
    assert cap.body == HTML  # Content-Encoding undone
    assert ("Content-Encoding", "gzip") in cap.headers
    assert cap.content_type == "text/html; charset=utf-8"
    assert cap.url == "http://a.gov.cn/ndbg/2023.html"
    assert cap.record_type == "response"


def test_read_capture_by_row(archive):
    row = archive["catalog"].get_capture(archive["ids"]["pdf"])
    cap = read_capture(str(archive["dir"]), row)
    assert cap.body == PDF and cap.content_type == "application/pdf"


def test_revisit_follows_refers_to(archive):
    cap = read_capture(archive["dir"], archive["ids"]["again"])
    assert cap.record_type == "revisit"
    assert cap.body == PDF
    assert ("X-Copy", "1") in cap.headers  # the revisit's own headers
    assert cap.url == "http://a.gov.cn/files/copy.pdf"


def test_missing_file_raises_clear_error(archive):
    path = warc_path(archive, archive["ids"]["pdf"])
    archive["writer"].close()
    path.unlink()
    with pytest.raises(ArchiveReadError, match="WARC file missing"):
        read_capture(archive["dir"], archive["ids"]["pdf"])


def test_unknown_capture_id(archive):
    with pytest.raises(ArchiveReadError, match="not in the catalog"):
        read_capture(archive["dir"], 999)


def test_bad_offset_raises(archive):
    row = dict(archive["catalog"].get_capture(archive["ids"]["pdf"]), warc_offset=10)
    with pytest.raises(ArchiveReadError):
        read_capture(archive["dir"], row)


def test_truncated_record_raises(archive):
    path = warc_path(archive, archive["ids"]["pdf"])
    row = archive["catalog"].get_capture(archive["ids"]["pdf"])
    archive["writer"].close()
    data = path.read_bytes()
    path.write_bytes(data[:row["warc_offset"] + row["warc_length"] // 2])
    with pytest.raises(ArchiveReadError):
        read_capture(archive["dir"], row)


def test_verify_clean_archive(archive):
    archive["writer"].close()
    result = verify_archive(archive["dir"])
    assert result.ok, result.describe()
    assert result.files == 1 and result.captures == result.captures_ok == 3
    assert result.records == 7  # warcinfo + 3 x (request, response|revisit)
    assert result.describe().endswith("OK")


def test_verify_empty_dir_is_ok(tmp_path):
    assert verify_archive(tmp_path).ok


def crash_mid_record(archive, cut: str):
    """Write one more exchange to WARC only (the crash came before the catalog row), then
    cut the file inside that last response record."""
    w = archive["writer"]
    ex = w.write_exchange(url="http://a.gov.cn/big.pdf", method="GET", request_headers=[],
                          status=200, response_headers=[], body=PDF * 3)
    w.close()
    path = archive["dir"] / "warc" / ex.response.warc_file
    data = path.read_bytes()
    start, length = ex.response.offset, ex.response.length
    keep = {"header": start + 10, "middle": start + length // 2, "trailer": start + length - 4}
    path.write_bytes(data[:keep[cut]])
    return path


@pytest.mark.parametrize("cut", ["header", "middle", "trailer"])
def test_verify_reports_half_written_last_record(archive, cut):
    path = crash_mid_record(archive, cut)
    result = verify_archive(archive["dir"])
    assert not result.ok
    assert any(path.name in p for p in result.problems), result.problems
    # Every catalogued capture before the crash is still fine.
    assert result.captures_ok == 3, result.describe()


def test_verify_reports_tampered_payload(archive):
    pdf_id = archive["ids"]["pdf"]
    row = archive["catalog"].get_capture(pdf_id)
    archive["writer"].close()
    path = warc_path(archive, pdf_id)
    data = path.read_bytes()
    start, end = row["warc_offset"], row["warc_offset"] + row["warc_length"]
    member = gzip.decompress(data[start:end])
    tampered = member.replace(b"%%EOF", b"%%EOX")
    assert tampered != member
    comp = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    new_member = comp.compress(tampered) + comp.flush()
    # Records after it may shift if the new member's length differs: only the pdf is asserted.
    path.write_bytes(data[:start] + new_member + data[end:])
    result = verify_archive(archive["dir"])
    assert not result.ok
    text = result.describe()
    assert f"capture {pdf_id}" in text and "does not match" in text, text
    assert "digest" in text  # warcio's own WARC-Payload-Digest check fails too


def test_verify_reports_catalog_digest_mismatch(archive):
    archive["writer"].close()
    cat = archive["catalog"]
    cat.conn.execute("UPDATE captures SET payload_sha256 = ? WHERE id = ?",
                     ("0" * 64, archive["ids"]["html"]))
    cat.conn.commit()
    result = verify_archive(archive["dir"])
    assert not result.ok
    assert any(f"capture {archive['ids']['html']}" in p and "does not match" in p
               for p in result.problems)


def test_verify_reports_uncatalogued_record_and_missing_file(archive):
    w = archive["writer"]
    ex = w.write_exchange(url="http://a.gov.cn/orphan", method="GET", request_headers=[],
                          status=200, response_headers=[], body=b"orphan")
    w.close()
    cat = archive["catalog"]
    cat.conn.execute("UPDATE captures SET warc_file = 'gone.warc.gz' WHERE id = ?",
                     (archive["ids"]["pdf"],))
    cat.conn.commit()
    result = verify_archive(archive["dir"])
    pdf_offset = cat.get_capture(archive["ids"]["pdf"])["warc_offset"]
    assert result.uncatalogued == 2  # the orphan, and the pdf record its row no longer names
    for offset in (ex.response.offset, pdf_offset):
        assert any(f".warc.gz:{offset}: response record not in the catalog" in p
                   for p in result.problems), result.problems
    assert any("gone.warc.gz" in p and "missing" in p for p in result.problems)


def test_verify_cli_exit_codes(archive):
    archive["writer"].close()
    ok = CliRunner().invoke(cli, ["verify", "--data", str(archive["dir"])])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    crash_path = archive["dir"] / "warc" / archive["catalog"].get_capture(
        archive["ids"]["html"])["warc_file"]
    crash_path.write_bytes(crash_path.read_bytes()[:-7])
    bad = CliRunner().invoke(cli, ["verify", "--data", str(archive["dir"])])
    assert bad.exit_code == 1
    assert crash_path.name in bad.output


def test_offset_of_another_record_raises(archive):
    """A catalog row pointing at someone else's record (a wrong offset that lands on a valid
    record) is an error, not that record's bytes."""
    ids = sorted(archive["ids"].values())
    row = dict(archive["catalog"].get_capture(ids[0]))
    other = archive["catalog"].get_capture(ids[1])
    row["warc_offset"] = other["warc_offset"]
    with pytest.raises(ArchiveReadError, match="not capture"):
        read_capture(archive["dir"], row)
