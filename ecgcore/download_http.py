"""HTTP for :mod:`ecgcore.download`: GET files of a release into ``.part`` files with one
keep-alive ``requests`` session per thread, HTTP Range resume, and retries with exponential backoff
after timeouts, dropped connections, 429 and 5xx."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from ecgcore.errors import DownloadError

if TYPE_CHECKING:
    from ecgcore.download import Tracker

RETRIES = 5
BACKOFF_S = 0.5  # then 1, 2, 4 s (at most 8 s)
TIMEOUT_S = (15, 60)  # connect, read
CHUNK = 1 << 14  # also the resume granularity: a dropped read keeps the whole chunks before it


class _Missing(Exception):
    """404/410: the server does not have the file."""


class _Stopped(Exception):
    """Cancelled (Ctrl-C, SIGTERM, cancel_download)."""


class _Transient(Exception):
    """429 or 5xx: worth another try."""


class Fetcher:
    """GETs files of ``base`` into ``.part`` files: one keep-alive session per thread, Range resume,
    retries with backoff."""

    def __init__(self, base: str, stop: threading.Event, tracker: Tracker | None = None, backoff_s: float = BACKOFF_S):
        self.base, self.stop, self.tracker, self.backoff_s = base, stop, tracker, backoff_s
        self._local = threading.local()

    def session(self):
        import requests

        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
            s.headers["User-Agent"] = "ecgcore-download (python-requests)"
            # the proxy and CA settings of the environment, read once: requests would scan os.environ on
            # every request (about 1 ms each, a fifth of a small file's time on a fast link)
            s.proxies.update(requests.utils.get_environ_proxies(self.base))
            s.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            s.trust_env = False
        return s

    def get_text(self, rel: str) -> str | None:
        """A small file as text; None when the server has no such file."""

        def once() -> str | None:
            with self.session().get(self.base + quote(rel), timeout=TIMEOUT_S) as r:
                if r.status_code in (404, 410):
                    return None
                self._check(r, rel)
                return r.content.decode("utf-8", "replace")

        return self._retry(rel, once)

    def get_file(self, rel: str, part: Path) -> str | None:
        """GET ``rel`` into ``part``, resuming what is there. Returns the file's sha256 when it came
        in one piece (None after a resume: hash the file). Raises _Missing, _Stopped, OSError (disk)
        or DownloadError (gave up)."""
        return self._retry(rel, lambda: self._get_file_once(rel, part))

    def _get_file_once(self, rel: str, part: Path) -> str | None:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self.session().get(self.base + quote(rel), headers=headers, stream=True, timeout=TIMEOUT_S) as r:
            if r.status_code in (404, 410):
                raise _Missing(rel)
            if r.status_code == 416 and have:  # the part is complete already; the checksum decides
                return None
            self._check(r, rel)
            resumed = r.status_code == 206 and r.headers.get("Content-Range", "").startswith(f"bytes {have}-")
            part.parent.mkdir(parents=True, exist_ok=True)
            digest = None if resumed else hashlib.sha256()
            with open(part, "ab" if resumed else "wb") as f:
                for chunk in r.iter_content(CHUNK):
                    if self.stop.is_set():
                        raise _Stopped()
                    f.write(chunk)
                    if digest:
                        digest.update(chunk)
                    if self.tracker:
                        self.tracker.add_bytes(len(chunk))
            return digest.hexdigest() if digest else None

    def _check(self, r, rel: str) -> None:
        if r.status_code == 429 or r.status_code >= 500:
            raise _Transient(f"HTTP {r.status_code}")
        if r.status_code not in (200, 206):
            raise DownloadError(f"{self.base + rel}: HTTP {r.status_code} {r.reason}")

    def _retry(self, rel: str, once: Callable[[], object]):
        """``once()``, tried again after timeouts, dropped connections, 429 and 5xx, with backoff."""
        import requests

        transient = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError, _Transient)
        last: BaseException | None = None
        for attempt in range(RETRIES):
            if self.stop.is_set():
                raise _Stopped()
            try:
                return once()
            except transient as e:
                last = e
                if attempt + 1 < RETRIES and self.stop.wait(min(self.backoff_s * 2**attempt, 8.0)):
                    raise _Stopped() from None
        raise DownloadError(f"{self.base + rel}: {_short(last)} (gave up after {RETRIES} tries)")


def _short(e: BaseException | None) -> str:
    text = str(e).splitlines()[0] if e and str(e) else e.__class__.__name__
    return text[:200]
