"""PTB-XL in one call: download it from PhysioNet (or a mirror, or the release zip) into a folder,
every file checked against the release's ``SHA256SUMS.txt``.

    download_ptbxl(out, version="1.0.3", sampling_rate="100")   # HTTP, resumable, verified
    download_zip.extract_zip(zip_path, out, sampling_rate="100")  # from the zip a user already has
    start_download(out, …) / download_status(out) / cancel_download(out)   # a background process

How it works
- The file list is ``SHA256SUMS.txt`` (``<sha256> <relative path>`` per line, as sha256sum writes
  it); it fetches ``ptbxl_database.csv``, ``scp_statements.csv``, ``RECORDS``, ``LICENSE.txt`` and
  ``records100/`` (``sampling_rate="100"``, the default), ``records500/`` ("500") or both ("all").
- A bounded pool of :data:`POOL_SIZE` threads, each with its own keep-alive connection (requests).
- Each file is written to ``<file>.part``; an interrupted one resumes with an HTTP Range request.
  The ``.part`` file is hashed, then renamed onto ``<file>`` (a rename is atomic), so a file under
  its real name has always been verified. A checksum mismatch is fetched once more from scratch,
  then reported. Timeouts, dropped connections, 429 and 5xx are retried with exponential backoff
  (:data:`RETRIES` tries, :data:`BACKOFF_S` × 2^k, at most 8 s apart).
- Verified files are remembered in ``<out>/.ecgcore-download/verified.json`` (size, mtime_ns, sha256
  per file), so a re-run re-hashes only files that changed: re-running fetches what is missing or bad.
  That file also marks the folder as PTB-XL ``<version>``.
- Progress (and the state queued/running/done/failed/cancelled) goes to ``progress.json`` in a
  folder of ``$ECGCORE_CACHE_DIR/downloads/`` keyed by the output path, never into a folder that
  may yet be refused; :func:`download_status` reads it, so CLI and app downloads show alike.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from ecgcore.background import BusyError, FileLock
from ecgcore.download_http import BACKOFF_S, Fetcher, _Missing, _short, _Stopped
from ecgcore.errors import DownloadError
from ecgcore.fileio import make_folder, read_json_file, storage_errors, write_json

DEFAULT_VERSION = "1.0.3"
URL_ENV = "ECGCORE_PHYSIONET_URL"
PHYSIONET_URL = "https://physionet.org/files/ptb-xl/{version}/"
SUMS_FILE = "SHA256SUMS.txt"
META_FILES = ("ptbxl_database.csv", "scp_statements.csv", "RECORDS", "LICENSE.txt")
RECORD_FOLDERS = {"100": ("records100",), "500": ("records500",), "all": ("records100", "records500")}
STATE_DIR = ".ecgcore-download"  # inside the output folder: verified.json
# Connections at once, from bench/download.py (3,000-record demo mirror, 6,004 files, 2 busy cores): on
# loopback the Python client is CPU-bound (1: 223 files/s, 4: 452, 8: 293, 16: 347; wget 759), so no
# size helps there; with 30 ms per request, a stand-in for a real link's round trip, it scales
# (1: 25 files/s, 4: 103, 8: 186, 16: 181, 32: 401). PhysioNet is a shared server: 16, not 32
# (aria2's per-server maximum); a real link's round trip of 50–150 ms favours this even more.
POOL_SIZE = 16
PROGRESS_EVERY_S = 0.5
STATES = ("queued", "running", "done", "failed", "cancelled")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- names and places


def default_out(version: str = DEFAULT_VERSION) -> Path:
    """``$XDG_DATA_HOME/ecgcore/ptb-xl-<version>`` (default ``~/.local/share/ecgcore/…``)."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "ecgcore" / f"ptb-xl-{version}"


def base_url_for(version: str = DEFAULT_VERSION, base_url: str | None = None) -> str:
    """``base_url``, else ``$ECGCORE_PHYSIONET_URL``, else PhysioNet's file tree of ``version``."""
    url = base_url or os.environ.get(URL_ENV) or PHYSIONET_URL.format(version=version)
    if not re.match(r"^https?://[^/]", url, re.IGNORECASE):
        given = f"--base_url {base_url}" if base_url else f"{URL_ENV}={url}"
        raise DownloadError(f"{given}: give a full URL starting with https:// (e.g. https://{url.lstrip(':/')}).")
    return url if url.endswith("/") else url + "/"


def lock_path(out: str | os.PathLike) -> Path:
    """The lock file a running download into ``out`` holds (:class:`ecgcore.background.FileLock`)."""
    return status_dir(out) / "lock"


def status_dir(out: str | os.PathLike) -> Path:
    """Where progress.json and the lock of a download into ``out`` live (the cache dir, per path)."""
    from ecgcore.signal_cache import cache_root

    resolved = str(Path(out).expanduser().resolve())
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(resolved).name) or "root"
    return cache_root() / "downloads" / f"{slug}-{hashlib.sha1(resolved.encode()).hexdigest()[:10]}"


def parse_sums(text: str) -> dict[str, str]:
    """``{relative path: sha256}`` from sha256sum-style lines (``<hex> [*]<path>``)."""
    sums = {}
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            sums[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
    return sums


def select(files: Iterable[str], sampling_rate: str = "100") -> list[str]:
    """The files of ``files`` that a download of ``sampling_rate`` ("100", "500", "all") needs.

    The names come from the source (SHA256SUMS.txt, the zip, the csv) and are written under ``--out``:
    one that is absolute or climbs out (``..``, a backslash) is refused, never written."""
    if str(sampling_rate) not in RECORD_FOLDERS:
        raise DownloadError(f"--sampling_rate takes 100, 500 or all, not {sampling_rate!r}")
    folders = tuple(f + "/" for f in RECORD_FOLDERS[str(sampling_rate)])
    wanted = sorted(f for f in files if f in META_FILES or f.startswith(folders))
    unsafe = [f for f in wanted if f.startswith("/") or "\\" in f or ".." in PurePosixPath(f).parts]
    if unsafe:
        raise DownloadError(
            f"the source lists {len(unsafe)} file name(s) outside the release folder (e.g. {unsafe[0]!r}); "
            "refusing to write them — check --base_url / --from_zip."
        )
    absent = [f for f in folders if wanted and not any(w.startswith(f) for w in wanted)]
    if absent:
        other = {"records100/": "500", "records500/": "100"}[absent[0]]
        raise DownloadError(
            f"the source has no {absent[0].rstrip('/')} folder, so --sampling_rate {sampling_rate} has nothing to "
            f"download; use --sampling_rate {other}, or a source (--base_url / --from_zip) that has it."
        )
    return wanted


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_release_files(root: Path) -> None:
    """Make ``root`` (a PTB-XL-layout folder, e.g. a demo set) servable as a release mirror: write
    RECORDS, LICENSE.txt and SHA256SUMS.txt and drop the demo marker (tests and bench/download.py)."""
    from ecgcore.records import DEMO_MARKER

    (root / DEMO_MARKER).unlink(missing_ok=True)
    recs = sorted(p.relative_to(root).as_posix()[:-4] for p in root.glob("records*/*/*.hea"))
    (root / "RECORDS").write_text("\n".join(recs) + "\n")
    (root / "LICENSE.txt").write_text("Synthetic test data in PTB-XL's layout (not PTB-XL).\n")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != SUMS_FILE)
    (root / SUMS_FILE).write_text("".join(f"{sha256_file(p)} {p.relative_to(root).as_posix()}\n" for p in files))


# ----------------------------------------------------------------------------- the output folder


def check_out(out: Path, version: str, sums: dict[str, str] | None) -> None:
    """Refuse an ``out`` that holds something other than (part of) PTB-XL ``version``.

    Accepted: a missing or empty folder; one this module downloaded ``version`` into
    (``.ecgcore-download/verified.json``); one whose every file is a file of the release (or a
    ``.part`` of one) and whose ``ptbxl_database.csv``, if present, has the release's checksum."""
    from ecgcore.records import DEMO_MARKER

    if out.exists() and not out.is_dir():
        raise DownloadError(f"--out {out} is a file, not a folder; choose a folder.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    marker = out / STATE_DIR / "verified.json"
    if marker.is_file():
        theirs = _read_json(marker).get("version")
        if theirs == version:
            return
        raise DownloadError(f"--out {out} holds PTB-XL {theirs}, not {version}; choose another folder for {version}.")
    if (out / DEMO_MARKER).exists():
        raise DownloadError(f"--out {out} holds the synthetic demo dataset; choose an empty or new folder.")
    db = out / "ptbxl_database.csv"
    if sums and db.is_file() and sums.get(db.name) and sha256_file(db) != sums[db.name]:
        raise DownloadError(
            f"--out {out} holds another dataset or PTB-XL version (its ptbxl_database.csv is not PTB-XL "
            f"{version}'s); choose an empty or new folder."
        )
    known = set(sums) if sums else None
    for path in out.rglob("*"):
        if path.is_dir() or STATE_DIR in path.parts:
            continue
        rel = path.relative_to(out).as_posix().removesuffix(".part")
        ours = rel in known if known is not None else (rel in META_FILES or rel.startswith("records"))
        if not ours and rel != SUMS_FILE:
            raise DownloadError(
                f"--out {out} is not empty and is not a PTB-XL {version} folder (it holds {rel}); "
                "choose an empty or new folder."
            )


def _read_json(path: Path) -> dict:
    try:
        data = read_json_file(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class VerifiedCache:
    """``<out>/.ecgcore-download/verified.json``: files whose sha256 was checked, keyed by size and
    mtime, so that a re-run does not re-hash an unchanged folder."""

    def __init__(self, out: Path, version: str):
        self.path = out / STATE_DIR / "verified.json"
        self.version = version
        data = _read_json(self.path)
        self.files: dict[str, list] = data.get("files", {}) if data.get("version") == version else {}
        self._lock = threading.Lock()

    def is_good(self, out: Path, rel: str, sha: str | None) -> bool:
        """True if ``out/rel`` exists and matches ``sha`` (hashing it only if it changed since)."""
        path = out / rel
        try:
            st = path.stat()
        except OSError:
            return False
        if sha is None:  # unverified (--no_verify): present, not empty and not a web page
            return st.st_size > 0 and not looks_like_html(path)
        entry = self.files.get(rel)
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns and entry[2] == sha:
            return True
        if sha256_file(path) == sha:
            self.add(out, rel, sha)
            return True
        return False

    def add(self, out: Path, rel: str, sha: str | None) -> int:
        """Remember ``out/rel`` as verified; returns its size."""
        st = (out / rel).stat()
        with self._lock:
            self.files[rel] = [st.st_size, st.st_mtime_ns, sha]
        return st.st_size

    def save(self) -> None:
        with self._lock:
            write_json(self.path, {"version": self.version, "files": dict(self.files)})


# ----------------------------------------------------------------------------- progress


@dataclass
class DownloadStatus:
    """What a page or the CLI shows of a download into ``out`` (a snapshot of progress.json).

    ``bytes_total`` is an estimate (SHA256SUMS.txt has no sizes): done bytes plus the mean size of
    the files done so far times the files left. ``rate_bps`` is bytes per second fetched in this run;
    ``eta_s`` seconds left at that rate (None while unknown)."""

    state: str = "queued"
    out: str = ""
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int | None = None
    rate_bps: float = 0.0
    eta_s: float | None = None
    message: str = ""
    verified: bool = True
    pid: int | None = None
    started: float = 0.0
    updated: float = 0.0
    missing: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.files_done / self.files_total if self.files_total else 0.0


class Tracker:
    """Thread-safe counters of a download; writes progress.json every :data:`PROGRESS_EVERY_S` and
    calls ``callback(status)`` (e.g. a tqdm update) as often."""

    def __init__(self, out: Path, callback: Callable[[DownloadStatus], None] | None = None, verified: bool = True):
        self.status = DownloadStatus(
            state="running", out=str(out), verified=verified, pid=os.getpid(), started=time.time()
        )
        self.file = status_dir(out) / "progress.json"
        self.callback = callback
        self._lock = threading.Lock()
        self._fetched = 0  # bytes over the network in this run (for the rate)
        self._sizes = [0, 0]  # bytes and count of files done (for the estimate)
        self._last = 0.0

    def start(self, files_total: int, files_done: int, bytes_done: int) -> None:
        with self._lock:
            self.status.files_total, self.status.files_done, self.status.bytes_done = (
                files_total,
                files_done,
                bytes_done,
            )
            self._sizes = [bytes_done, files_done]
        self.flush(force=True)

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self._fetched += n
            self.status.bytes_done += n
        self.flush()

    def file_done(self, size: int) -> None:
        with self._lock:
            self.status.files_done += 1
            self._sizes[0] += size
            self._sizes[1] += 1
        self.flush()

    def flush(self, force: bool = False, **fields) -> None:
        now = time.time()
        with self._lock:
            if not force and now - self._last < PROGRESS_EVERY_S:
                return
            self._last = now
            s = self.status
            for k, v in fields.items():
                setattr(s, k, v)
            s.updated = now
            s.rate_bps = self._fetched / max(now - s.started, 1e-6)
            if self._sizes[1]:
                s.bytes_total = s.bytes_done + round(self._sizes[0] / self._sizes[1] * (s.files_total - s.files_done))
            s.eta_s = (s.bytes_total - s.bytes_done) / s.rate_bps if s.bytes_total and s.rate_bps > 0 else None
            snapshot = DownloadStatus(**asdict(s))
            write_json(self.file, asdict(snapshot))
        if self.callback:
            self.callback(snapshot)


# ----------------------------------------------------------------------------- one download


@dataclass
class DownloadResult:
    """What a download or extraction did. ``present``: files already there and verified;
    ``missing``: not on the server (or not in the zip); ``bad``: wrong checksum twice;
    ``failed``: ``{file: reason}`` after all retries."""

    out: Path
    files_total: int = 0
    fetched: int = 0
    present: int = 0
    bytes_fetched: int = 0
    missing: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    verified: bool = True
    cancelled: bool = False

    def problem(self) -> str | None:
        """One line when something is missing, bad or failed (None when complete)."""
        parts = [
            f"{len(self.missing)} file(s) missing at the source" if self.missing else "",
            f"{len(self.bad)} file(s) failed the checksum twice" if self.bad else "",
            f"{len(self.failed)} file(s) could not be fetched" if self.failed else "",
        ]
        if not any(parts):
            return None
        listed = [*self.missing, *self.bad, *self.failed][:3]
        return (
            f"{', '.join(p for p in parts if p)} ({', '.join(listed)}{', …' if self.n_problems > 3 else ''}); "
            f"run the same command again to retry them — the {self.fetched + self.present} verified files in "
            f"{self.out} are kept."
        )

    @property
    def n_problems(self) -> int:
        return len(self.missing) + len(self.bad) + len(self.failed)

    def report_lines(self) -> list[str]:
        """One line per file that is not there, with the reason."""
        return (
            [f"missing at the source: {f}" for f in self.missing]
            + [f"checksum mismatch (fetched twice): {f}" for f in self.bad]
            + [f"could not fetch {f}: {why}" for f, why in self.failed.items()]
        )


@contextmanager
def _job(out: Path, callback: Callable[[DownloadStatus], None] | None, verified: bool = True):
    """Lock the download into ``out``, track its progress and leave its final state in progress.json."""
    lock = FileLock(lock_path(out))
    try:
        make_folder(lock.path.parent)
        with storage_errors(lock.path):
            lock.acquire()
    except BusyError:
        raise DownloadError(f"another download into {out} is running; wait for it or cancel it.") from None
    tracker = Tracker(out, callback, verified)
    tracker.flush(force=True)
    holder: dict = {}
    try:
        yield tracker, holder
        result: DownloadResult = holder["result"]
        state = "cancelled" if result.cancelled else "failed" if result.problem() else "done"
        message = {"cancelled": "cancelled; run it again to continue", "failed": result.problem()}.get(state, "")
        if not result.verified and state == "done":
            message = f"NOT verified: the source has no {SUMS_FILE} (--no_verify)"
        tracker.flush(force=True, state=state, message=message, missing=result.missing, bad=result.bad)
    except BaseException as e:
        message = str(e) if isinstance(e, DownloadError) else f"{e.__class__.__name__}: {_short(e)}"
        tracker.flush(force=True, state="failed", message=message)
        raise
    finally:
        lock.release()


def download_ptbxl(
    out: str | os.PathLike | None = None,
    version: str = DEFAULT_VERSION,
    sampling_rate: str = "100",
    base_url: str | None = None,
    verify: bool = True,
    workers: int = POOL_SIZE,
    progress: Callable[[DownloadStatus], None] | None = None,
    stop: threading.Event | None = None,
    backoff_s: float = BACKOFF_S,
) -> DownloadResult:
    """Download PTB-XL ``version`` (files of ``sampling_rate``: "100", "500" or "all") into ``out``
    (default :func:`default_out`), verifying every file; re-running fetches only what is missing or bad.

    Raises DownloadError when it cannot start (no SHA256SUMS.txt without ``verify=False``, ``out``
    refused, another download into ``out`` running) or the disk fills. Files missing at the source,
    failing the checksum twice or failing after retries are returned in the result, the others kept.
    ``stop`` (set by a signal handler or :func:`cancel_download`) ends it cleanly: ``.cancelled``."""
    out = Path(out).expanduser() if out else default_out(version)
    base = base_url_for(version, base_url)
    stop = stop or threading.Event()
    select([], sampling_rate)  # a bad sampling_rate fails before anything else
    with _job(out, progress, verify) as (tracker, holder):
        fetcher = Fetcher(base, stop, tracker, backoff_s)
        text = fetcher.get_text(SUMS_FILE)
        if text is None and verify:
            raise DownloadError(
                f"{base}{SUMS_FILE} is not there, so the files cannot be verified; check --base_url and "
                "--version, or pass --no_verify to download without checking."
            )
        sums = parse_sums(text) if text is not None else None
        if sums is not None and "ptbxl_database.csv" not in sums:
            raise DownloadError(f"{base}{SUMS_FILE} does not list ptbxl_database.csv; is {base} a PTB-XL release?")
        check_out(out, version, sums)
        if sums is None:
            tracker.status.verified = False
            wanted: dict[str, str | None] = dict.fromkeys(_files_from_database(fetcher, out, sampling_rate))
        else:
            wanted = {rel: sums[rel] for rel in select(sums, sampling_rate)}
        result = _fetch_all(out, version, wanted, fetcher, tracker, workers)
        result.verified = sums is not None
        holder["result"] = result
    return result


def _files_from_database(fetcher: Fetcher, out: Path, sampling_rate: str) -> list[str]:
    """Without SHA256SUMS.txt: the release's files, from ptbxl_database.csv's filename columns."""
    import csv

    db = out / "ptbxl_database.csv"
    part = db.with_name(db.name + ".part")
    try:
        fetcher.get_file(db.name, part)
    except _Missing:
        raise DownloadError(
            f"{fetcher.base}ptbxl_database.csv is not there; is {fetcher.base} a PTB-XL release?"
        ) from None
    os.replace(part, db)
    columns = {"100": ("filename_lr",), "500": ("filename_hr",), "all": ("filename_lr", "filename_hr")}[sampling_rate]
    with open(db, newline="") as f:
        rows = list(csv.DictReader(f))
    records = {row[c] for row in rows for c in columns if row.get(c)}
    return select([*META_FILES, *(r + ext for r in records for ext in (".hea", ".dat"))], sampling_rate)


def _fetch_all(
    out: Path, version: str, wanted: dict[str, str | None], fetcher: Fetcher, tracker: Tracker, workers: int
) -> DownloadResult:
    """Fetch the files of ``wanted`` ({path: sha256 or None}) that are not already there and good."""
    stop = fetcher.stop
    cache = VerifiedCache(out, version)
    result = DownloadResult(out, files_total=len(wanted))
    todo, present_bytes = [], 0
    for rel, sha in wanted.items():
        if stop.is_set():
            break
        if cache.is_good(out, rel, sha):
            result.present += 1
            present_bytes += (out / rel).stat().st_size
        else:
            todo.append(rel)
    tracker.start(len(wanted), result.present, present_bytes)
    fatal: list[str] = []
    last_save = [time.time()]

    def work(rel: str) -> tuple[str, str, str]:
        if stop.is_set():
            return rel, "stopped", ""
        try:
            outcome = _fetch_one(out, rel, wanted[rel], fetcher, cache, tracker)
        except _Missing:
            return rel, "missing", ""
        except _Stopped:
            return rel, "stopped", ""
        except DownloadError as e:
            return rel, "failed", str(e)
        except OSError as e:  # the disk (ENOSPC, EACCES …): every other file would fail alike
            fatal.append(_disk_message(out, e))
            stop.set()
            return rel, "stopped", ""
        if outcome == "ok" and time.time() - last_save[0] > 5:
            last_save[0] = time.time()
            cache.save()
        return rel, outcome, ""

    try:
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="download") as pool:
            for rel, outcome, why in pool.map(work, todo):
                if outcome == "ok":
                    result.fetched += 1
                elif outcome == "missing":
                    result.missing.append(rel)
                elif outcome == "bad":
                    result.bad.append(rel)
                elif outcome == "page":
                    result.failed[rel] = "the server sent a web page (HTML), not the file; check --base_url"
                elif outcome == "failed":
                    result.failed[rel] = why
    finally:
        _save_quietly(cache)
    if fatal:
        raise DownloadError(fatal[0])
    result.bytes_fetched = tracker._fetched
    result.cancelled = stop.is_set() and result.present + result.fetched + result.n_problems < result.files_total
    return result


def looks_like_html(path: Path) -> bool:
    """True when the file starts like a web page (``<!DOCTYPE``, ``<html``): no PTB-XL file does, so
    without checksums (--no_verify) such a file is an error page saved under a record's name."""
    try:
        with open(path, "rb") as f:
            head = f.read(512).lstrip().lower()
    except OSError:
        return False
    return head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body"))


def _fetch_one(out: Path, rel: str, sha: str | None, fetcher: Fetcher, cache: VerifiedCache, tracker: Tracker) -> str:
    """GET one file into ``<file>.part``, check it, rename it: "ok", or after a second full try "bad"
    (wrong checksum) or "page" (unverified, but a web page: never kept)."""
    dest = out / rel
    part = dest.with_name(dest.name + ".part")
    outcome = "bad"
    for _ in range(2):
        digest = fetcher.get_file(rel, part)
        if sha is None and looks_like_html(part):  # a login or error page served with status 200
            part.unlink(missing_ok=True)
            outcome = "page"
            continue
        if sha is None or (digest or sha256_file(part)) == sha:
            os.replace(part, dest)
            tracker.file_done(cache.add(out, rel, sha))
            return "ok"
        part.unlink(missing_ok=True)  # the second try starts from scratch
    return outcome


def _disk_message(out: Path, e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return (
            f"the disk holding {out} is full; free some space and run the same command again "
            "(verified files are kept, partial ones resume)."
        )
    return f"cannot write into {out}: {e.strerror or e} ({e.filename}); fix that and run the same command again."


def _save_quietly(cache: VerifiedCache) -> None:
    try:
        cache.save()
    except OSError:  # a full disk: the next run re-hashes instead
        pass
