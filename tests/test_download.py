"""ecgcore.download / download_jobs against a local mirror (never the network): a PTB-XL-layout demo
folder with its own SHA256SUMS.txt, RECORDS and LICENSE.txt, served on 127.0.0.1 by a small
http.server handler that can inject faults (404, dropped connection, wrong bytes, 503, no Range, slow)
and counts the requests per file."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from ecgcore import download as dl
from ecgcore import download_http as http
from ecgcore import download_jobs as jobs
from ecgcore.__main__ import main
from ecgcore.download_zip import extract_zip
from ecgcore.errors import DownloadError
from ecgcore.sources import load_ptbxl

N_RECORDS = 30
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    from ecgcore.demo import make_demo_dataset

    root = make_demo_dataset(tmp_path_factory.mktemp("mirror") / "ptb-xl", N_RECORDS, seed=1)
    dl.write_release_files(root)
    return root


class Faults:
    def __init__(self):
        self.requests: Counter = Counter()
        self.ranges: list[tuple[str, str]] = []
        self.not_found: set[str] = set()
        self.drop_after: dict[str, int] = {}  # once: send n bytes, then close the connection
        self.wrong: set[str] = set()
        self.html: set[str] = set()  # served as a web page with status 200
        self.unavailable: dict[str, int] = {}  # 503 this many times
        self.range_support = True
        self.slow_s = 0.0
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms to every file

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(code)
        for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        f: Faults = self.server.faults
        rel = unquote(urlparse(self.path).path).lstrip("/")
        with f.lock:
            f.requests[rel] += 1
            if self.headers.get("Range"):
                f.ranges.append((rel, self.headers["Range"]))
            n503 = f.unavailable.get(rel, 0)
            f.unavailable[rel] = max(0, n503 - 1)
            drop = f.drop_after.pop(rel, None)
        time.sleep(f.slow_s)
        path = self.server.root / rel
        if rel in f.not_found or not path.is_file():
            return self._send(404)
        if n503:
            return self._send(503)
        data = path.read_bytes()
        if rel in f.wrong:
            data = bytes(255 - b for b in data)
        if rel in f.html:
            data = b"<!DOCTYPE html><html><body>Please log in</body></html>"
        start, code, headers = 0, 200, {}
        if f.range_support and self.headers.get("Range", "").startswith("bytes="):
            start = int(self.headers["Range"][6:].split("-")[0])
            if start >= len(data):
                return self._send(416, headers={"Content-Range": f"bytes */{len(data)}"})
            code, headers = 206, {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        body = data[start:]
        if drop is not None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(code, body, headers)


@pytest.fixture
def mirror(release):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.root, server.faults = release, Faults()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    yield server
    server.shutdown()
    server.server_close()


def wanted(release: Path, rate: str = "100") -> list[str]:
    return dl.select(dl.parse_sums((release / dl.SUMS_FILE).read_text()), rate)


def fetch(mirror, out: Path, **kw) -> dl.DownloadResult:
    return dl.download_ptbxl(out, base_url=mirror.url, backoff_s=0.01, **kw)


def a_record(release: Path, i: int = 3, ext: str = ".dat") -> str:
    return [f for f in wanted(release) if f.endswith(ext)][i]


# ----------------------------------------------------------------------------- the happy paths


def test_parse_sums_and_select():
    sums = dl.parse_sums(f"{'a' * 64}  ptbxl_database.csv\n{'B' * 64} *records500/00000/00001_hr.dat\nnoise\n")
    assert sums == {"ptbxl_database.csv": "a" * 64, "records500/00000/00001_hr.dat": "b" * 64}
    files = ["RECORDS", "records100/0/1_lr.dat", "records500/0/1_hr.dat", "example_physionet.py"]
    assert dl.select(files, "100") == ["RECORDS", "records100/0/1_lr.dat"]
    assert dl.select(files, "all") == ["RECORDS", "records100/0/1_lr.dat", "records500/0/1_hr.dat"]
    with pytest.raises(DownloadError, match="100, 500 or all"):
        dl.select(files, "250")


def test_default_out_and_base_url(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert dl.default_out("1.0.3") == tmp_path / "ecgcore" / "ptb-xl-1.0.3"
    monkeypatch.delenv(dl.URL_ENV, raising=False)
    assert dl.base_url_for("1.0.3") == "https://physionet.org/files/ptb-xl/1.0.3/"
    monkeypatch.setenv(dl.URL_ENV, "http://mirror/ptb")
    assert dl.base_url_for("1.0.3") == "http://mirror/ptb/"
    assert dl.base_url_for("1.0.3", "http://other/") == "http://other/"


def test_full_download_loads_and_a_rerun_fetches_nothing(mirror, release, tmp_path):
    out = tmp_path / "ptb"
    result = fetch(mirror, out)
    files = wanted(release)
    assert result.problem() is None and result.fetched == len(files) == result.files_total
    assert all((out / f).read_bytes() == (release / f).read_bytes() for f in files)
    assert not list(out.rglob("*.part")) and not (out / "records500").exists()
    ds = load_ptbxl(out)
    assert len(ds.records) == N_RECORDS and not ds.is_demo
    assert jobs.download_status(out).state == "done"

    mirror.faults.requests.clear()
    again = fetch(mirror, out)
    assert again.present == len(files) and again.fetched == 0
    assert set(mirror.faults.requests) == {dl.SUMS_FILE}  # only the list; nothing re-fetched

    changed = out / a_record(release)
    changed.write_bytes(b"x" * changed.stat().st_size)  # same size, new mtime: re-hashed, re-fetched
    mirror.faults.requests.clear()
    assert fetch(mirror, out).fetched == 1
    assert mirror.faults.requests[a_record(release)] == 1


def test_cli_download_prints_folder_and_counts(mirror, release, tmp_path, capsys):
    out = tmp_path / "ptb"
    assert main(["download", "--out", str(out), "--base_url", mirror.url, "--workers", "2"]) == 0
    text = capsys.readouterr().out
    assert str(out) in text and f"records: {N_RECORDS}" in text and "patients:" in text and "NORM" in text


# ----------------------------------------------------------------------------- faults


def test_one_404_others_finish_and_it_is_listed(mirror, release, tmp_path, capsys):
    gone = a_record(release, 5)
    mirror.faults.not_found.add(gone)
    out = tmp_path / "ptb"
    assert main(["download", "--out", str(out), "--base_url", mirror.url]) == 2
    err = capsys.readouterr().err
    assert f"missing at the source: {gone}" in err and err.count("error:") == 1
    assert "1 file(s) missing" in err and "run the same command again" in err
    assert all((out / f).is_file() for f in wanted(release) if f != gone)
    status = jobs.download_status(out)
    assert status.state == "failed" and status.missing == [gone]
    mirror.faults.not_found.clear()  # back on the server: the re-run fetches just that one
    mirror.faults.requests.clear()
    assert fetch(mirror, out).fetched == 1 and mirror.faults.requests[gone] == 1


def test_dropped_connection_resumes_with_range(mirror, release, tmp_path):
    rel = a_record(release, 2)
    mirror.faults.drop_after[rel] = 20000  # of 24,000 bytes: one whole chunk (16 KiB) arrived
    result = fetch(mirror, tmp_path / "ptb")
    assert result.problem() is None
    assert mirror.faults.requests[rel] == 2 and (rel, f"bytes={http.CHUNK}-") in mirror.faults.ranges
    assert (tmp_path / "ptb" / rel).read_bytes() == (release / rel).read_bytes()


def test_dropped_connection_without_range_support_starts_over(mirror, release, tmp_path):
    rel = a_record(release, 2)
    mirror.faults.range_support = False
    mirror.faults.drop_after[rel] = 5000
    assert fetch(mirror, tmp_path / "ptb").problem() is None
    assert (tmp_path / "ptb" / rel).read_bytes() == (release / rel).read_bytes()


def test_503_is_retried_with_backoff(mirror, release, tmp_path):
    rel = a_record(release, 1)
    mirror.faults.unavailable[rel] = 2
    mirror.faults.unavailable[dl.SUMS_FILE] = 1
    assert fetch(mirror, tmp_path / "ptb").problem() is None
    assert mirror.faults.requests[rel] == 3


def test_503_for_good_gives_up_and_is_reported(mirror, release, tmp_path):
    rel = a_record(release, 1)
    mirror.faults.unavailable[rel] = 99
    result = fetch(mirror, tmp_path / "ptb")
    assert list(result.failed) == [rel] and "HTTP 503" in result.failed[rel]
    assert mirror.faults.requests[rel] == http.RETRIES


def test_persistent_checksum_mismatch_is_fetched_twice_then_reported(mirror, release, tmp_path):
    rel = a_record(release, 4)
    mirror.faults.wrong.add(rel)
    result = fetch(mirror, tmp_path / "ptb")
    assert result.bad == [rel] and "failed the checksum twice" in result.problem()
    assert mirror.faults.requests[rel] == 2
    assert not (tmp_path / "ptb" / rel).exists() and not list((tmp_path / "ptb").rglob("*.part"))
    assert result.fetched == len(wanted(release)) - 1


def test_disk_full_stops_with_one_line_and_keeps_verified_files(mirror, release, tmp_path, monkeypatch, capsys):
    real = http.Fetcher._get_file_once
    calls = Counter()

    def filling(self, rel, part):
        calls["n"] += 1
        if calls["n"] > 10:
            raise OSError(errno.ENOSPC, "No space left on device", str(part))
        return real(self, rel, part)

    monkeypatch.setattr(http.Fetcher, "_get_file_once", filling)
    out = tmp_path / "ptb"
    assert main(["download", "--out", str(out), "--base_url", mirror.url, "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the disk holding") and "full" in err and len(err.splitlines()) == 1
    kept = [f for f in wanted(release) if (out / f).is_file()]
    assert len(kept) == 10
    assert set(dl.VerifiedCache(out, dl.DEFAULT_VERSION).files) == set(kept)


def test_out_holding_something_else_is_refused(mirror, release, tmp_path):
    from ecgcore.demo import make_demo_dataset

    demo = make_demo_dataset(tmp_path / "demo", 3)
    with pytest.raises(DownloadError, match="synthetic demo dataset"):
        fetch(mirror, demo)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    with pytest.raises(DownloadError, match="not a PTB-XL 1.0.3 folder"):
        fetch(mirror, mine)
    assert (mine / "thesis.docx").read_text() == "precious" and len(list(mine.iterdir())) == 1
    other = tmp_path / "other"
    fetch(mirror, other)
    with pytest.raises(DownloadError, match="holds PTB-XL 1.0.3, not 1.0.1"):
        dl.download_ptbxl(other, version="1.0.1", base_url=mirror.url)
    modified = tmp_path / "modified"
    modified.mkdir()
    (modified / "ptbxl_database.csv").write_text("ecg_id,patient_id\n1,1\n")
    with pytest.raises(DownloadError, match="another dataset or PTB-XL version"):
        fetch(mirror, modified)
    with pytest.raises(DownloadError, match="is a file"):
        fetch(mirror, mine / "thesis.docx")


def test_a_partial_ptbxl_folder_is_continued(mirror, release, tmp_path):
    """E.g. an interrupted wget: only files of the release (and .part files) are there."""
    out = tmp_path / "ptb"
    files = wanted(release)
    for f in files[:8]:
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(release / f, out / f)
    half = next(f for f in files[8:] if f.endswith(".dat"))
    (out / f"{half}.part").write_bytes((release / half).read_bytes()[:1000])
    result = fetch(mirror, out)
    assert result.problem() is None and result.present == 8 and result.fetched == len(files) - 8
    assert (half, "bytes=1000-") in mirror.faults.ranges
    assert all(mirror.faults.requests[f] == 0 for f in files[:8])


def test_no_sums_is_refused_unless_no_verify(mirror, release, tmp_path, capsys):
    mirror.faults.not_found.add(dl.SUMS_FILE)
    with pytest.raises(DownloadError, match="--no_verify"):
        fetch(mirror, tmp_path / "a")
    out = tmp_path / "b"
    assert main(["download", "--out", str(out), "--base_url", mirror.url, "--no_verify"]) == 0
    assert "NOT verified" in capsys.readouterr().out
    assert all((out / f).is_file() for f in wanted(release))
    assert jobs.download_status(out).verified is False


def test_kill_mid_way_then_rerun_fetches_only_the_rest(mirror, release, tmp_path):
    mirror.faults.slow_s = 0.05
    out = tmp_path / "ptb"
    cmd = [sys.executable, "-m", "ecgcore", "download", "--out", str(out), "--base_url", mirror.url]
    proc = subprocess.Popen([*cmd, "--workers", "2"], cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while len(list(out.glob("records100/*/*.dat"))) < 5 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {f for f in wanted(release) if (out / f).is_file()}
    assert 5 <= len(done_before) < len(wanted(release))
    mirror.faults.slow_s = 0.0
    mirror.faults.requests.clear()
    result = fetch(mirror, out)
    assert result.problem() is None and result.present == len(done_before)
    assert all(mirror.faults.requests[f] == 0 for f in done_before)
    assert load_ptbxl(out).records.shape[0] == N_RECORDS


def test_from_zip_checks_and_extracts_the_chosen_part(release, tmp_path, capsys):
    top = "ptb-xl-a-large-publicly-available-electrocardiography-dataset-1.0.3/"
    archive = tmp_path / "ptb-xl.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(release.rglob("*")):
            if p.is_file():
                zf.write(p, top + p.relative_to(release).as_posix())
        zf.writestr(top + "records500/00000/00001_hr.dat", b"not chosen")
    out = tmp_path / "ptb"
    assert main(["download", "--out", str(out), "--from_zip", str(archive)]) == 0
    assert f"records: {N_RECORDS}" in capsys.readouterr().out
    assert all((out / f).read_bytes() == (release / f).read_bytes() for f in wanted(release))
    assert not (out / "records500").exists()
    again = extract_zip(archive, out)
    assert again.present == len(wanted(release)) and again.fetched == 0

    tampered = tmp_path / "tampered.zip"
    rel = a_record(release)
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, b"tampered" if info.filename == top + rel else src.read(info))
    result = extract_zip(tampered, tmp_path / "t")
    assert result.bad == [rel] and not (tmp_path / "t" / rel).exists()
    with zipfile.ZipFile(tmp_path / "nosums.zip", "w") as zf:
        zf.writestr(top + "ptbxl_database.csv", b"ecg_id\n")
    with pytest.raises(DownloadError, match="has no SHA256SUMS.txt"):
        extract_zip(tmp_path / "nosums.zip", tmp_path / "n")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(DownloadError, match="cannot be read as a zip"):
        extract_zip(tmp_path / "junk.zip", tmp_path / "j")


# ----------------------------------------------------------------------------- in the background


def wait_for(out: Path, states: tuple[str, ...], timeout: float = 60) -> jobs.DownloadStatus:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = jobs.download_status(out)
        if status and status.state in states:
            return status
        time.sleep(0.1)
    raise AssertionError(f"no state in {states} after {timeout}s: {jobs.download_status(out)}")


def test_background_download_start_poll_done(mirror, release, tmp_path):
    out = tmp_path / "ptb"
    assert jobs.download_status(out) is None
    started = jobs.start_download(out, base_url=mirror.url)
    assert started.state in ("queued", "running")
    with pytest.raises(DownloadError, match="already"):
        jobs.start_download(out, base_url=mirror.url)
    done = wait_for(out, ("done", "failed"))
    assert done.state == "done", done.message
    assert done.files_done == done.files_total == len(wanted(release)) and done.fraction == 1.0
    assert done.bytes_done > 0 and done.out == str(out.resolve())


def test_background_download_cancel_then_continue(mirror, release, tmp_path):
    mirror.faults.slow_s = 0.1
    out = tmp_path / "ptb"
    jobs.start_download(out, base_url=mirror.url)
    running = wait_for(out, ("running",))
    assert running.pid and running.files_total in (0, len(wanted(release)))
    assert jobs.cancel_download(out) == "cancelled"
    assert jobs.download_status(out).state == "cancelled"
    mirror.faults.slow_s = 0.0
    assert fetch(mirror, out).problem() is None


def test_a_killed_background_download_shows_as_failed(mirror, tmp_path):
    mirror.faults.slow_s = 0.2
    out = tmp_path / "ptb"
    jobs.start_download(out, base_url=mirror.url)
    status = wait_for(out, ("running",))
    os.killpg(os.getpgid(status.pid), signal.SIGKILL)
    failed = wait_for(out, ("failed",), timeout=10)
    assert "stopped before it finished" in failed.message and "start it again" in failed.message


def test_file_names_that_climb_out_of_the_folder_are_refused():
    """A source (SHA256SUMS.txt, a zip, the csv) naming ``records100/../../x`` is refused, never written."""
    from ecgcore.download import select
    from ecgcore.errors import DownloadError

    assert select(["records100/00000/00001_lr.hea", "ptbxl_database.csv"]) == [
        "ptbxl_database.csv",
        "records100/00000/00001_lr.hea",
    ]
    for bad in ("records100/../../../tmp/evil.hea", "records100/00000/..\\x.hea"):
        with pytest.raises(DownloadError, match="outside the release folder"):
            select(["ptbxl_database.csv", bad])


# ----------------------------------------------------------------------------- round three


@pytest.mark.parametrize("url", ["example.org", "example.org/ptb-xl/", "ftp://example.org/"])
def test_base_url_without_a_scheme_is_one_line(url, tmp_path, capsys):
    with pytest.raises(DownloadError, match=f"--base_url {url}: give a full URL starting with https://"):
        dl.download_ptbxl(tmp_path / "x", base_url=url)
    assert main(["download", "--out", str(tmp_path / "y"), "--base_url", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give a full URL starting with https://" in err


def test_zip_member_with_a_bad_crc_is_one_line_and_leaves_no_part(release, tmp_path):
    top = "ptb-xl/"
    archive = tmp_path / "ptb-xl.zip"
    rel = a_record(release)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for p in sorted(release.rglob("*")):
            if p.is_file():
                zf.write(p, top + p.relative_to(release).as_posix())
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(top + rel)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 10] ^= 0xFF  # one byte of the member's data: its CRC no longer matches
    archive.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(DownloadError) as e:
        extract_zip(archive, out)
    text = str(e.value)
    assert "\n" not in text and f"{top + rel} in the zip is damaged" in text and "download the zip again" in text
    assert not list(out.rglob("*.part")) and not (out / rel).exists()


def test_no_verify_does_not_keep_a_web_page_as_a_record(mirror, release, tmp_path):
    mirror.faults.not_found.add(dl.SUMS_FILE)
    rel = a_record(release)
    mirror.faults.html.add(rel)
    out = tmp_path / "ptb"
    result = fetch(mirror, out, verify=False)
    assert rel in result.failed and "web page" in result.failed[rel] and not (out / rel).exists()
    assert not list(out.rglob("*.part"))
    (out / rel).write_bytes(b"<!DOCTYPE html><html>an older run kept this</html>")  # kept by an earlier version
    mirror.faults.html.clear()
    mirror.faults.requests.clear()
    again = fetch(mirror, out, verify=False)
    assert again.problem() is None and mirror.faults.requests[rel] == 1
    assert (out / rel).read_bytes() == (release / rel).read_bytes()


def test_sampling_rate_500_from_a_source_without_records500(mirror, tmp_path, capsys):
    assert main(["download", "--out", str(tmp_path / "p"), "--base_url", mirror.url, "--sampling_rate", "500"]) == 2
    err = capsys.readouterr().err
    assert "no records500 folder" in err and "--sampling_rate 100" in err and "records present" not in err
