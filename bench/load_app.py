"""Load on the app: several browser sessions at once while a training runs (local only, bounded).

    python bench/load_app.py                      # 3 sessions, each page opened 2 times by each
    python bench/load_app.py --sessions 3 --rounds 4 --out bench/results/load_app.md

What it does, all on 127.0.0.1 and in a temporary folder (nothing outside it is touched):

1. writes a small demo dataset, starts ``streamlit run streamlit_app.py`` on a free port, and starts a
   long background training through ``ecgcore.jobs.submit`` (the function the Train page calls);
2. opens ``--sessions`` browser contexts (separate Streamlit sessions) in one headless Chromium
   (Debian's ``/usr/bin/chromium`` through Playwright's ``executable_path``), all at once: each opens
   the app by URL, then goes through every page of streamlit_app.py ``--rounds`` times with the sidebar
   navigation, timing each page from the click to interactive (heading shown, script run over);
3. checks that the sessions do not share state: on the Dataset page every session picks a different
   record at the same moment, then each reruns its page and must still see its own record (the chart
   title and file name), not another session's;
4. checks that no page showed an exception or a JavaScript error and that the training kept running;
5. prints the page times as a markdown table (and writes it to ``--out``), then stops the server and
   the training (its whole process group) whatever happened.

Not a test (timings depend on the machine): run it by hand. Exit status 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

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
RUN_TIMEOUT_MS = 120_000

# The pages of streamlit_app.py: name → (url path, sidebar label, heading)
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


def kill_group(pid: int | None, sig: int = signal.SIGKILL) -> None:
    if not pid:
        return
    try:
        os.killpg(os.getpgid(pid), sig)
    except (ProcessLookupError, PermissionError):
        pass


class Session:
    """One browser context = one Streamlit session, with Streamlit-aware waits and timings."""

    def __init__(self, name: str, context, url: str):
        self.name, self.context, self.url = name, context, url
        self.page = None
        self.times: list[tuple[str, str, float]] = []  # (page, how, seconds)
        self.problems: list[str] = []

    async def open(self) -> None:
        self.page = await self.context.new_page()
        self.page.set_default_timeout(RUN_TIMEOUT_MS)
        self.page.on("pageerror", lambda e: self.problems.append(f"{self.name}: JavaScript error: {e}"))
        t0 = time.perf_counter()
        await self.page.goto(self.url)
        await self.ready("home")
        self.times.append(("home", "url (new session)", time.perf_counter() - t0))

    async def idle(self) -> None:
        await self.page.wait_for_selector(CONNECTED)
        await self.page.wait_for_selector(IDLE)

    async def ready(self, name: str) -> None:
        heading = self.page.locator("h1").filter(has_text=re.compile(rf"^\s*{re.escape(PAGES[name][2])}\s*$"))
        await heading.wait_for(state="visible")
        await self.idle()
        await heading.wait_for(state="visible")
        exceptions = self.page.locator('[data-testid="stException"]')
        if await exceptions.count():
            self.problems.append(f"{self.name}: exception on {name}: {(await exceptions.first.inner_text())[:300]}")

    async def nav(self, name: str) -> None:
        t0 = time.perf_counter()
        await self.page.locator('[data-testid="stSidebarNav"] a').filter(has_text=PAGES[name][1]).click()
        await self.page.wait_for_url(re.compile(rf"/{PAGES[name][0]}(\?.*)?$"))
        await self.ready(name)
        self.times.append((name, "sidebar", time.perf_counter() - t0))

    async def settle(self) -> None:
        await self.page.wait_for_timeout(300)
        await self.idle()

    async def pick_record(self, ecg_id: int) -> None:
        box = self.page.locator(".st-key-ds_ecg_id input")
        await box.fill(str(ecg_id))
        await box.press("Enter")
        await self.settle()

    async def shown_record(self) -> tuple[str, str]:
        """(chart title, main text) of the Dataset page's record view."""
        plot = self.page.locator(".st-key-ds_ecg .js-plotly-plot").first
        await plot.wait_for()
        title = await plot.evaluate("el => ((el.layout || {}).title || {}).text || ''")
        text = await self.page.locator('[data-testid="stMain"]').inner_text()
        return title, text


async def drive(
    url: str, n_sessions: int, rounds: int, records: list[tuple[int, str]]
) -> tuple[list[Session], list[str]]:
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            sessions = [
                Session(f"session {i + 1}", await browser.new_context(viewport={"width": 1400, "height": 1000}), url)
                for i in range(n_sessions)
            ]
            await asyncio.gather(*(s.open() for s in sessions))

            async def tour(s: Session) -> None:
                for _ in range(rounds):
                    for name in [*list(PAGES)[1:], "home"]:
                        await s.nav(name)

            await asyncio.gather(*(tour(s) for s in sessions))

            # shared-state check: every session picks its own record at the same moment, then reruns
            await asyncio.gather(*(s.nav("dataset") for s in sessions))
            await asyncio.gather(*(s.pick_record(records[i][0]) for i, s in enumerate(sessions)))
            await asyncio.gather(*(s.page.locator(".st-key-ds_stacked label").click() for s in sessions))
            await asyncio.gather(*(s.settle() for s in sessions))
            for i, s in enumerate(sessions):
                ecg_id, filename = records[i]
                title, text = await s.shown_record()
                others = [e for j, (e, _) in enumerate(records) if j != i]
                if f"ecg_id {ecg_id} " not in title + " " or filename not in text:
                    problems.append(f"{s.name}: picked ecg_id {ecg_id} but sees {title!r}")
                if any(f"ecg_id {e} " in title + " " for e in others):
                    problems.append(f"{s.name}: sees another session's record: {title!r}")
            for s in sessions:
                problems += s.problems
            return sessions, problems
        finally:
            await browser.close()


def times_table(sessions: list[Session]) -> str:
    rows = [(page, how, secs) for s in sessions for page, how, secs in s.times]
    lines = ["| page | navigation | n | median s | p90 s | max s |", "|---|---|---:|---:|---:|---:|"]
    for page in PAGES:
        for how in ("url (new session)", "sidebar"):
            values = sorted(secs for p, h, secs in rows if p == page and h == how)
            if not values:
                continue
            p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
            lines.append(
                f"| {page} | {how} | {len(values)} | {statistics.median(values):.2f} | {p90:.2f} | {values[-1]:.2f} |"
            )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2, help="times each session goes through every page")
    p.add_argument("--records", type=int, default=200, help="demo records")
    p.add_argument("--epochs", type=int, default=500, help="of the background training (cancelled at the end)")
    p.add_argument("--out", default=None, help="also write the report (markdown) here")
    p.add_argument("--timeout", type=float, default=900, help="seconds for the whole load phase")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="ecgcore-load-") as tmp:
        tmp = Path(tmp)
        env = {
            "ECGCORE_CACHE_DIR": str(tmp / "cache"),
            "ECGCORE_RUNS_DIR": str(tmp / "runs"),
            "ECGCORE_MAX_TRAININGS": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(env)  # before ecgcore is imported: this process submits the training
        from ecgcore import background, jobs
        from ecgcore.background import FINAL
        from ecgcore.demo import make_demo_dataset
        from ecgcore.run_paths import RunPaths
        from ecgcore.runs import read_status, run_state
        from ecgcore.sources import load_ptbxl

        data_root = make_demo_dataset(tmp / "demo", n_records=args.records, seed=0)
        ds = load_ptbxl(data_root)  # builds the signal cache once, for the server and the training
        os.environ["ECGCORE_DATA_ROOT"] = str(data_root)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        server = None
        run = RunPaths.of(ds.name, ds.label_set, "cnn1d", 0).folder
        try:
            with open(log_path, "w") as log:
                server = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "streamlit",
                        "run",
                        "streamlit_app.py",
                        "--server.port",
                        str(port),
                        "--server.address",
                        "127.0.0.1",
                        "--server.headless",
                        "true",
                        "--browser.gatherUsageStats",
                        "false",
                    ],
                    cwd=PROJECT,
                    env=os.environ.copy(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            deadline = time.time() + 90
            while not healthy(url):
                if server.poll() is not None or time.time() > deadline:
                    print(log_path.read_text()[-3000:], file=sys.stderr)
                    raise SystemExit("the app did not come up")
                time.sleep(0.5)
            jobs.submit(
                run,
                jobs.train_job(
                    str(data_root), "cnn1d", 0, given={"epochs": args.epochs, "batch_size": 16}, evaluate=False
                ),
            )
            deadline = time.time() + 120
            while run_state(run) != "running":
                if time.time() > deadline or run_state(run) in FINAL:
                    raise SystemExit(
                        f"the training did not start: {run_state(run)}\n{(run / 'train.log').read_text()[-2000:]}"
                    )
                time.sleep(0.2)
            epoch_before = (read_status(run) or {}).get("epoch")

            table = ds.records[["ecg_id", "filename"]]
            picks = [
                (int(table["ecg_id"].iloc[k]), str(table["filename"].iloc[k]))
                for k in (len(table) // (args.sessions + 1) * (i + 1) for i in range(args.sessions))
            ]
            t0 = time.perf_counter()
            sessions, problems = asyncio.run(
                asyncio.wait_for(drive(url, args.sessions, args.rounds, picks), args.timeout)
            )
            wall = time.perf_counter() - t0

            state = run_state(run)
            epoch_after = (read_status(run) or {}).get("epoch")
            if state != "running":
                problems.append(f"the training is {state} after the load, not running")
            report = (
                f"# App under load: {args.sessions} sessions × {args.rounds} rounds of {len(PAGES)} pages, while a training runs\n\n"
                f"{os.cpu_count()} cores; app on {url}; {ds.description}; Chromium headless; {wall:.0f} s in all.\n"
                f"Training (cnn1d, batch 16, 1 OpenMP thread): state {state}, completed epoch "
                f"{epoch_before} → {epoch_after} during the load.\n\n"
                f"Seconds from navigation to interactive (heading shown, script run over):\n\n{times_table(sessions)}\n\n"
                f"Shared-state check: each session picked its own record (ecg_id {', '.join(str(e) for e, _ in picks)}) "
                f"at the same moment and reran: {'OK' if not any('record' in x for x in problems) else 'FAILED'}.\n"
                f"Problems: {json.dumps(problems, indent=1) if problems else 'none'}\n"
            )
            print(report)
            if args.out:
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).write_text(report)
            return 1 if problems else 0
        finally:
            if run_state(run) in ("queued", "starting", "running"):
                jobs.cancel(run, grace_s=5)
            for pid, proc in list(background._children.items()):  # the training this script started, if still there
                if proc.poll() is None:
                    kill_group(pid)
                proc.wait(timeout=10)
            if server is not None:
                kill_group(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    kill_group(server.pid)
                    server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
