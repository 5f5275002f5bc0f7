"""Saliency speed: how long the Saliency page takes to be interactive after each action, in headless Chromium.

    python bench/saliency_speed.py --runs RUNS --data ROOT                      # this checkout
    python bench/saliency_speed.py --runs RUNS --data ROOT --app /tmp/before/streamlit_app.py --out before.md

``RUNS`` is a runs folder with a trained cnn1d run on ``ROOT`` (it is only read); the signal cache goes to
``--work``. One server (``streamlit run APP`` on 127.0.0.1, from :mod:`first_visit`), then:

1. **cold deep link**: the server's first page, ``/saliency?ecg_id=A`` (imports torch, loads the data);
2. **deep links, warm server**: each further id of ``--ids`` in a new Streamlit session, alternately
   (a) in a new browser profile, whose empty HTTP cache fetches and compiles the app's JavaScript and
   plotly.js again, and (b) in a new tab of the browser that opened the first link, as a user who has
   had the app open before (its files cached); medians per kind, each record's map computed once;
3. **method switch** to gradient, then to Grad-CAM, then back to integrated gradients (cached);
4. **class switch**: the "Explain class" box to another class, and back;
5. **record switch**: the next record of the picker, twice;

steps 3–5 ``--repeat`` times (medians, with the range; the split columns are left empty for them).

Each action is timed from the click (or the navigation) to interactive (Streamlit's run over, the map
drawn, two animation frames later), with the time to the first script run's start and from there to the
last run's end, and the number of runs (the rest is the browser drawing). Prints a markdown table (and writes it to ``--out``). Not a test: timings depend on
the machine and its load (``uptime`` is printed with the table).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from first_visit import Server  # noqa: E402
from load_app import CHROMIUM, CHROMIUM_ARGS, CONNECTED, IDLE  # noqa: E402

RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
TIMEOUT_MS = 300_000
VIEWPORT = {"width": 1600, "height": 1000}


WATCH_JS = """() => { const app = document.querySelector('[data-testid="stApp"]'); window.__ran = 0;
    window.__marks = [['click', performance.now()]];
    if (window.__watch) window.__watch.disconnect();
    window.__watch = new MutationObserver(() => {
        const state = app.getAttribute('data-test-script-state');
        window.__marks.push([state, performance.now()]);
        if (state === 'running') window.__ran += 1; });
    window.__watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
DONE_JS = """() => window.__ran > 0 && document.querySelector('[data-testid="stApp"]')
    .getAttribute('data-test-script-state') === 'notRunning'"""
FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def watch(page) -> None:
    """Count the script runs from now on (a MutationObserver: a run shorter than a poll is not missed)."""
    page.evaluate(WATCH_JS)


def settle(page, watched: bool = False) -> None:
    """After an action: wait for its rerun to start and end (``watched``: counted since :func:`watch`),
    then for the map and two animation frames (the browser has drawn it)."""
    if watched:
        page.wait_for_function(DONE_JS, timeout=TIMEOUT_MS, polling=10)
    page.wait_for_selector(CONNECTED, timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    page.locator('.st-key-sal_fig .js-plotly-plot, [data-testid="stException"]').first.wait_for(timeout=TIMEOUT_MS)
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError("the page shows an exception")
    page.evaluate(FRAMES_JS)


INIT_JS = """(() => { window.__marks = [['load', performance.now()]];
    const hook = setInterval(() => { const app = document.querySelector('[data-testid="stApp"]');
        if (!app) return; clearInterval(hook);
        new MutationObserver(() => window.__marks.push([app.getAttribute('data-test-script-state'), performance.now()]))
            .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }, 5); })()"""
LOAD_JS = """() => { const m = window.__marks || []; const run = m.filter(x => x[0] === 'running');
    const idle = m.filter(x => x[0] === 'notRunning');
    return run.length && idle.length ? [run[0][1] / 1000, (idle[idle.length - 1][1] - run[0][1]) / 1000, run.length] : null; }"""


def open_link(browser, url: str, context=None) -> tuple[object, float, tuple | None]:
    """A new session on ``url`` in a new tab of ``context`` (default: a new browser profile): (page, s to
    interactive, (s from navigation to the first script run, s from its start to the last run's end,
    number of runs) or None)."""
    if context is None:
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(INIT_JS)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, timeout=TIMEOUT_MS)
    page.locator("h1").filter(has_text="Saliency").wait_for(timeout=TIMEOUT_MS)
    settle(page)
    return page, time.perf_counter() - t0, page.evaluate(LOAD_JS)


MARKS_JS = """() => { const m = window.__marks || []; const t0 = m.length ? m[0][1] : 0;
    const run = m.filter(x => x[0] === 'running').map(x => x[1]);
    const idle = m.filter(x => x[0] === 'notRunning').map(x => x[1]);
    return run.length && idle.length ? [(run[0] - t0) / 1000, (idle[idle.length - 1] - run[0]) / 1000] : null; }"""
SPLITS: dict[str, tuple[float, float]] = {}  # action → (s from the click to the run's start, s the run took)


def choose(page, key: str, option: str | None = None, nth: int | None = None) -> float | None:
    """Pick ``option`` (text) or the ``nth`` option of selectbox ``key``; seconds from the click to
    interactive (None: the page showed an exception)."""
    page.locator(f".st-key-{key} button[aria-haspopup='listbox']").click()
    options = page.locator('[role="option"]')
    options.first.wait_for(timeout=TIMEOUT_MS)
    target = options.filter(has_text=option).first if option is not None else options.nth(nth)
    watch(page)
    t0 = time.perf_counter()
    target.click()
    try:
        settle(page, watched=True)
    except RuntimeError:
        return None
    seconds = time.perf_counter() - t0
    SPLITS[f"{key}:{option if option is not None else nth}"] = page.evaluate(MARKS_JS)
    return seconds


def column_width(page) -> float:
    """The main column's width (px) at this viewport."""
    return page.locator('[data-testid="stMainBlockContainer"]').first.evaluate(
        "el => el.getBoundingClientRect().width - parseFloat(getComputedStyle(el).paddingLeft) "
        "- parseFloat(getComputedStyle(el).paddingRight)"
    )


def paper_px_per_mm(page) -> float | None:
    """1 mm of ECG paper on screen (px), from the drawn x axis of the paper figure (25 mm/s)."""
    return page.locator(".st-key-sal_fig .js-plotly-plot").first.evaluate(
        "el => { const xa = el._fullLayout && el._fullLayout.xaxis; "
        "return xa ? xa._length / ((xa.range[1] - xa.range[0]) * 25) : null; }"
    )


def actions(page, cls: str, repeat: int) -> list[tuple[str, float | None, str]]:
    """Method, class and record switches, ``repeat`` rounds (each round new records); the median per action
    (the first method round computes the maps; later rounds find them cached, as a user switching back)."""
    import statistics

    steps = [
        (f"method → {n}", "sal_method", n, None) for n in ("Gradient (saliency)", "Grad-CAM", "Integrated gradients")
    ]
    steps += [(f"class → {cls} (new map)", "sal_target", cls, None), ("class → default", "sal_target", "default", None)]
    seen: dict[str, list[float]] = {}
    for r in range(repeat):
        for step, key, option, _ in steps:
            seen.setdefault(step, []).append(choose(page, key, option))
        seen.setdefault("record → the next in the picker (new map)", []).append(
            choose(page, "sal_ecg_id", nth=2 * r + 1)
        )
        seen.setdefault("record → the one after (new map)", []).append(choose(page, "sal_ecg_id", nth=2 * r + 2))
    out = []
    for step, values in seen.items():
        ok = [v for v in values if v is not None]
        label = f"{step} (median of {len(ok)}; min {min(ok):.2f}, max {max(ok):.2f})" if len(ok) > 1 else step
        out.append((label, statistics.median(ok) if ok else None, ""))
    return out


def warm_links(browser, user, url: str, ids) -> list[tuple[str, float | None, str]]:
    """Deep links to ``ids`` on the warm server, alternately in a new browser profile and in a new tab of
    ``user``: a row per kind (median, range, and the median split into its parts)."""
    import statistics

    kinds = {"new browser profile (nothing cached)": None, "new tab of a browser that opened the app": user}
    seen: dict[str, list[tuple[float, tuple]]] = {k: [] for k in kinds}
    for n, ecg_id in enumerate(ids):
        kind = list(kinds)[n % 2]
        page, s, marks = open_link(browser, f"{url}/saliency?ecg_id={ecg_id}", kinds[kind])
        seen[kind].append((s, marks or (None, None, 1)))
        page.context.close() if kinds[kind] is None else page.close()
    rows = []
    for kind, got in seen.items():
        if not got:
            continue
        times = [s for s, _ in got]
        split = f"link:{kind}"
        parts = [[m[j] for _, m in got if m[j] is not None] for j in (0, 1)]
        SPLITS[split] = tuple(statistics.median(p) if p else None for p in parts)
        rows.append((f"warm server, {kind}: deep link to a new record (median of {len(times)}; "
                     f"min {min(times):.2f}, max {max(times):.2f})", statistics.median(times), split))  # fmt: skip
    return rows


def measure(
    app: Path, env: dict, work: Path, ids: tuple[int, ...], cls: str, repeat: int = 1
) -> list[tuple[str, float | None, str]]:
    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, float | None, str]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        server = Server(app, env, work / f"server_{time.time_ns()}.log")
        try:
            page, s, marks = open_link(browser, f"{server.url}/saliency?ecg_id={ids[0]}")
            rows.append((f"cold server: deep link /saliency?ecg_id={ids[0]}", s, "link:cold"))
            SPLITS["link:cold"] = marks
            user = page.context  # a browser that has opened the app: its files are in the HTTP cache
            page.close()
            rows += warm_links(browser, user, server.url, ids[1:])
            page, _, _ = open_link(browser, f"{server.url}/saliency?ecg_id={ids[-1]}", user)
            rows.append(("main column width at 1600×1000 (px)", column_width(page), ""))
            rows.append(("ECG paper: px per mm", paper_px_per_mm(page), ""))
            rows += actions(page, cls, repeat)
            page.context.close()
        finally:
            server.stop()
            browser.close()
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--app", type=Path, default=PROJECT / "streamlit_app.py")
    p.add_argument("--runs", type=Path, required=True, help="a runs folder with a trained cnn1d run (read only)")
    p.add_argument("--data", type=Path, required=True, help="the dataset folder the run was trained on")
    p.add_argument("--ids", type=int, nargs="+", default=(8, 9, 10, 26, 28, 30, 38, 39, 40),  # labelled, fold 4 tests them
                   help="the records to deep-link to: the first on the cold server, the rest on the warm one")  # fmt: skip
    p.add_argument("--cls", default="MI", help="the class to switch to")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ecg_saliency_speed")
    p.add_argument("--repeat", type=int, default=3, help="rounds of the switches (the table gives medians)")
    p.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "ECGCORE_CACHE_DIR": str(args.work / "cache"),
        "ECGCORE_RUNS_DIR": str(args.runs),
        "ECGCORE_DATA_ROOT": str(args.data),
        "PYTHONUNBUFFERED": "1",
    }
    if len(args.ids) < 2:
        p.error("--ids needs at least two records: one for the cold server, one for the warm one")
    rows = measure(args.app.resolve(), env, args.work, tuple(args.ids), args.cls, args.repeat)
    lines = [
        f"## Saliency page — {args.app}",
        "",
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end); headless Chromium at "
        f"1600×1000; runs {args.runs}; data {args.data}.",
        "",
        "| action | s to interactive (or value) | of which: to the run's start | script run(s) | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for step, v, split in rows:
        marks = SPLITS.get(split) or ("", "", 1 if split else "")
        start, run, n = (*marks, 1)[:3] if len(marks) == 2 else marks
        parts = [f"{x:.2f}" if isinstance(x, float) else "" for x in (start, run)]
        lines.append(f"| {step} | {'—' if v is None else f'{v:.2f}'} | {parts[0]} | {parts[1]} | {n} |")
    table = "\n".join(lines) + "\n"
    print(table, flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)


if __name__ == "__main__":
    main()
