"""The Evaluate page's threshold slider: seconds from a slider step to the confusion matrices redrawn.

    python bench/threshold_slider.py --before /work/main/streamlit_app.py        # before/after a change
    python bench/threshold_slider.py --records 1000 --steps 8

For each app (``--before``, if given, then this checkout): a new server on 127.0.0.1 on the same demo
dataset and 1-epoch cnn1d fold-0 run (built once under ``--work``, as bench/first_visit.py does), the
Evaluate page opened in headless Chromium, thresholds set to "one for all classes", then ``--steps``
presses of the slider's right-arrow key, each timed from the key press to the confusion chart showing
the new threshold and Streamlit's run over. Before: the slider reruns the whole page; after: only the
``st.fragment`` holding the slider, the matrices, the rates and the records behind a cell.

Prints a markdown table (median, min, max per app; written to ``--out`` too if given). Not a test:
timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from first_visit import CHROMIUM, CHROMIUM_ARGS, IDLE, TIMEOUT_MS, Server, open_url, prepare  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent

_SHOWS = """([sel, text]) => { const el = document.querySelector(sel);
    return !!el && !!el.layout && (el.layout.annotations || []).some(a => (a.text || '').includes(text)); }"""


def _chart_shows(page, text: str) -> None:
    page.wait_for_function(_SHOWS, arg=[".st-key-ev_cm .js-plotly-plot", text], timeout=TIMEOUT_MS)


def slider_steps(browser, app: Path, env: dict, log: Path, steps: int) -> tuple[list[float], list[float]]:
    """Seconds per slider step on a new server running ``app``: (to the chart redrawn, to the run over)."""
    server = Server(app, env, log)
    try:
        page, _ = open_url(browser, server.url, "evaluate")
        page.get_by_role("tab", name=re.compile(r"^Confusion matrices")).click()
        page.locator(".st-key-ev_thr_mode").get_by_text("one for all classes").click(timeout=30_000)
        _chart_shows(page, "threshold 0.50")
        page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
        thumb = page.locator('input[type="range"][aria-label="Threshold"]')
        thumb.focus()
        chart, done = [], []
        for k in range(1, steps + 1):
            t0 = time.perf_counter()
            thumb.press("ArrowRight")
            _chart_shows(page, f"threshold {0.5 + 0.01 * k:.2f}")
            chart.append(time.perf_counter() - t0)
            page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
            done.append(time.perf_counter() - t0)
        page.context.close()
        return chart, done
    finally:
        server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", type=Path, help="another checkout's streamlit_app.py (read-only), measured first")
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ecg_bench_first_visit")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    args.work.mkdir(parents=True, exist_ok=True)
    env = prepare(args.work, args.records, train=True)
    apps = ([("before", args.before)] if args.before else []) + [("after", PROJECT / "streamlit_app.py")]
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for label, app in apps:
            chart, done = slider_steps(browser, app, env, args.work / f"slider_{label}.log", args.steps)
            rows.append((label, app, chart, done))
            print(f"{label}: " + ", ".join(f"{c:.2f}/{d:.2f}" for c, d in zip(chart, done)), file=sys.stderr)
        browser.close()
    lines = [
        f"Threshold slider on Evaluate, {args.records:,} demo records, 1-epoch cnn1d fold 0: seconds from a "
        "slider step to the confusion matrices redrawn (headless Chromium, 127.0.0.1)",
        "",
        "| app | steps | to chart redrawn: median s (min–max) | to run over: median s (min–max) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} ({app}) | {len(c)} | {statistics.median(c):.2f} ({min(c):.2f}–{max(c):.2f}) "
        f"| {statistics.median(d):.2f} ({min(d):.2f}–{max(d):.2f}) |"
        for label, app, c, d in rows
    ]
    lines += ["", f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
