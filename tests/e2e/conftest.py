"""Fixtures of the end-to-end tests: the real app (``streamlit run streamlit_app.py``) on a free port of
127.0.0.1 with a small temporary demo dataset, driven by Playwright through Debian's Chromium.

* ``browser_type_launch_args`` (pytest-playwright's, overridden): ``/usr/bin/chromium`` through
  ``executable_path``, headless, with the flags a machine without network needs. A missing browser
  skips the tests — and fails them under CI=true.
* ``app_server`` (session): the demo dataset (200 records), temporary cache and runs folders, one
  training at a time, one OpenMP thread; the server runs in its own process group and is stopped,
  with every training process it started, when the session ends.
* ``ui``: a Playwright page on the app with helpers that wait for Streamlit to finish running, time
  each page's navigation (printed at the end of the session and written to
  ``test-artifacts/e2e_page_times.txt``) and save full-page screenshots to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("ECG_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # no network here: without these, Chromium's own background connections are refused many at a time
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = PROJECT / "test-artifacts"
SHOTS = ARTIFACTS / "e2e"
TIMES_FILE = ARTIFACTS / "e2e_page_times.txt"
DEMO_RECORDS = 200
HEALTH_TIMEOUT_S = 60
RUN_TIMEOUT_MS = 90_000  # one script run; the first one imports torch and builds the signal cache
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'

# Pages: name → (url path, sidebar label, main heading). st.Page derives the url path from the file name.
PAGES = {
    "home": ("", "Home", "ECG explorer"),
    "dataset": ("dataset", "Dataset", "Dataset"),
    "train": ("train", "Train", "Train"),
    "evaluate": ("evaluate", "Evaluate", "Evaluate"),
    "sweeps": ("sweeps", "Sweeps", "Sweeps"),
    "saliency": ("saliency", "Saliency", "Saliency"),
    "predict": ("predict", "Predict", "Predict"),
}

# Plotly keeps typed arrays as {dtype, bdata, shape} in gd.data and decodes them in gd._fullData.
_TRACES_JS = """el => {
    const size = v => v == null ? 0 : (v.length !== undefined ? v.length
        : (v.bdata ? Math.floor(atob(v.bdata).length / ({i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, f4: 4, f8: 8}[v.dtype] || 8)) : 0));
    const full = el._fullData || [];
    return (el.data || []).map((t, i) => ({
        type: t.type || 'scatter', name: t.name || '', role: (t.meta || {}).role || '', cls: (t.meta || {}).class || '',
        n: Math.max(size(t.x), size(t.z), size((full[i] || {}).x), size((full[i] || {}).z)),
    }));
}"""

PAGE_TIMES: list[tuple[str, str, float]] = []  # (step, how, seconds to interactive)


# ----------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options, with Debian's Chromium (``playwright install`` cannot
    download browsers here)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        message = f"no Chromium at {CHROMIUM} (Debian package 'chromium'; ECG_E2E_CHROMIUM names another)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " — CI must run the end-to-end tests")
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


# ----------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().decode().strip() == "ok"
    except OSError:
        return False


def _training_pids(runs_dir: Path) -> set[int]:
    """Live processes started for this runs folder: the pids in its status.json files, and any
    process of ours whose environment names the folder (training processes get ECGCORE_RUNS_DIR)."""
    pids: set[int] = set()
    for status in runs_dir.glob("**/status.json"):
        try:
            pid = json.loads(status.read_text()).get("pid")
        except (OSError, ValueError):
            continue
        if isinstance(pid, int) and pid > 0:
            pids.add(pid)
    needle = f"ECGCORE_RUNS_DIR={runs_dir.resolve()}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if proc.stat().st_uid != os.getuid():
                continue
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                pids.add(int(proc.name))
        except OSError:
            continue
    return {p for p in pids if _alive(p)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _stop(server: subprocess.Popen, runs_dir: Path) -> list[int]:
    """Stop the server's process group and the training processes; returns the pids that were still
    training (each in its own session, so killing the server's group does not reach them)."""
    trainings = _training_pids(runs_dir)
    for pid in trainings:
        _kill_group(pid, signal.SIGTERM)
    _kill_group(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _kill_group(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in trainings | _training_pids(runs_dir)):
        time.sleep(0.2)
    for pid in trainings | _training_pids(runs_dir):
        _kill_group(pid, signal.SIGKILL)
    return sorted(trainings)


def start_server(env: dict, log_path: Path, url: str) -> subprocess.Popen:
    """``streamlit run streamlit_app.py`` on ``url``'s port of 127.0.0.1 in its own process group,
    returned once /_stcore/health answers (a health check runs no script: no session has opened a
    page yet)."""
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", url.rsplit(":", 1)[1]]
    command += ["--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.time() + HEALTH_TIMEOUT_S
    while not _healthy(url):
        if server.poll() is not None or time.time() > deadline:
            _kill_group(server.pid, signal.SIGKILL)
            raise RuntimeError(f"the app did not come up on {url}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    return server


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, browser_type_launch_args):
    """The app on a free port of 127.0.0.1: {url, data_root, runs_dir, cache_dir, log}. (It asks for the
    launch options first so that a missing browser skips, or fails, before a server is started.)"""
    from ecgcore.demo import make_demo_dataset

    base = tmp_path_factory.mktemp("e2e")
    data_root = make_demo_dataset(base / "demo", n_records=DEMO_RECORDS, seed=0)
    runs_dir, cache_dir = base / "runs", base / "cache"
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_path = SHOTS / "server.log"
    url = f"http://127.0.0.1:{_free_port()}"
    env = os.environ | {
        "ECGCORE_DATA_ROOT": str(data_root),
        "ECGCORE_CACHE_DIR": str(cache_dir),
        "ECGCORE_RUNS_DIR": str(runs_dir),
        "ECGCORE_MAX_TRAININGS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    server = start_server(env, log_path, url)
    try:
        yield {"url": url, "data_root": data_root, "runs_dir": runs_dir, "cache_dir": cache_dir, "log": log_path}
    finally:
        _stop(server, runs_dir)
        left = _training_pids(runs_dir) | ({server.pid} if _alive(server.pid) else set())
        assert not left, f"processes left running after the e2e session: {sorted(left)}"


# ----------------------------------------------------------------------------- driving the app


class UI:
    """A Playwright page on the app, with Streamlit-aware waits."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.set_default_timeout(RUN_TIMEOUT_MS)

    # -- waiting
    def heading(self, title: str):
        return self.page.locator("h1").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))

    def idle(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """Wait until Streamlit has finished running the script (connected, not running)."""
        self.page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
        self.page.wait_for_selector(IDLE, timeout=timeout_ms)

    def settle(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """After an interaction: wait for the rerun it triggers to start (a very short one may be
        missed, hence the short timeout), then until it is over."""
        try:
            self.page.wait_for_selector(RUNNING, timeout=1_500)
        except PlaywrightTimeout:
            pass
        self.idle(timeout_ms)

    def ready(self, name: str) -> None:
        """The page ``name`` is interactive: its heading is shown and the script run is over."""
        title = PAGES[name][2]
        self.heading(title).wait_for(state="visible")
        self.idle()
        self.heading(title).wait_for(state="visible")  # still this page once the run is over
        exceptions = self.page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()

    # -- navigation
    def goto(self, name: str, step: str | None = None) -> float:
        """Open a page by its URL (a new Streamlit session); returns the seconds to interactive."""
        cold = not PAGE_TIMES  # the server's first run: imports torch, builds the signal cache
        t0 = time.perf_counter()
        self.page.goto(f"{self.url}/{PAGES[name][0]}")
        self.ready(name)
        return self.timed((step or name) + (" (cold server)" if cold else ""), "url", t0)

    def nav(self, name: str, step: str | None = None) -> float:
        """Open a page with the sidebar navigation (same session); returns the seconds to interactive."""
        t0 = time.perf_counter()
        self.page.locator('[data-testid="stSidebarNav"] a').filter(has_text=PAGES[name][1]).click()
        self.page.wait_for_url(re.compile(rf"/{PAGES[name][0]}(\?.*)?$"))
        self.ready(name)
        return self.timed(step or name, "sidebar", t0)

    @contextmanager
    def timing(self, step: str):
        """Time an interaction (from the action to its result, both inside the block) for the table."""
        t0 = time.perf_counter()
        yield
        self.timed(step, "action", t0)

    def timed(self, step: str, how: str, t0: float) -> float:
        """Record the seconds since ``t0`` (time.perf_counter) for the page-time table."""
        seconds = time.perf_counter() - t0
        PAGE_TIMES.append((step, how, seconds))
        return seconds

    # -- widgets (found by their key: Streamlit gives the element the class st-key-<key>)
    def widget(self, key: str):
        return self.page.locator(f".st-key-{key}")

    def select(self, key: str, option: str | re.Pattern) -> None:
        """Choose ``option`` (its shown text) in the selectbox ``key`` (a react-aria combobox: its
        button opens the list of options)."""
        self.settle()  # a rerun in flight can swallow the click that opens the list: open it when idle
        wanted = self.page.locator('[role="option"]').filter(has_text=option).first
        for attempt in range(3):
            self.widget(key).locator('button[aria-haspopup="listbox"]').click()
            try:
                wanted.wait_for(timeout=15_000)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
                self.page.keyboard.press("Escape")
                self.settle()
        wanted.click()
        self.settle()

    def select_nth(self, key: str, n: int) -> str:
        """Choose the ``n``-th option (0-based; negative from the end) of the selectbox ``key``; returns its text."""
        self.widget(key).locator('button[aria-haspopup="listbox"]').click()
        options = self.page.locator('[role="option"]')
        options.first.wait_for()
        option = options.nth(n if n >= 0 else options.count() + n)
        text = option.inner_text().strip()
        option.click()
        self.settle()
        return text

    def selected(self, key: str) -> str:
        return self.widget(key).locator('input[role="combobox"]').input_value().strip()

    def fill(self, key: str, value) -> None:
        """Type ``value`` into the text or number input ``key`` and commit it (Enter)."""
        box = self.widget(key).locator("input")
        box.fill(str(value))
        box.press("Enter")
        self.settle()

    def metric(self, label: str, timeout_ms: int | None = None) -> str:
        box = self.page.locator('[data-testid="stMetric"]').filter(
            has=self.page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
        )
        return box.locator('[data-testid="stMetricValue"]').first.inner_text(timeout=timeout_ms).strip()

    def text(self) -> str:
        return self.page.locator('[data-testid="stMain"]').inner_text()

    # -- plotly charts
    def traces(self, chart, timeout_ms: int | None = None) -> list[dict]:
        """Type, name, meta role and class, and point count of each trace of a rendered plotly chart."""
        return chart.locator(".js-plotly-plot").first.evaluate(_TRACES_JS, timeout=timeout_ms)

    def chart(self, key: str, title_has: str = "", timeout_ms: int = RUN_TIMEOUT_MS):
        """The plotly chart ``key`` once drawn (and its title holds ``title_has``)."""
        self.widget(key).locator(".js-plotly-plot").first.wait_for(state="visible", timeout=timeout_ms)
        self.page.wait_for_function(
            """([sel, text]) => { const el = document.querySelector(sel);
                 return !!el && !!el.data && (((el.layout || {}).title || {}).text || '').includes(text); }""",
            arg=[f".st-key-{key} .js-plotly-plot", title_has],
            timeout=timeout_ms,
        )
        return self.widget(key)

    # -- artefacts
    def shot(self, step: str) -> Path:
        """A full-page screenshot. Streamlit scrolls its main area inside the window, so a full_page
        screenshot alone holds one window's height: the window is made as tall as the content first."""
        path = SHOTS / f"{step}.png"
        size = self.page.viewport_size
        height = self.page.evaluate(
            """() => Math.max(...['html', '[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
                   '[data-testid="stSidebarContent"]'].map(s => document.querySelector(s))
                   .filter(Boolean).map(e => e.scrollHeight))"""
        )
        self.page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 12_000)})
        try:
            self.page.wait_for_timeout(800)  # charts and tables draw what just came into view
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(size)
        return path


@pytest.fixture(scope="session")
def deep_demo(tmp_path_factory, browser_type_launch_args) -> dict:
    """A 200-record demo dataset with its signal cache built, for fresh servers: {root, env}."""
    from ecgcore.demo import make_demo_dataset

    base = tmp_path_factory.mktemp("deep")
    root = make_demo_dataset(base / "demo", n_records=DEMO_RECORDS, seed=0)
    env = os.environ | {
        "ECGCORE_CACHE_DIR": str(base / "cache"),
        "ECGCORE_DATA_ROOT": str(root),
        "OMP_NUM_THREADS": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "ecgcore", "info", "--data_root", str(root)], env=env, check=True, cwd=PROJECT
    )
    return {"root": root, "env": env}


@contextmanager
def serving(page, env: dict, runs_dir: Path, log_dir: Path):
    """A UI on a newly started server of ``env`` (no session has opened it yet); on leaving, no JavaScript
    error may have happened and the server and the trainings it started are stopped."""
    url = f"http://127.0.0.1:{_free_port()}"
    server = start_server(env, log_dir / "server.log", url)
    try:
        ui = UI(page, url)
        yield ui
        assert not ui.errors, f"JavaScript errors in the page: {ui.errors}"
    finally:
        _stop(server, runs_dir)


def open_fold_ensemble(ui: UI, n_members: int) -> str:
    """Choose "all folds" on Saliency and check that the part picker and the ensemble's statement agree
    (no part "never seen" by every member) and that the members' spread is said; returns the page text."""
    ui.widget("sal_members").get_by_text(f"all folds ({n_members})").click()
    ui.settle()
    text = ui.text()
    assert "Not a test record of the ensemble" in text and "never seen" not in ui.selected("sal_part")
    assert re.search(rf"The {n_members} fold members agree on every class|both sides of the threshold", text), text
    return text


@pytest.fixture
def fresh_ui(page, deep_demo, tmp_path) -> UI:
    """A UI on a newly started server that no session has opened yet (its own runs folder)."""
    runs_dir = tmp_path / "runs"
    with serving(page, deep_demo["env"] | {"ECGCORE_RUNS_DIR": str(runs_dir)}, runs_dir, tmp_path) as ui:
        yield ui


@pytest.fixture
def e2e_pages() -> dict:
    """name → (url path, sidebar label, heading) of the app's pages."""
    return dict(PAGES)


@pytest.fixture
def ui(page, app_server) -> UI:
    ui = UI(page, app_server["url"])
    yield ui
    assert not ui.errors, f"JavaScript errors in the page: {ui.errors}"


# ----------------------------------------------------------------------------- the page-time table


def _times_table() -> str:
    lines = [f"{'step':<40} {'how':<8} {'s to interactive':>16}", "-" * 66]
    lines += [f"{step:<40} {how:<8} {seconds:>16.2f}" for step, how, seconds in PAGE_TIMES]
    return "\n".join(lines) + "\n"


def pytest_sessionfinish(session, exitstatus):
    if PAGE_TIMES:
        TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
        TIMES_FILE.write_text(
            "Seconds from navigation (url: a new session; sidebar: the same session) to interactive (the page's "
            "heading shown and Streamlit's run over), and from an action to its result; headless Chromium, "
            f"{os.cpu_count()} CPU(s). Noisy: reported, not asserted.\n\n" + _times_table()
        )


def pytest_terminal_summary(terminalreporter):
    if PAGE_TIMES:
        terminalreporter.section("e2e page times")
        terminalreporter.write(_times_table())
        terminalreporter.write_line(f"(written to {TIMES_FILE.relative_to(PROJECT)})")
