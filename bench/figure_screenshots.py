"""Render the ECG figures to PNG in headless Chromium, as a Streamlit page would draw them, and measure them.

Each figure is drawn the way ``st.plotly_chart`` draws it: its width set by a container of ``W`` px (the
layout's own width dropped), its height kept. At a 1400 px wide page (wide layout, Streamlit 1.67) a
full-width chart is 940 px wide with the sidebar open and 1240 px with it collapsed; a chart in the
left of ``st.columns([3, 1])`` is 697 px.

Prints, per figure and width: the plot area (px), the figure height, the blank share of the height and
the px per mm of ECG paper. Screenshots (1400 × 1000 viewport, full page) go to
``test-artifacts/figures/<tag>/``.

    python bench/figure_screenshots.py --tag after
    PYTHONPATH=/work/main python bench/figure_screenshots.py --tag before   # the figures of another tree

Data: the real PTB-XL record ``--ecg_id`` from ``--data_root`` (default ../shared/ptbxl) when present,
else a synthetic ECG; saliency from ``--checkpoint`` (integrated gradients of ``--target``) when given,
else a synthetic map.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go

from ecgcore.figures import ecg  # noqa: E402

F = SimpleNamespace(ecg=ecg)  # the figure modules by name

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
PAGE = """<html><head><meta charset="utf-8"><script>{js}</script></head>
<body style="margin:0;background:white"><div id="c" style="width:{w}px;margin-left:80px"></div>
<script>const f = {fig}; delete f.layout.width; f.layout.autosize = true;
Plotly.newPlot('c', f.data, f.layout, {{responsive: true, displaylogo: false}});</script></body></html>"""
MEASURE_JS = """() => { const gd = document.getElementById('c'); const drag = gd.querySelector('.nsewdrag');
  const b = drag.getBoundingClientRect(); return {plot_w: b.width, plot_h: b.height, fig_h: gd._fullLayout.height,
  fig_w: gd._fullLayout.width, x0: gd._fullLayout.xaxis.range[0], x1: gd._fullLayout.xaxis.range[1]}; }"""


def _record(data_root: Path, ecg_id: int) -> tuple[np.ndarray, int]:
    """(12, T) mV and fs of a real record, else a synthetic 10 s ECG at 100 Hz."""
    hea = data_root / "records100" / f"{ecg_id // 1000 * 1000:05d}" / f"{ecg_id:05d}_lr"
    if hea.with_suffix(".hea").is_file():
        import wfdb

        rec = wfdb.rdrecord(str(hea))
        return np.nan_to_num(rec.p_signal.T.astype(np.float32)), int(rec.fs)
    t = np.arange(1000) / 100
    beat = np.exp(-(((t % 0.8) - 0.3) ** 2) / 0.0004) - 0.2 * np.exp(-(((t % 0.8) - 0.5) ** 2) / 0.004)
    return np.stack([beat * (0.5 + 0.1 * k) for k in range(12)]).astype(np.float32), 100


def _maps(signal: np.ndarray, fs: int, checkpoint: str | None, target: str) -> tuple[np.ndarray, np.ndarray]:
    """(unsigned in [0, 1], signed in [-1, 1]) maps, (12, T)."""
    if checkpoint:
        from ecgcore.checkpoints import load_checkpoint
        from ecgcore.saliency import saliency_map

        model, meta = load_checkpoint(checkpoint)
        raw = saliency_map(model, signal, list(meta["label_names"]).index(target), "integrated_gradients").map
    else:
        t = np.arange(signal.shape[1]) / fs
        raw = np.stack([np.exp(-((t - 1 - 0.7 * k) ** 2) / 0.05) * (1 if k % 3 else -1) for k in range(12)])
    signed = raw / max(np.abs(raw).max(), 1e-12)
    w = max(1, int(0.04 * fs))
    smooth = np.stack([np.convolve(np.abs(r), np.ones(w) / w, mode="same") for r in raw])
    return smooth / max(smooth.max(), 1e-12), signed


def _figures(
    signal: np.ndarray, fs: int, sal: np.ndarray, signed: np.ndarray, raw_title: str, width: int | None
) -> dict[str, go.Figure]:
    has_signed = "signed" in inspect.signature(F.ecg.ecg_paper_figure).parameters
    w = {"width": width} if has_signed and width else {}  # the width the paper figure is built for
    figs = {
        "paper_3x4": F.ecg.ecg_paper_figure(signal, fs, "3x4", title=raw_title, **w),
        "paper_stacked": F.ecg.ecg_paper_figure(signal, fs, "stacked", title=raw_title, **w),
        "paper_saliency": F.ecg.ecg_paper_figure(signal, fs, "3x4", title=f"{raw_title} · IG", saliency=sal, **w),
        "bands": F.ecg.saliency_figure(signal, sal, fs, title=f"{raw_title} · IG"),
    }
    if has_signed:
        figs["paper_signed"] = F.ecg.ecg_paper_figure(
            signal, fs, "3x4", title=f"{raw_title} · signed IG", saliency=signed, signed=True, **w
        )
        figs["bands_signed"] = F.ecg.saliency_figure(signal, signed, fs, title=f"{raw_title} · signed IG", signed=True)
        figs["lead_bars"] = F.ecg.lead_importance_figure(F.ecg.lead_shares(signed), title="IG · leads")
    return figs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tag", default="after")
    ap.add_argument("--data_root", type=Path, default=ROOT.parent / "shared" / "ptbxl")
    ap.add_argument("--ecg_id", type=int, default=8)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--target", default="MI")
    ap.add_argument("--widths", default="697,940,1240", help="container widths (px) to draw at")
    ap.add_argument("--build_width", type=int, default=None, help="width the paper figures are built for")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright
    from plotly.offline import get_plotlyjs

    signal, fs = _record(a.data_root, a.ecg_id)
    sal, signed = _maps(signal, fs, a.checkpoint, a.target)
    figs = _figures(signal, fs, sal, signed, f"ecg_id {a.ecg_id}", a.build_width)
    out = ROOT / "test-artifacts" / "figures" / (a.tag + (f"_built{a.build_width}" if a.build_width else ""))
    out.mkdir(parents=True, exist_ok=True)
    js = get_plotlyjs()
    print(f"{'figure':16s} {'W':>5s} {'plot w×h':>11s} {'fig h':>6s} {'blank':>6s} {'px/mm':>6s}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for name, fig in figs.items():
            for w in [int(x) for x in a.widths.split(",")]:
                if name == "lead_bars" and w != a.widths.split(",")[0]:
                    w = 320
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_content(PAGE.format(js=js, w=w, fig=fig.to_json()))
                page.wait_for_selector("#c .nsewdrag", state="attached")
                m = page.evaluate(MEASURE_JS)
                blank = 1 - m["plot_h"] / m["fig_h"]
                mm = (m["x1"] - m["x0"]) * 25.0
                px_mm = m["plot_w"] / mm if name.startswith("paper") else float("nan")
                print(
                    f"{name:16s} {w:5d} {m['plot_w']:5.0f}×{m['plot_h']:<5.0f} {m['fig_h']:6.0f} {blank:6.1%} {px_mm:6.2f}"
                )
                page.screenshot(path=str(out / f"{name}_{w}.png"), full_page=True)
                page.close()
                if name == "lead_bars":
                    break
        browser.close()
    print(f"screenshots: {out}")


if __name__ == "__main__":
    main()
