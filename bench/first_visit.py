"""First visits: how long each page takes the first time a session opens it, and a fresh server's first page.

    python bench/first_visit.py                                   # this checkout, 1,000 and 21,837 records
    python bench/first_visit.py --app /work/main/streamlit_app.py # another checkout (read-only), for a before/after
    python bench/first_visit.py --records 1000 --train            # with a 1-epoch cnn1d run (Evaluate, Saliency)

Per dataset size, all on 127.0.0.1 and under a temporary folder (``--work``; the demo datasets are
generated once there and reused, the 21,837-record one takes about a minute):

1. **fresh server**: ``streamlit run``, then ``/`` opened in headless Chromium, timed to interactive
   (heading shown, script run over), including the server's imports. At 1,000 records once with an
   empty cache folder and no data folder (so the default demo set is generated and cached in the
   request), and at every size with the signal cache built beforehand.
2. **first visits**: a new server; ``--sessions`` browser contexts one after the other (each a new
   Streamlit session) open ``/`` by URL, then every page through the sidebar, each timed from the
   click to interactive (``--pause S``: S seconds between a page being interactive and the next
   click, as a user reading it; default 0: clicks as fast as the pages allow).

``--launch ecgcore`` starts every server with ``python -m ecgcore app`` (in the folder of ``--app``), which
imports torch & co. before it listens. The table also says how long a fresh server took to be healthy.

Prints a markdown table per size (and writes them to ``--out`` if given). Not a test: timings depend
on the machine. Uses Debian's Chromium through Playwright's ``executable_path`` (ECG_E2E_CHROMIUM).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the browser and server helpers of load_app
from load_app import CHROMIUM, CHROMIUM_ARGS, CONNECTED, IDLE, PAGES, free_port, healthy  # noqa: E402

TIMEOUT_MS = 600_000


LAUNCH = {"how": "streamlit"}  # --launch: `streamlit run APP`, or `python -m ecgcore app` (imports first)


class Server:
    """``streamlit run APP`` (or ``python -m ecgcore app``) on a free port, in its own process group
    (stopped on exit); ``start_s``: seconds from the command to a healthy server."""

    def __init__(self, app: Path, env: dict, log: Path):
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        if LAUNCH["how"] == "ecgcore":
            command = [sys.executable, "-m", "ecgcore", "app", "--server.port", port]
        else:
            command = [sys.executable, "-m", "streamlit", "run", app.name, "--server.port", port]
        command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
        t0 = time.perf_counter()
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=app.parent,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.time() + 90
        while not healthy(self.url):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise SystemExit(f"the app did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        self.start_s = time.perf_counter() - t0

    def stop(self) -> None:
        try:
            os.killpg(os.getpgid(self.proc.pid), signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
            try:
                os.killpg(os.getpgid(self.proc.pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def ready(page, name: str) -> None:
    """Wait until page ``name`` is interactive: its heading shown and Streamlit's run over."""
    heading = page.locator("h1").filter(has_text=re.compile(rf"^\s*{re.escape(PAGES[name][2])}\s*$"))
    heading.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.wait_for_selector(CONNECTED, timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    heading.wait_for(state="visible", timeout=TIMEOUT_MS)
    if page.locator('[data-testid="stException"]').count():
        print(f"  ! {name}: an exception is shown", file=sys.stderr)


def open_url(browser, url: str, name: str = "home") -> tuple[object, float]:
    """A new context (a new Streamlit session) on ``url/<page>``; returns (page, seconds to interactive)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(f"{url}/{PAGES[name][0]}", timeout=TIMEOUT_MS)
    ready(page, name)
    return page, time.perf_counter() - t0


def sidebar(page, name: str) -> float:
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=PAGES[name][1]).click()
    page.wait_for_url(re.compile(rf"/{PAGES[name][0]}(\?.*)?$"), timeout=TIMEOUT_MS)
    ready(page, name)
    return time.perf_counter() - t0


def demo_data(work: Path, n: int) -> Path:
    """The demo dataset of ``n`` records under ``work`` (generated once, reused)."""
    root = work / f"demo_{n}"
    if not (root / "ptbxl_database.csv").is_file():
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ecgcore", "demo-data", "--out", str(root), "--n_records", str(n), "--seed", "0"],
            cwd=PROJECT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"generated {n:,} demo records in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return root


def prepare(work: Path, n: int, train: bool) -> dict:
    """The demo dataset of ``n`` records, its signal cache and (``train``) a 1-epoch cnn1d fold-0 run,
    built once under ``work`` and reused by every later call (before and after a change alike)."""
    data_root = demo_data(work, n)
    env = os.environ | {"ECGCORE_CACHE_DIR": str(work / f"cache_{n}"), "ECGCORE_RUNS_DIR": str(work / f"runs_{n}")}
    env |= {"ECGCORE_DATA_ROOT": str(data_root), "PYTHONUNBUFFERED": "1"}
    quiet = {"cwd": PROJECT, "env": env, "check": True, "stdout": subprocess.DEVNULL}
    if not (work / f"cache_{n}" / "signals").is_dir():
        subprocess.run([sys.executable, "-m", "ecgcore", "info", "--data_root", str(data_root)], **quiet)
    if train and not list((work / f"runs_{n}").glob("**/best.pt")):
        argv = ["train", "--data_root", str(data_root), "--model", "cnn1d", "--fold", "0", "--epochs", "1"]
        subprocess.run([sys.executable, "-m", "ecgcore", *argv], **quiet)
    return env


def first_page(browser, app: Path, env: dict, log: Path) -> tuple[float, float | None]:
    """Seconds from starting a server to healthy, and from its first request for ``/`` to interactive
    (None: timed out)."""
    server = Server(app, env, log)
    try:
        return server.start_s, open_url(browser, server.url)[1]
    except Exception as e:  # a timeout is a result here, not a reason to lose the table
        print(f"  ! fresh server: {type(e).__name__}", file=sys.stderr)
        return server.start_s, None
    finally:
        server.stop()


def measure(app: Path, work: Path, n: int, sessions: int, train: bool, pause: float = 0.0) -> str:
    from playwright.sync_api import sync_playwright

    env = prepare(work, n, train)
    tag = f"{n}_{time.time_ns()}"
    rows: list[tuple[str, str, float | None]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            if n == 1000:  # the default demo set: generated by the first request into an empty cache folder
                fresh = {k: v for k, v in env.items() if k != "ECGCORE_DATA_ROOT"}
                fresh["ECGCORE_CACHE_DIR"] = str(work / f"empty_cache_{tag}")
                start, seconds = first_page(browser, app, fresh, work / f"server_{tag}_empty.log")
                rows.append(("fresh server, empty cache: first page (demo generated, cache built)", "url", seconds))
            start, seconds = first_page(browser, app, env, work / f"server_{tag}_fresh.log")
            rows.append(("fresh server: from the command to a healthy server", "start", start))
            rows.append(("fresh server, warm signal cache: first page", "url", seconds))
            server = Server(app, env, work / f"server_{tag}.log")
            try:
                for s in range(1, sessions + 1):
                    page, seconds = open_url(browser, server.url)
                    rows.append((f"session {s}: home" + (" (server's first page)" if s == 1 else ""), "url", seconds))
                    for name in [*list(PAGES)[1:], "home"]:
                        time.sleep(pause)  # a user reading the page before the next click
                        step = f"session {s}: {name}" + (" (again)" if name == "home" else "")
                        rows.append((step, "sidebar", sidebar(page, name)))
                    page.context.close()
            finally:
                server.stop()
        finally:
            browser.close()
    lines = [
        f"## {n:,} demo records — {app}" + (" via python -m ecgcore app" if LAUNCH["how"] == "ecgcore" else ""),
        "",
        f"{os.cpu_count()} cores; headless Chromium; {'with' if train else 'without'} a trained cnn1d run; "
        + (
            f"{pause:g} s pause before each sidebar click."
            if pause
            else "each sidebar click as soon as the page is interactive."
        ),
        "",
        "| step | how | s (to interactive; start: to a healthy server) |",
        "|---|---|---:|",
    ]
    lines += [f"| {step} | {how} | {'timeout' if sec is None else f'{sec:.2f}'} |" for step, how, sec in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--app", type=Path, default=PROJECT / "streamlit_app.py", help="the app's entry script")
    p.add_argument("--records", type=int, nargs="+", default=[1000, 21837], help="demo dataset sizes")
    p.add_argument("--sessions", type=int, default=2, help="browser sessions, one after the other")
    p.add_argument(
        "--launch",
        choices=("streamlit", "ecgcore"),
        default="streamlit",
        help="start servers with `streamlit run APP` (default) or `python -m ecgcore app` (heavy imports first)",
    )
    p.add_argument(
        "--pause", type=float, default=0.0, help="seconds between a page being interactive and the next click"
    )
    p.add_argument("--train", action="store_true", help="train a 1-epoch cnn1d fold-0 run first")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ecg_first_visit")
    p.add_argument("--out", type=Path, help="also write the tables here (markdown)")
    args = p.parse_args()
    LAUNCH["how"] = args.launch
    args.work.mkdir(parents=True, exist_ok=True)
    tables = []
    for n in args.records:
        tables.append(measure(args.app.resolve(), args.work, n, args.sessions, args.train, args.pause))
        print(tables[-1], flush=True)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text("\n".join(tables))


if __name__ == "__main__":
    main()
