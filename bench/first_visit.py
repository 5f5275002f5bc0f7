"""First visits: how long each page takes the first time a session opens it, and a fresh server's first page.

    python bench/first_visit.py                                   # this checkout, 1,000 and 21,837 records
    python bench/first_visit.py --app /work/main/streamlit_app.py # another checkout (read-only), for a before/after
    python bench/first_visit.py --records 1000 --train            # with a 1-epoch cnn1d run (Evaluate, Saliency)

Per dataset size, all on 127.0.0.1 and under a temporary folder (``--work``; the demo datasets are
generated once there and reused, the 21,837-record one takes about a minute):

1. **fresh server**: ``streamlit run`` with an empty cache folder, then ``/`` opened in headless
   Chromium, timed to interactive (heading shown, script run over). At 1,000 records no data folder
   is set, so this includes generating the default demo dataset; at other sizes the data folder is
   set and this includes building the signal cache. Either way it includes the server's imports.
2. **first visits**: a new server on the now warm cache; ``--sessions`` browser contexts one after
   the other (each a new Streamlit session) open ``/`` by URL, then every page through the sidebar,
   each timed from the click to interactive.

Prints a markdown table per size (and writes them to ``--out`` if given). Not a test: timings depend
on the machine. Uses Debian's Chromium through Playwright's ``executable_path`` (ECG_E2E_CHROMIUM).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("ECG_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CONNECTED = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
TIMEOUT_MS = 180_000
# name → (url path, sidebar label, heading)
PAGES = {
    "home": ("", "Home", "ECG explorer"),
    "dataset": ("dataset", "Dataset", "Dataset"),
    "train": ("train", "Train", "Train"),
    "evaluate": ("evaluate", "Evaluate", "Evaluate"),
    "saliency": ("saliency", "Saliency", "Saliency"),
    "predict": ("predict", "Predict", "Predict"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class Server:
    """``streamlit run APP`` on a free port, in its own process group (stopped on exit)."""

    def __init__(self, app: Path, env: dict, log: Path):
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "streamlit", "run", app.name, "--server.port", port]
        command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
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
            time.sleep(0.2)

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


def measure(app: Path, work: Path, n: int, sessions: int, train: bool) -> str:
    from playwright.sync_api import sync_playwright

    data_root = demo_data(work, n)
    run_id = f"{n}_{time.time_ns()}"
    cache, runs = work / f"cache_{run_id}", work / f"runs_{run_id}"
    base = os.environ | {"ECGCORE_CACHE_DIR": str(cache), "ECGCORE_RUNS_DIR": str(runs), "PYTHONUNBUFFERED": "1"}
    base.pop("ECGCORE_DATA_ROOT", None)
    fresh_env = base if n == 1000 else base | {"ECGCORE_DATA_ROOT": str(data_root)}
    what = "demo generated in the request" if n == 1000 else "signal cache built in the request"
    rows: list[tuple[str, str, float]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            server = Server(app, fresh_env, work / f"server_{run_id}_fresh.log")
            try:
                _, seconds = open_url(browser, server.url)
                rows.append((f"fresh server, first page ({what})", "url", seconds))
            finally:
                server.stop()
            env = base | {"ECGCORE_DATA_ROOT": str(data_root)}
            if train:
                subprocess.run(
                    [sys.executable, "-m", "ecgcore", "train", "--data_root", str(data_root), "--model", "cnn1d"]
                    + ["--fold", "0", "--epochs", "1"],
                    cwd=app.parent,
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            server = Server(app, env, work / f"server_{run_id}.log")
            try:
                for s in range(1, sessions + 1):
                    page, seconds = open_url(browser, server.url)
                    rows.append(
                        (
                            f"session {s}: home" + (" (server's first page, warm cache)" if s == 1 else ""),
                            "url",
                            seconds,
                        )
                    )
                    for name in list(PAGES)[1:] + ["home"]:
                        rows.append(
                            (
                                f"session {s}: {name}" + (" (again)" if name == "home" else ""),
                                "sidebar",
                                sidebar(page, name),
                            )
                        )
                    page.context.close()
            finally:
                server.stop()
        finally:
            browser.close()
    lines = [
        f"## {n:,} demo records — {app}",
        "",
        f"{os.cpu_count()} cores; headless Chromium; {'with' if train else 'without'} a trained cnn1d run.",
        "",
        "| step | how | s to interactive |",
        "|---|---|---:|",
    ]
    lines += [f"| {step} | {how} | {seconds:.2f} |" for step, how, seconds in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--app", type=Path, default=PROJECT / "streamlit_app.py", help="the app's entry script")
    p.add_argument("--records", type=int, nargs="+", default=[1000, 21837], help="demo dataset sizes")
    p.add_argument("--sessions", type=int, default=2, help="browser sessions, one after the other")
    p.add_argument("--train", action="store_true", help="train a 1-epoch cnn1d fold-0 run first")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ecg_first_visit")
    p.add_argument("--out", type=Path, help="also write the tables here (markdown)")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    tables = [measure(args.app.resolve(), args.work, n, args.sessions, args.train) for n in args.records]
    report = "\n".join(tables)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)


if __name__ == "__main__":
    main()
