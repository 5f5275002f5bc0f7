"""Tests for ecgcore.figures: structure and numbers of every figure, on small synthetic data."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ecgcore.figures import _common, ecg, metrics, records, training

F = SimpleNamespace(
    _common=_common, ecg=ecg, metrics=metrics, records=records, training=training
)  # the figure modules by name

FS = 100
T = 1000  # 10 s at 100 Hz
CLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    """(12, T) mV: a different sine per lead plus a per-lead ramp, so every sample is identifiable."""
    t = np.arange(T) / FS
    leads = np.arange(12)[:, None]
    return 0.5 * np.sin(2 * np.pi * (1 + 0.1 * leads) * t) + 0.01 * leads + 0.001 * np.arange(T)


@pytest.fixture(scope="module")
def saliency() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((12, T))


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y = (rng.random((200, len(CLASSES))) < [0.4, 0.2, 0.25, 0.2, 0.1]).astype(int)
    s = np.clip(0.3 * y + 0.7 * rng.random(y.shape), 0, 1)
    return y, s


MATRICES = {"NORM": [[150, 20], [15, 115]], "MI": [[220, 10], [30, 40]], "HYP": [[260, 9], [21, 10]]}
THRESHOLDS = {"NORM": 0.5, "MI": 0.31}


def _by_role(fig: go.Figure, role: str) -> list:
    return [tr for tr in fig.data if isinstance(tr.meta, dict) and tr.meta.get("role") == role]


def _lead(fig: go.Figure, name: str, role: str = "lead", rhythm: bool = False) -> list:
    return [tr for tr in _by_role(fig, role) if tr.meta["lead"] == name and tr.meta.get("rhythm", False) == rhythm]


def _segments(trace) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) of the None-separated two-point segments of a line trace."""
    xs, ys = list(trace.x), list(trace.y)
    out = []
    for i in range(0, len(xs), 3):
        assert xs[i + 2] is None and ys[i + 2] is None
        out.append((xs[i], ys[i], xs[i + 1], ys[i + 1]))
    return out


# --- ECG paper -----------------------------------------------------------------------------------------
def test_leads_constant_matches_data_layer():
    assert F._common.LEADS == ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
    assert [F._common.display_lead_name(x) for x in ("AVR", "AVL", "AVF", "V1")] == ["aVR", "aVL", "aVF", "V1"]


@pytest.mark.parametrize(("layout", "n_leads"), [("3x4", 13), ("stacked", 12)])
def test_paper_trace_counts(signal, saliency, layout, n_leads):
    plain = F.ecg.ecg_paper_figure(signal, FS, layout=layout)
    assert isinstance(plain, go.Figure)
    assert len(_by_role(plain, "lead")) == n_leads
    assert not any(isinstance(tr, go.Heatmap) for tr in plain.data)
    assert all(tr.line.color == "black" for tr in _by_role(plain, "lead"))

    with_sal = F.ecg.ecg_paper_figure(signal, FS, layout=layout, saliency=saliency)
    heat = [tr for tr in with_sal.data if isinstance(tr, go.Heatmap)]
    assert len(heat) == n_leads
    assert len(_by_role(with_sal, "lead")) == n_leads
    assert with_sal.layout.coloraxis.colorbar.title.text == "saliency"
    assert (with_sal.layout.coloraxis.cmin, with_sal.layout.coloraxis.cmax) == (0, 1)
    # lead labels are drawn, with the pretty names
    texts = {a.text for a in with_sal.layout.annotations}
    assert {"<b>aVR</b>", "<b>V6</b>", "<b>II</b>"} <= texts


def test_paper_grid_spacing_and_scale(signal):
    fig = F.ecg.ecg_paper_figure(signal, FS, layout="3x4")
    for role, step_s, step_mv in (("minor grid", 0.04, 0.1), ("major grid", 0.2, 0.5)):
        (grid,) = _by_role(fig, role)
        segs = _segments(grid)
        vx = np.array(sorted(x0 for x0, _, x1, _ in segs if x0 == x1))
        hy = np.array(sorted(y0 for _, y0, _, y1 in segs if y0 == y1))
        assert len(vx) > 10 and len(hy) > 10
        np.testing.assert_allclose(np.diff(vx), step_s, atol=1e-9)
        np.testing.assert_allclose(np.diff(hy), step_mv, atol=1e-9)
        assert np.isclose(vx, 0.0).any() and np.isclose(vx, 10.0).any()  # lines on whole seconds
    # 25 mm/s and 10 mm/mV: one mV spans 0.4 of the pixels of one second
    assert fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.yaxis.scaleratio == pytest.approx(0.4)
    assert fig.layout.xaxis.range[0] <= 0 and fig.layout.xaxis.range[1] >= 10


def test_paper_3x4_columns_show_their_own_window(signal, saliency):
    fig = F.ecg.ecg_paper_figure(signal, FS, layout="3x4", saliency=saliency)
    t = np.arange(T) / FS
    for c, column in enumerate(F.ecg.LAYOUT_3X4_COLUMNS):
        lo, hi = 250 * c, 250 * (c + 1)  # column c: t in [2.5c, 2.5c + 2.5)
        for lead in column:
            (tr,) = _lead(fig, F._common.display_lead_name(lead))
            idx = F._common.LEADS.index(lead)
            np.testing.assert_allclose(tr.x, t[lo:hi], atol=1e-5)
            np.testing.assert_allclose(np.asarray(tr.y) - tr.meta["offset_mv"], signal[idx, lo:hi], atol=1e-5)
            (band,) = [b for b in _lead(fig, F._common.display_lead_name(lead), role="saliency") if len(b.x) < T]
            np.testing.assert_allclose(band.x, t[lo:hi], atol=1e-5)
            np.testing.assert_allclose(np.asarray(band.z)[0], saliency[idx, lo:hi], atol=1e-6)
            off = tr.meta["offset_mv"]
            assert min(band.y) < off < max(band.y)  # the band lies behind the trace
    # V1 explicitly: samples 500..749 = 5.0..7.49 s
    (v1,) = _lead(fig, "V1")
    assert v1.x[0] == pytest.approx(5.0) and v1.x[-1] == pytest.approx(7.49)
    # the rhythm strip: lead II, full length, lowest row
    (rhythm,) = _lead(fig, "II", rhythm=True)
    assert len(rhythm.x) == T and rhythm.name == "II (rhythm)"
    np.testing.assert_allclose(np.asarray(rhythm.y) - rhythm.meta["offset_mv"], signal[1], atol=1e-5)
    assert rhythm.meta["offset_mv"] == min(tr.meta["offset_mv"] for tr in _by_role(fig, "lead"))
    # rows: I, II, III from top to bottom
    offsets = [_lead(fig, name)[0].meta["offset_mv"] for name in ("I", "aVL", "V3")]
    assert offsets[0] > offsets[1] > offsets[2]


def test_paper_stacked_order_and_full_length(signal):
    fig = F.ecg.ecg_paper_figure(signal, FS, layout="stacked", title="rec 1")
    leads = _by_role(fig, "lead")
    assert [tr.meta["lead"] for tr in leads] == [F._common.display_lead_name(x) for x in F._common.LEADS]
    offsets = [tr.meta["offset_mv"] for tr in leads]
    assert offsets == sorted(offsets, reverse=True)
    for i, tr in enumerate(leads):
        np.testing.assert_allclose(np.asarray(tr.y) - tr.meta["offset_mv"], signal[i], atol=1e-5)
    assert "rec 1" in fig.layout.title.text


def test_paper_rejects_bad_input(signal):
    with pytest.raises(ValueError, match="layout"):
        F.ecg.ecg_paper_figure(signal, FS, layout="6x2")
    with pytest.raises(ValueError, match=r"\(T, 12\)"):
        F.ecg.ecg_paper_figure(signal.T, FS)
    with pytest.raises(ValueError, match="saliency"):
        F.ecg.ecg_paper_figure(signal, FS, saliency=np.zeros((12, 10)))


def test_saliency_figure(signal, saliency):
    fig = F.ecg.saliency_figure(signal, saliency, FS, title="1D CNN")
    heat = [tr for tr in fig.data if isinstance(tr, go.Heatmap)]
    assert len(heat) == 12 and len(_by_role(fig, "lead")) == 12
    assert all(tr.coloraxis == "coloraxis" for tr in heat)
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0, 1)
    assert list(fig.layout.yaxis.ticktext) == [F._common.display_lead_name(x) for x in F._common.LEADS]
    np.testing.assert_allclose(np.asarray(heat[6].z)[0], saliency[6], atol=1e-6)
    assert fig.layout.template.layout.plot_bgcolor == "white"
    assert "1D CNN" in fig.layout.title.text
    custom = F.ecg.saliency_figure(signal, saliency, FS, lead_names=[f"L{i}" for i in range(12)])
    assert list(custom.layout.yaxis.ticktext)[0] == "L0"


# --- ROC / PR ------------------------------------------------------------------------------------------
def test_roc_auc_in_legend_matches_sklearn(scores):
    y, s = scores
    fig = F.metrics.roc_figure(y, s, CLASSES)
    curves = [tr for tr in fig.data if tr.name != "chance"]
    assert len(curves) == len(CLASSES)
    for c, tr in enumerate(curves):
        m = re.fullmatch(rf"{CLASSES[c]} \(AUC=(\d\.\d{{3}})\)", tr.name)
        assert m, tr.name
        assert float(m.group(1)) == pytest.approx(roc_auc_score(y[:, c], s[:, c]), abs=5e-4)
    (chance,) = [tr for tr in fig.data if tr.name == "chance"]
    assert chance.line.dash == "dash" and list(chance.x) == [0, 1] and list(chance.y) == [0, 1]


def test_roc_and_pr_skip_classes_without_positives(scores):
    y, s = scores
    y = y.copy()
    y[:, 1] = 0  # MI: no positives
    roc = F.metrics.roc_figure(y, s, CLASSES)
    assert not any(tr.name.startswith("MI") for tr in roc.data)
    assert "skipped" in roc.layout.title.text and "MI" in roc.layout.title.text
    pr = F.metrics.pr_figure(y, s, CLASSES)
    assert not any(tr.name.startswith("MI") for tr in pr.data)
    assert "MI" in pr.layout.title.text


def test_pr_ap_and_prevalence_line(scores):
    y, s = scores
    fig = F.metrics.pr_figure(y, s, CLASSES)
    curves = [tr for tr in fig.data if tr.meta["role"] == "curve"]
    lines = [tr for tr in fig.data if tr.meta["role"] == "prevalence"]
    assert len(curves) == len(lines) == len(CLASSES)
    for c, (curve, line) in enumerate(zip(curves, lines)):
        ap = float(re.search(r"AP=(\d\.\d{3})", curve.name).group(1))
        assert ap == pytest.approx(average_precision_score(y[:, c], s[:, c]), abs=5e-4)
        assert list(line.y) == pytest.approx([y[:, c].mean()] * 2)
        assert list(line.x) == [0, 1]
        assert line.line.dash == "dash" and line.line.color == curve.line.color


def test_scores_shape_checks(scores):
    y, s = scores
    with pytest.raises(ValueError):
        F.metrics.roc_figure(y, s[:, :3], CLASSES)
    with pytest.raises(ValueError):
        F.metrics.pr_figure(y, s, CLASSES[:2])


# --- confusion matrices --------------------------------------------------------------------------------------
def test_confusion_figure_annotations_equal_matrix():
    fig = F.metrics.confusion_figure(MATRICES, THRESHOLDS)
    heat = [tr for tr in fig.data if isinstance(tr, go.Heatmap)]
    assert len(heat) == len(MATRICES)
    for k, (name, m) in enumerate(MATRICES.items()):
        suffix = "" if k == 0 else str(k + 1)
        cells = {
            (a.y, a.x): a.text for a in fig.layout.annotations if a.xref == f"x{suffix}" and a.yref == f"y{suffix}"
        }
        expected = {
            ("true 0", "pred 0"): m[0][0],
            ("true 0", "pred 1"): m[0][1],
            ("true 1", "pred 0"): m[1][0],
            ("true 1", "pred 1"): m[1][1],
        }
        assert cells == {key: str(v) for key, v in expected.items()}
        np.testing.assert_array_equal(heat[k].z, m)
        assert heat[k].name == name
    titles = [a.text for a in fig.layout.annotations if a.xref == "paper"]
    assert any("NORM" in t and "0.50" in t for t in titles)
    assert any("MI" in t and "0.31" in t for t in titles)
    assert "HYP" in titles  # no threshold given


def test_confusion_figure_rejects_bad_matrix():
    with pytest.raises(ValueError, match="tn, fp"):
        F.metrics.confusion_figure({"X": [1, 2, 3]})


def test_confusion_png(tmp_path):
    from matplotlib.image import imread

    out = tmp_path / "sub" / "confusion.png"
    F.metrics.confusion_png(MATRICES, THRESHOLDS, out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000
    img = imread(out)
    assert img.shape[1] > img.shape[0] > 100  # one row of panels: wider than tall
    F.metrics.confusion_png({"A": [[1, 0], [0, 1]]}, None, out)  # overwrite in place
    assert out.read_bytes() != data
    assert [p.name for p in out.parent.iterdir()] == ["confusion.png"]  # no temp file left


# --- training curves ---------------------------------------------------------------------------------------
def _loss(step: int) -> float:
    return 1.0 / step + 0.1 * (-1) ** step  # a trend plus step-to-step noise


def _events() -> list[dict]:
    ev: list[dict] = []
    step = 0
    for epoch in (1, 2, 3):
        for _ in range(40):
            step += 1
            ev.append({"event": "batch", "epoch": epoch, "step": step, "loss": _loss(step)})
        ev.append(
            {
                "event": "epoch_end",
                "epoch": epoch,
                "step": step,
                "train_loss": 0.5 / epoch,
                "val_loss": 0.6 / epoch,
                "val_macro_pr_auc": 0.5 + 0.1 * epoch,
            }
        )
    ev.append({"event": "something_else", "step": 999})
    return ev


def test_loss_curves_empty():
    fig = F.training.loss_curves_figure([])
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 0
    assert fig.layout.xaxis.title.text == "training step"
    assert fig.layout.yaxis.title.text.startswith("loss")
    assert fig.layout.yaxis2.title.text == "val macro PR-AUC"


def test_loss_curves_events():
    fig = F.training.loss_curves_figure(_events())
    by_name = {tr.name: tr for tr in fig.data}
    raw = by_name["train loss (per step)"]
    assert list(raw.x) == list(range(1, 121))
    assert list(raw.y) == pytest.approx([_loss(s) for s in range(1, 121)])
    smooth = by_name["train loss (smoothed)"]
    assert len(smooth.y) == 120 and smooth.y[0] == pytest.approx(raw.y[0])
    assert np.abs(np.diff(smooth.y)).mean() < 0.5 * np.abs(np.diff(raw.y)).mean()  # smoother
    val = by_name["val loss (epoch)"]
    assert list(val.x) == [40, 80, 120] and list(val.y) == pytest.approx([0.6, 0.3, 0.2])
    auc = by_name["val macro PR-AUC"]
    assert auc.yaxis == "y2" and list(auc.y) == pytest.approx([0.6, 0.7, 0.8])
    assert raw.yaxis == "y"
    assert list(fig.layout.yaxis2.range) == [0, 1]


def test_loss_curves_only_batches():
    fig = F.training.loss_curves_figure([e for e in _events() if e["event"] == "batch"][:5])
    assert {tr.name for tr in fig.data} == {"train loss (per step)", "train loss (smoothed)"}


# --- label distribution / fold comparison / probabilities ------------------------------------------------------
def test_label_distribution_shares_and_counts():
    counts = pd.DataFrame(
        {"NORM": [50, 40], "MI": [10, 20], "HYP": [0, 5]},
        index=["fold 1", "fold 2"],
    )
    fig = F.records.label_distribution_figure(counts)
    assert fig.layout.barmode == "group"
    assert [tr.name for tr in fig.data] == ["fold 1", "fold 2"]
    f1 = fig.data[0]
    assert list(f1.x) == ["NORM", "MI", "HYP"]
    assert list(f1.y) == pytest.approx([50 / 60, 10 / 60, 0])
    assert [row[0] for row in f1.customdata] == [50, 10, 0]
    # with the number of records per fold as denominator (multi-label records)
    counts["n_records"] = [55, 60]
    fig2 = F.records.label_distribution_figure(counts)
    assert list(fig2.data[1].x) == ["NORM", "MI", "HYP"]
    assert list(fig2.data[1].y) == pytest.approx([40 / 60, 20 / 60, 5 / 60])
    assert "records" in fig2.layout.yaxis.title.text


def test_fold_comparison_slope_chart():
    rows = [
        {"fold": f, "model": m, "macro_pr_auc": 0.6 + 0.01 * f + (0.05 if m == "2D" else 0.0), "auroc": 0.9}
        for f in range(1, 6)
        for m in ("1D", "2D")
    ]
    rows[-1]["macro_pr_auc"] = 0.0  # fold 5, 2D worse
    table = pd.DataFrame(rows)
    fig = F.metrics.fold_comparison_figure(table)
    folds = [tr for tr in fig.data if tr.meta["role"] == "fold"]
    (mean,) = [tr for tr in fig.data if tr.meta["role"] == "mean"]
    assert len(folds) == 5
    assert all(list(tr.x) == ["1D", "2D"] for tr in folds)
    assert list(folds[0].y) == pytest.approx([0.61, 0.66])
    wide = table.pivot(index="fold", columns="model", values="macro_pr_auc")
    assert list(mean.y) == pytest.approx([wide["1D"].mean(), wide["2D"].mean()])
    assert "4 of 5" in fig.layout.title.text
    assert fig.layout.yaxis.title.text == "macro_pr_auc"
    other = F.metrics.fold_comparison_figure(table, metric="auroc")
    assert other.layout.yaxis.title.text == "auroc"
    with pytest.raises(ValueError, match="f1"):
        F.metrics.fold_comparison_figure(table, metric="f1")


def test_probabilities_figure():
    probs = {"NORM": 0.1, "MI": 0.8, "STTC": 0.55, "CD": 0.05, "HYP": 0.3}
    fig = F.records.probabilities_figure(probs, ["MI", "STTC"], {"NORM": 0.5, "MI": 0.3})
    by_name = {tr.name: tr for tr in fig.data}
    true_bars = by_name["true label"]
    assert list(true_bars.y) == ["MI", "STTC"] and list(true_bars.x) == pytest.approx([0.8, 0.55])
    assert all("✓ true" in t for t in true_bars.text)
    other = by_name["other classes"]
    assert list(other.y) == ["NORM", "CD", "HYP"] and not any("✓" in t for t in other.text)
    assert true_bars.marker.color != other.marker.color
    thr = by_name["threshold"]
    assert dict(zip(thr.y, thr.x)) == {"NORM": 0.5, "MI": 0.3}
    assert list(fig.layout.yaxis.categoryarray) == list(probs)
    assert "threshold" not in {tr.name for tr in F.records.probabilities_figure(probs, [], None).data}


# --- every figure serialises ----------------------------------------------------------------------------------
def test_all_figures_serialise(signal, saliency, scores, tmp_path):
    y, s = scores
    table = pd.DataFrame({"fold": [1, 1, 2, 2], "model": ["1D", "2D"] * 2, "macro_pr_auc": [0.6, 0.7, 0.62, 0.69]})
    figures = [
        F.ecg.ecg_paper_figure(signal, FS, "3x4", saliency=saliency),
        F.ecg.ecg_paper_figure(signal, FS, "stacked"),
        F.ecg.saliency_figure(signal, saliency, FS),
        F.metrics.roc_figure(y, s, CLASSES),
        F.metrics.pr_figure(y, s, CLASSES),
        F.metrics.confusion_figure(MATRICES, THRESHOLDS),
        F.metrics.confusion_figure({}),
        F.training.loss_curves_figure(_events()),
        F.training.loss_curves_figure([]),
        F.records.label_distribution_figure(pd.DataFrame({"A": [1, 2]}, index=["train", "test"])),
        F.metrics.fold_comparison_figure(table),
        F.records.probabilities_figure({"A": 0.2, "B": 0.9}, ["B"], {"A": 0.5, "B": 0.5}),
    ]
    for fig in figures:
        assert isinstance(fig, go.Figure)
        assert len(fig.to_json()) > 100
        assert fig.layout.title.text


# --- the package keeps the old public names ------------------------------------------------------------------
# --- size: the paper fills the figure ---------------------------------------------------------------------
def _paper_px(fig: go.Figure) -> tuple[float, float, float]:
    """(px per mm along x, px per mm along y, blank share of the height) from the figure's layout."""
    m = fig.layout.margin
    plot_w = fig.layout.width - m.l - m.r
    plot_h = fig.layout.height - m.t - m.b
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    return plot_w / ((x1 - x0) * 25.0), plot_h / ((y1 - y0) * 10.0), 1 - plot_h / fig.layout.height


@pytest.mark.parametrize("layout", ["3x4", "stacked"])
def test_paper_height_follows_width_without_blank(signal, saliency, layout):
    # 1400 px page, sidebar collapsed: a full-width chart is 1240 px (measured, Streamlit 1.67 wide layout)
    for sal in (None, saliency):
        fig = F.ecg.ecg_paper_figure(signal, FS, layout, saliency=sal, width=1240)
        px_x, px_y, blank = _paper_px(fig)
        assert px_x >= 4.0
        assert px_y == pytest.approx(px_x, rel=0.01)  # 25 mm/s : 10 mm/mV holds: no letterbox
        assert blank < 0.15
    default = F.ecg.ecg_paper_figure(signal, FS, layout)  # built for a 940 px chart (sidebar open)
    assert default.layout.width == 940 and _paper_px(default)[2] < 0.15
    geo = default.layout.meta["geometry"]
    assert geo["px_per_mm"] == pytest.approx(_paper_px(default)[0], rel=0.01)
    assert F.ecg.paper_geometry(10.0, 4, 1240)["px_per_mm"] > F.ecg.paper_geometry(10.0, 4, 940)["px_per_mm"]


# --- contrast: saliency on paper ----------------------------------------------------------------------------------
def _rgba(s: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", s))


def test_saliency_on_paper_turns_the_grid_grey_and_uses_a_cold_scale(signal, saliency):
    plain = F.ecg.ecg_paper_figure(signal, FS)
    grey = F.ecg.ecg_paper_figure(signal, FS, saliency=saliency)
    pink = _by_role(plain, "minor grid")[0].line.color
    assert pink == F.ecg.MINOR_GRID_COLOR and plain.layout.plot_bgcolor == F.ecg.PAPER_BG
    for role in ("minor grid", "major grid"):
        c = _by_role(grey, role)[0].line.color.lstrip("#")
        assert c[0:2] == c[2:4] == c[4:6]  # neutral grey
    assert grey.layout.plot_bgcolor == "white"
    scale = [tuple(s) for s in grey.layout.coloraxis.colorscale]
    assert _rgba(scale[0][1])[3] == 0  # transparent at 0: the paper shows through
    r, g, b, a = _rgba(scale[-1][1])
    assert b > r > g and a <= 0.7  # blue-purple, the black trace stays visible
    assert grey.layout.coloraxis.colorbar.orientation == "h"  # costs no plot width


def test_signed_maps_use_a_diverging_scale_centred_on_zero(signal):
    signed = np.linspace(-1, 1, T)[None, :].repeat(12, axis=0)
    for fig in (
        F.ecg.ecg_paper_figure(signal, FS, saliency=signed, signed=True),
        F.ecg.saliency_figure(signal, signed, FS, signed=True),
    ):
        ax = fig.layout.coloraxis
        assert (ax.cmin, ax.cmid, ax.cmax) == (-1, 0, 1)
        scale = {float(p): c for p, c in ax.colorscale}
        assert _rgba(scale[0.5])[3] == 0  # zero is transparent
        assert _rgba(scale[1.0])[0] > _rgba(scale[1.0])[2]  # toward the class: red
        assert _rgba(scale[0.0])[2] > _rgba(scale[0.0])[0]  # away: blue
        heat = [tr for tr in fig.data if isinstance(tr, go.Heatmap)]
        assert min(float(np.min(tr.z)) for tr in heat) < -0.9  # negatives are kept, not clipped to 0
        assert "toward" in fig.layout.title.text
    unsigned = F.ecg.ecg_paper_figure(signal, FS, saliency=signed)
    assert min(float(np.min(tr.z)) for tr in unsigned.data if isinstance(tr, go.Heatmap)) == 0


def test_bands_view_has_a_light_grid(signal, saliency):
    fig = F.ecg.saliency_figure(signal, saliency, FS)
    assert fig.layout.xaxis.showgrid and fig.layout.xaxis.minor.showgrid
    assert fig.layout.yaxis.minor.dtick == 0.5
    assert all(tr.line.width >= 1 for tr in _by_role(fig, "lead"))


# --- per-lead summary --------------------------------------------------------------------------------------
def test_lead_shares_and_bars():
    raw = np.zeros((12, T))
    raw[1, :10] = -3.0  # sign does not matter
    raw[7, :30] = 1.0
    shares = F.ecg.lead_shares(raw)
    assert shares.shape == (12,) and shares.sum() == pytest.approx(1.0)
    assert shares[1] == pytest.approx(0.5) and shares[7] == pytest.approx(0.5)
    assert F.ecg.lead_shares(np.zeros((12, T))).sum() == 0
    rng = np.random.default_rng(3)
    assert F.ecg.lead_shares(rng.normal(size=(12, T))).sum() == pytest.approx(1.0)
    fig = F.ecg.lead_importance_figure(shares, title="IG · MI")
    (bar,) = fig.data
    np.testing.assert_allclose(bar.x, shares)
    assert list(bar.y) == [F._common.display_lead_name(x) for x in F._common.LEADS]
    assert "IG · MI" in fig.layout.title.text
    with pytest.raises(ValueError, match="shape"):
        F.ecg.lead_importance_figure(np.ones(5) / 5)
    assert "every lead equal" in F.ecg.lead_importance_figure(np.full(12, 1 / 12), time_only=True).layout.title.text


def test_how_to_read_text_names_each_method():
    text = F.ecg.HOW_TO_READ_SALIENCY
    for word in ("Gradient", "Integrated gradients", "Grad-CAM", "Signed IG", "V2/V3", "III/aVF"):
        assert word in text


# --- operating points and two-run overlays ------------------------------------------------------------------
def test_operating_points_sit_at_the_thresholds_confusion(scores):
    from ecgcore.metrics import confusion_matrices

    y, s = scores
    thr = {"NORM": 0.5, "MI": 0.31, "STTC": 0.7, "CD": 0.45, "HYP": 0.6}
    cms = confusion_matrices(y, s, np.array([thr[c] for c in CLASSES]))
    roc = F.metrics.roc_figure(y, s, CLASSES, thresholds=thr)
    pr = F.metrics.pr_figure(y, s, CLASSES, thresholds=np.array([thr[c] for c in CLASSES]))  # (C,) works too
    for c, name in enumerate(CLASSES):
        (tn, fp), (fn, tp) = cms[c]
        (r,) = [tr for tr in _by_role(roc, "operating point") if tr.meta["class"] == name]
        assert (r.x[0], r.y[0]) == pytest.approx((fp / (fp + tn), tp / (tp + fn)))
        assert r.meta["threshold"] == thr[name]
        (p,) = [tr for tr in _by_role(pr, "operating point") if tr.meta["class"] == name]
        assert (p.x[0], p.y[0]) == pytest.approx((tp / (tp + fn), tp / (tp + fp)))
    assert not _by_role(F.metrics.roc_figure(y, s, CLASSES), "operating point")
    assert "operating point" in roc.layout.title.text


def test_roc_and_pr_compare_two_runs(scores):
    y, s = scores
    s2 = np.clip(s + 0.1, 0, 1)
    runs = {"cnn1d": (y, s), "cnn2d": (y[:150], s2[:150])}
    for fig in (
        F.metrics.roc_compare_figure(runs, CLASSES, thresholds={"cnn1d": {"MI": 0.3}}),
        F.metrics.pr_compare_figure(runs, CLASSES),
    ):
        curves = _by_role(fig, "curve")
        assert len(curves) == 2 * len(CLASSES)
        by_run = {r: [tr for tr in curves if tr.meta["run"] == r] for r in runs}
        assert {tr.line.dash for tr in by_run["cnn1d"]} == {"solid"}
        assert {tr.line.dash for tr in by_run["cnn2d"]} == {"dash"}
        assert [tr.line.color for tr in by_run["cnn1d"]] == [tr.line.color for tr in by_run["cnn2d"]]
        assert "cnn1d vs cnn2d" in fig.layout.title.text
    roc = F.metrics.roc_compare_figure(runs, CLASSES, thresholds={"cnn1d": {"MI": 0.3}})
    assert [tr.meta["run"] for tr in _by_role(roc, "operating point")] == ["cnn1d · "]
    with pytest.raises(ValueError, match="compare"):
        F.metrics.roc_compare_figure({}, CLASSES)


# --- best epoch and overlays --------------------------------------------------------------------------------
def test_loss_curves_mark_the_best_epoch():
    ev = _events()  # PR-AUC rises: without "best" flags, epoch 3 (step 120) is best
    (line,) = [s for s in F.training.loss_curves_figure(ev).layout.shapes if s.type == "line"]
    assert line.x0 == line.x1 == 120
    ev[81]["best"] = True  # the trainer's flag wins (epoch_end of epoch 2, step 80)
    assert ev[81]["event"] == "epoch_end" and ev[81]["epoch"] == 2
    assert F.training.best_epoch(ev)["epoch"] == 2
    (line,) = [s for s in F.training.loss_curves_figure(ev).layout.shapes if s.type == "line"]
    assert line.x0 == 80
    assert not F.training.loss_curves_figure([]).layout.shapes


def test_loss_curves_overlay_of_folds_and_models():
    def run(shift: float) -> list[dict]:
        return [
            {
                "event": "epoch_end",
                "epoch": e,
                "step": 10 * e,
                "val_loss": 1 / e + shift,
                "val_macro_pr_auc": 0.5 + shift * e,
            }
            for e in (1, 2, 3)
        ]

    runs = {"cnn1d · fold 0": run(0.01), "cnn1d · fold 1": run(0.02), "cnn2d · fold 0": run(-0.01)}
    fig = F.training.loss_curves_overlay_figure(runs)
    curves = _by_role(fig, "curve")
    assert len(curves) == 2 * len(runs)
    color = {tr.meta["run"]: tr.line.color for tr in curves}
    assert color["cnn1d · fold 0"] == color["cnn1d · fold 1"] != color["cnn2d · fold 0"]
    stars = _by_role(fig, "best epoch")
    assert len(stars) == 2 * len(runs)
    assert {tr.meta["epoch"] for tr in stars if tr.meta["run"] == "cnn2d · fold 0"} == {1}
    assert {tr.meta["epoch"] for tr in stars if tr.meta["run"] == "cnn1d · fold 0"} == {3}
    assert len(F.training.loss_curves_overlay_figure({}).data) == 0


# --- the confusion download is what the page shows -----------------------------------------------------------
def test_confusion_png_bytes_equal_the_written_file(tmp_path):
    data = F.metrics.confusion_png_bytes(MATRICES, THRESHOLDS)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    F.metrics.confusion_png(MATRICES, THRESHOLDS, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes() == data
    assert F.metrics.confusion_png_bytes(MATRICES, {"NORM": 0.7}) != data  # the threshold shown is drawn


def test_saliency_png_writes_atomically(signal, saliency, tmp_path):
    out = tmp_path / "s" / "saliency.png"
    F.ecg.saliency_png(signal, saliency, FS, "IG", out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["saliency.png"]


# --- the ECG paper on the Saliency and Predict pages (issue "What the screen says must be true") ---------


def _over(rgba: tuple[float, ...], background: str) -> np.ndarray:
    """An rgba colour composited over a '#rrggbb' (or 'white') background."""
    bg = np.array([255, 255, 255] if background == "white" else [int(background[i : i + 2], 16) for i in (1, 3, 5)])
    return np.asarray(rgba[:3]) * rgba[3] + bg * (1 - rgba[3])


def test_paper_is_at_least_4_px_per_mm_at_the_pages_width(signal):
    """The pages draw the paper 1140 px wide: the main column of a 1600×1000 window with the sidebar
    open (bench/saliency_speed.py measures it), so 1 mm of paper is ≥ 4 px there."""
    from pathlib import Path

    width = F.ecg.PAGE_WIDTH_PX
    fig = F.ecg.ecg_paper_figure(signal, FS, width=width)
    assert F.ecg.paper_geometry(T / FS, 4, width)["px_per_mm"] >= 4.0 and fig.layout.width == width
    pages = Path(__file__).resolve().parents[1] / "app_pages"
    for name in ("saliency.py", "predict.py"):
        assert "WIDTH = PAGE_WIDTH_PX" in (pages / name).read_text(), name


def test_saliency_low_end_is_visible_on_the_grey_paper(signal, saliency):
    fig = F.ecg.ecg_paper_figure(signal, FS, saliency=saliency)
    scale = [(float(p), _rgba(c)) for p, c in fig.layout.coloraxis.colorscale]
    low = next(c for p, c in scale if c[3] > 0)  # the first colour above 0
    assert next(p for p, c in scale if c[3] > 0) <= 0.1  # a map at a tenth of its peak already shows
    shown = _over(low, fig.layout.plot_bgcolor)
    assert np.linalg.norm(shown - _over((0, 0, 0, 0), fig.layout.plot_bgcolor)) > 60  # on the paper
    assert np.linalg.norm(shown - _over((0, 0, 0, 0), F.ecg.NEUTRAL_MINOR_GRID)) > 45  # and on its grey 1 mm grid


def test_colour_bar_and_mode_bar_never_overlap(signal, saliency):
    """The colour bar sits in the figure's top-right corner, where plotly draws its mode bar: the pages
    draw the ECG figures without a mode bar (drag to zoom, double-click to zoom out)."""
    from pathlib import Path

    bar = F.ecg.ecg_paper_figure(signal, FS, saliency=saliency).layout.coloraxis.colorbar
    assert bar.xanchor == "right" and bar.x > 0.9 and bar.orientation == "h"
    assert F.ecg.NO_MODE_BAR["displayModeBar"] is False
    pages = Path(__file__).resolve().parents[1] / "app_pages"
    saliency_page = (pages / "saliency.py").read_text()
    assert 'key="sal_fig", config=ECG_CONFIG' in saliency_page and "ECG_CONFIG = NO_MODE_BAR" in saliency_page
    assert "config=NO_MODE_BAR" in (pages / "predict.py").read_text()


def test_time_only_map_has_no_top_lead():
    fig = F.ecg.lead_importance_figure(np.full(12, 1 / 12), time_only=True)
    assert len(set(fig.data[0].marker.color)) == 1  # no lead drawn as the top one
    assert "no lead ranking" in fig.layout.title.text
    ranked = F.ecg.lead_importance_figure(np.r_[0.5, np.full(11, 0.5 / 11)])
    assert len(set(ranked.data[0].marker.color)) == 2


def test_lead_strip_thumbnail(signal):
    from ecgcore.figures.thumbnails import lead_strip_figure

    fig = lead_strip_figure(signal, FS, "II", "#1 · ecg_id 5")
    assert fig.data[0].meta["lead"] == "II" and len(fig.data[0].y) == T
    assert np.allclose(fig.data[0].y, signal[1], atol=1e-5) and fig.layout.height <= 140
    with pytest.raises(ValueError):
        lead_strip_figure(signal, FS, "X")
