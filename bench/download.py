"""Download speed on a local mirror: `python -m ecgcore download` (ecgcore.download.download_ptbxl)
against Debian's `wget -r -N -c -np` of the same tree, in one run; the no-op re-run (verify a
complete folder, with and without the verified-hash cache); and the connection-pool size table.

    python bench/download.py                        # the 21,837-record demo layout (~1 min to generate)
    python bench/download.py --n_records 3000       # a quick run
    python bench/download.py --mirror DIR           # reuse a mirror folder made by an earlier run (--keep)

The mirror is served by http.server's handler (threaded, HTTP/1.1 keep-alive, TCP_NODELAY) in its own
process on 127.0.0.1, so client and server do not share a GIL. A loopback link has no latency and
near-unlimited bandwidth: these figures are an upper bound of what the tool itself can do. Over a real
link to PhysioNet the round trip per file dominates, which favours more connections, not fewer;
``--latency_ms 30`` adds a server-side delay per request as a stand-in for that.
Prints one table. wget: `apt-get install -y wget` if missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore import download as dl  # noqa: E402
from ecgcore.demo import make_demo_dataset  # noqa: E402

# http.server's SimpleHTTPRequestHandler, threaded, HTTP/1.1 keep-alive, and TCP_NODELAY: without it,
# headers and body go out as two writes and Nagle + delayed ACK add ~40 ms to every file on loopback.
SERVER = (
    "import http.server as h, sys; H = h.SimpleHTTPRequestHandler; H.protocol_version = 'HTTP/1.1'; "
    "H.disable_nagle_algorithm = True; H.log_message = lambda *a: None; "
    "import time; L = float(sys.argv[2]) / 1000; g = H.do_GET; H.do_GET = lambda self: (time.sleep(L), g(self)); "
    "h.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(root: Path, latency_ms: float = 0.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(latency_ms)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/"


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def ours(url: str, out: Path, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    seconds, result = timed(lambda: dl.download_ptbxl(out, base_url=url, workers=workers))
    assert result.problem() is None and result.fetched == result.files_total, result.problem()
    return seconds


def wget(url: str, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["wget", "-r", "-N", "-c", "-np", "-nH", "-q", "-e", "robots=off", "-P", str(out), url]
    seconds, proc = timed(lambda: subprocess.run(cmd, check=False))
    assert proc.returncode == 0, f"wget exited {proc.returncode}"
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n_records", type=int, default=21837)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    ap.add_argument("--mirror", default=None, help="an existing mirror folder (else one is generated)")
    ap.add_argument(
        "--latency_ms", type=float, default=0.0, help="server-side delay per request, a stand-in for a real link's RTT"
    )
    ap.add_argument("--keep", action="store_true", help="keep the generated mirror (printed)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-download-"))
    os.environ["ECGCORE_CACHE_DIR"] = str(tmp / "cache")
    if args.mirror:
        root = Path(args.mirror)
    else:
        t, root = timed(lambda: make_demo_dataset(tmp / "mirror", args.n_records, seed=0))
        dl.write_release_files(root)
        print(f"mirror of {args.n_records} demo records generated in {t:.0f} s: {root}", flush=True)
    n_files = len(dl.select(dl.parse_sums((root / dl.SUMS_FILE).read_text()), "100"))
    mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
    server, url = serve(root, args.latency_ms)
    rows = []
    try:
        for w in args.workers:
            s = ours(url, tmp / "ours", w)
            rows.append((f"ecgcore download, {w} connection(s)", s, n_files / s))
            print(f"  {rows[-1][0]}: {s:.2f} s", flush=True)
        pick = dl.POOL_SIZE
        s_ours = ours(url, tmp / "ours", pick)
        s_wget = wget(url, tmp / "wget")
        noop, _ = timed(lambda: dl.download_ptbxl(tmp / "ours", base_url=url))
        (tmp / "ours" / dl.STATE_DIR / "verified.json").unlink()
        rehash, _ = timed(lambda: dl.download_ptbxl(tmp / "ours", base_url=url))
    finally:
        server.terminate()
        server.wait()
    rows += [
        (f"ecgcore download, {pick} (the default), again", s_ours, n_files / s_ours),
        ("wget -r -N -c -np (Debian)", s_wget, n_files / s_wget),
        ("no-op re-run (verified cache)", noop, n_files / noop),
        ("re-run without the cache (re-hash all)", rehash, n_files / rehash),
    ]
    print(
        f"\n{n_files} files ({mb:.0f} MB mirror), loopback + {args.latency_ms:g} ms per request, {os.cpu_count()} cores\n"
    )
    print(f"| {'what':44s} | {'seconds':>8s} | {'files/s':>8s} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 10}|")
    for name, s, rate in rows:
        print(f"| {name:44s} | {s:8.2f} | {rate:8.0f} |")
    print(f"\nwget / ecgcore download ({pick} connections): {s_wget / s_ours:.1f}x")
    if args.keep or args.mirror:
        shutil.rmtree(tmp / "ours", ignore_errors=True)
        shutil.rmtree(tmp / "wget", ignore_errors=True)
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
