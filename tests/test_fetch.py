"""`sna fetch police`: downloads from a local HTTP server on the loopback, never the internet.

The server serves fixture archives built from the bundled Nottingham sample in the two
data.police.uk layouts (the monthly archive: every force, street, outcomes and stop-and-search
files; a custom download), supports HTTP Range, and can break a response half way.
"""

from __future__ import annotations

import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sna.datasets import nottingham_sample_config
from sna.errors import InputFormatError
from sna import cli
from sna.io import fetch
from sna.io.fetch import archive_months, fetch_police, months_between

SAMPLE = nottingham_sample_config().parent / "police"
MONTHS = ["2018-10", "2018-11", "2018-12", "2019-01", "2019-02"]


def sample_files() -> dict[str, bytes]:
    return {f"{m}/{m}-nottinghamshire-street.csv": (SAMPLE / m / f"{m}-nottinghamshire-street.csv").read_bytes()
            for m in MONTHS}


def monthly_archive(drop: tuple[str, ...] = ()) -> bytes:
    """A monthly archive as data.police.uk lays it out: other forces and other kinds of file too."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in ["2017-12", *MONTHS]:  # a month before the range, that must not be extracted
            if m in drop:
                continue
            street = SAMPLE / m / f"{m}-nottinghamshire-street.csv"
            data = street.read_bytes() if street.exists() else b"Crime ID,Month\n"
            zf.writestr(f"{m}/{m}-nottinghamshire-street.csv", data)
            zf.writestr(f"{m}/{m}-nottinghamshire-outcomes.csv", b"Crime ID,Month,Outcome type\n")
            zf.writestr(f"{m}/{m}-nottinghamshire-stop-and-search.csv", b"Type,Date\n")
            zf.writestr(f"{m}/{m}-derbyshire-street.csv", b"Crime ID,Month\nabc,2018-10\n")
    return buf.getvalue()


def custom_download(top: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sample_files().items():
            zf.writestr(top + name, data)
    return buf.getvalue()


class Server:
    """A loopback HTTP server: path -> bytes, with Range, a log, and a break after N bytes."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.log: list[dict] = []
        self.break_after: int | None = None  # bytes sent before the connection is cut (once)
        self.ranges = True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                path = self.path.split("://", 1)[-1]
                path = path[path.index("/"):] if "://" in self.path else path
                outer.log.append({"path": self.path, "range": self.headers.get("Range")})
                data = outer.files.get(path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and outer.ranges:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.break_after is not None:
                    n, outer.break_after = outer.break_after, None
                    self.wfile.write(body[:n])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("SNA_POLICE_BASE_URL", raising=False)


def run(argv, capsys):
    """`sna fetch police ARGV`, as typed (``python -m sna.io.fetch police`` is the same command)."""
    code = cli.main(["fetch", "police", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_sample(out: Path):
    for name, data in sample_files().items():
        assert (out / name).read_bytes() == data, name
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.csv"))
    assert written == sorted(sample_files())  # only the force's street files of the range


def test_months_and_archives():
    assert months_between("2018-10", "2019-02") == MONTHS
    assert archive_months("2018-10", "2019-02") == ["2019-02"]
    # an archive holds 36 months: 2016-03..2019-02, then 2013-03..2016-02
    assert archive_months("2016-03", "2019-02") == ["2019-02"]
    assert archive_months("2016-02", "2019-02") == ["2019-02", "2016-02"]
    for bad in (("2019-13", "2019-12"), ("2019-1", "2019-02"), ("2019-03", "2019-02")):
        with pytest.raises(InputFormatError):
            months_between(*bad)


def test_monthly_archive_reproduces_the_sample_byte_for_byte(tmp_path, capsys):
    with Server({"/data/archive/2019-02.zip": monthly_archive()}) as srv:
        code, out, err = run(["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02",
                              "--out", str(tmp_path / "police"), "--base-url", f"{srv.url}/data/archive"],
                             capsys)
    assert code == 0, err
    assert_sample(tmp_path / "police")
    assert "5 street file(s) of nottinghamshire" in out and "%" in err  # the progress bar
    att = (tmp_path / "police" / "ATTRIBUTION.txt").read_text()
    assert "Open Government Licence v3.0" in att and "data.police.uk" in att
    assert "2019-02/2019-02-nottinghamshire-street.csv" in att
    assert not (tmp_path / "police" / ".download").exists()  # the archive is removed once extracted
    # what the fetched folder gives sna init: the layout of the bundled sample
    from sna.io.police_uk import read_police_uk

    assert len(read_police_uk(tmp_path / "police")) == 24988


@pytest.mark.parametrize("top", ["", "4a1f0c2e/"])  # the months at the top, or in one folder
def test_custom_download_and_base_url_from_environment(tmp_path, capsys, monkeypatch, top):
    with Server({"/data/fetch/abc/": custom_download(top)}) as srv:
        code, _, err = run(["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02",
                            "--out", str(tmp_path / "c"), "--url", f"{srv.url}/data/fetch/abc/", "--quiet"],
                           capsys)
        assert code == 0 and err == "", err
    assert_sample(tmp_path / "c")
    with Server({"/mirror/2019-01.zip": monthly_archive()}) as srv:
        monkeypatch.setenv("SNA_POLICE_BASE_URL", f"{srv.url}/mirror/")
        code, _, err = run(["--force", "nottinghamshire", "--from", "2018-12", "--to", "2019-01",
                            "--out", str(tmp_path / "e"), "--quiet"], capsys)
        assert code == 0, err
        assert srv.log[0]["path"] == "/mirror/2019-01.zip"
    assert sorted(p.name for p in (tmp_path / "e").rglob("*.csv")) == [
        "2018-12-nottinghamshire-street.csv", "2019-01-nottinghamshire-street.csv"]


def test_resumes_an_interrupted_download(tmp_path, capsys):
    archive = monthly_archive()
    out = tmp_path / "police"
    argv = ["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02", "--out", str(out), "--quiet"]
    with Server({"/a/2019-02.zip": archive}) as srv:
        srv.break_after = len(archive) // 3
        code, _, err = run([*argv, "--base-url", f"{srv.url}/a"], capsys)
        assert code == 1 and "run the same command again to resume" in err
        part = out / ".download" / "2019-02.zip.part"
        assert part.stat().st_size == len(archive) // 3
        assert not list(out.rglob("*.csv"))
        code, _, err = run([*argv, "--base-url", f"{srv.url}/a"], capsys)
        assert code == 0, err
        # the second request asked only for the rest
        assert [e["range"] for e in srv.log] == [None, f"bytes={len(archive) // 3}-"]
    assert_sample(out)


def test_a_server_without_ranges_starts_again(tmp_path, capsys):
    archive = monthly_archive()
    out = tmp_path / "p"
    (out / ".download").mkdir(parents=True)
    (out / ".download" / "2019-02.zip.part").write_bytes(archive[:1000])
    with Server({"/a/2019-02.zip": archive}) as srv:
        srv.ranges = False
        code, _, err = run(["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02",
                            "--out", str(out), "--base-url", f"{srv.url}/a", "--quiet"], capsys)
    assert code == 0, err
    assert_sample(out)


def test_refuses_a_truncated_archive_with_exit_2(tmp_path, capsys):
    archive = monthly_archive()
    out = tmp_path / "police"
    with Server({"/a/2019-02.zip": archive[: len(archive) - 200]}) as srv:  # the central directory cut off
        code, _, err = run(["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02",
                            "--out", str(out), "--base-url", f"{srv.url}/a", "--quiet"], capsys)
    assert code == 2
    assert "not a complete zip file" in err and "2019-02.zip" in err
    assert not list(out.rglob("*.csv")) and not (out / ".download" / "2019-02.zip").exists()


def test_refuses_a_damaged_member_with_exit_2(tmp_path, capsys):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # stored: the bytes can be altered in place
        for name, data in sample_files().items():
            zf.writestr(name, data)
    archive = bytearray(buf.getvalue())
    i = archive.index(b"Nottinghamshire Police", 2000)
    archive[i] = ord("n")  # one byte changed inside the first file: its CRC no longer matches
    with Server({"/x": bytes(archive)}) as srv:
        code, _, err = run(["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02",
                            "--out", str(tmp_path / "d"), "--url", f"{srv.url}/x", "--quiet"], capsys)
    assert code == 2 and "2018-10/2018-10-nottinghamshire-street.csv in the archive is damaged" in err
    assert not list((tmp_path / "d").rglob("*.csv*"))


def test_missing_months_and_wrong_force(tmp_path, capsys):
    with Server({"/a/2019-02.zip": monthly_archive(drop=("2018-12",))}) as srv:
        argv = ["--from", "2018-10", "--to", "2019-02", "--base-url", f"{srv.url}/a", "--quiet"]
        code, out, err = run(["--force", "nottinghamshire", "--out", str(tmp_path / "m"), *argv], capsys)
        assert code == 0, err
        assert "missing from data.police.uk for this force: 2018-12" in out
        assert "2018-12" in (tmp_path / "m" / "ATTRIBUTION.txt").read_text()
        assert len(list((tmp_path / "m").rglob("*.csv"))) == 4
        code, _, err = run(["--force", "west-yorkshire", "--out", str(tmp_path / "w"), *argv], capsys)
        assert code == 2 and "no street file of force 'west-yorkshire'" in err and "nottinghamshire" in err
        code, _, err = run(["--force", "nottinghamshire", "--out", str(tmp_path / "n"), "--from", "2018-10",
                            "--to", "2019-03", "--base-url", f"{srv.url}/a", "--quiet"], capsys)
        assert code == 1 and "404" in err  # no archive for 2019-03 on this server


def test_not_a_police_archive(tmp_path, capsys):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", b"hello")
    with Server({"/z": buf.getvalue()}) as srv:
        code, _, err = run(["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02",
                            "--out", str(tmp_path / "z"), "--url", f"{srv.url}/z", "--quiet"], capsys)
    assert code == 2 and "not in the data.police.uk layout" in err


def test_proxy_from_the_environment_is_used(tmp_path, capsys, monkeypatch):
    # the "proxy" is a loopback server: it receives the absolute URL of a host that does not exist
    with Server({"/archive/2019-02.zip": monthly_archive()}) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", "")
        code, _, err = run(["--force", "nottinghamshire", "--from", "2018-10", "--to", "2019-02",
                            "--out", str(tmp_path / "p"), "--base-url", "http://data.police.invalid/archive",
                            "--quiet"], capsys)
        assert code == 0, err
        assert proxy.log[0]["path"] == "http://data.police.invalid/archive/2019-02.zip"
    assert_sample(tmp_path / "p")


def test_module_entry_point_is_the_same_command(tmp_path, capsys):
    with Server({"/a/2019-02.zip": monthly_archive()}) as srv:
        code = fetch.main(["police", "--force", "nottinghamshire", "--from", "2019-02", "--to", "2019-02",
                           "--out", str(tmp_path / "m"), "--base-url", f"{srv.url}/a", "--quiet"])
    assert code == 0 and [p.name for p in (tmp_path / "m").rglob("*.csv")] == ["2019-02-nottinghamshire-street.csv"]
    assert cli.main(["fetch", "police", "--force", "nottinghamshire", "--from", "2019-02"]) == 2  # usage
