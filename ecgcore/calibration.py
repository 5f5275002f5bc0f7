"""How sure the model is: calibration of its per-class probabilities, and temperature scaling.

* :func:`calibration_report` — per class, the expected calibration error (ECE) with its bins, the Brier
  score (``sklearn.metrics.brier_score_loss``) and the reliability-diagram points
  (``sklearn.calibration.calibration_curve``, the same equal-width bins as the ECE);
* :func:`fit_temperature` — **one temperature per class**, fitted on the fold's **validation part**
  only, by minimising the validation negative log-likelihood (binary cross-entropy of
  ``sigmoid(logit / T)``) with ``scipy.optimize.minimize_scalar`` over log T;
* :func:`calibrate_run` — fits it for a trained run and stores it in its best checkpoint's metadata
  (``meta["temperature"]``: C floats; ``meta["calibration"]``: how it was fitted);
* :func:`calibration_state` — whether a checkpoint's probabilities are temperature-scaled, in words.

A temperature is monotone per class, so rankings (PR-AUC, ROC-AUC) do not change, and mapping the
decision thresholds through the same temperature (:func:`scale_thresholds`) keeps every decision as it
was. ``predict_proba`` keeps returning the raw sigmoid; callers apply :func:`apply_temperature`.

ECE = Σ_b (n_b / N) · |mean probability_b − fraction positive_b| over :data:`N_BINS` equal-width bins
of [0, 1] (empty bins add nothing); a record with probability exactly on an edge goes to the lower bin,
as in ``calibration_curve``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

N_BINS = 10
EPS = 1e-6  # probabilities are clipped to [EPS, 1 − EPS] before a logit is taken
LOG_T_BOUNDS = (-3.0, 3.0)  # temperatures between e^-3 ≈ 0.05 and e^3 ≈ 20


def ece_bins(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = N_BINS) -> dict:
    """Expected calibration error of one class and its bins.

    Args:
        y_true: (N,) {0, 1}; y_prob: (N,) probabilities in [0, 1]; n_bins: equal-width bins of [0, 1].
    Returns:
        {"ece": float | None (None for N = 0), "bins": [{"lo", "hi", "n", "mean_prob", "fraction_positive"}]}
        (mean_prob and fraction_positive None for an empty bin).
    """
    y, p = np.asarray(y_true, np.float64), np.asarray(y_prob, np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)  # calibration_curve's binning
    bins, gap = [], 0.0
    for b in range(n_bins):
        inside = ids == b
        n = int(inside.sum())
        mean_p = float(p[inside].mean()) if n else None
        frac = float(y[inside].mean()) if n else None
        if n:
            gap += n * abs(mean_p - frac)
        bins.append(
            {"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": n, "mean_prob": mean_p, "fraction_positive": frac}
        )
    return {"ece": float(gap / len(y)) if len(y) else None, "bins": bins}


def calibration_report(y_true: np.ndarray, y_prob: np.ndarray, names: Sequence[str], n_bins: int = N_BINS) -> dict:
    """Calibration of every class of one part.

    Args:
        y_true: (N, C) {0, 1}; y_prob: (N, C) in [0, 1]; names: C class names; n_bins: ECE bins.
    Returns:
        {"n_bins", "n_records", "macro_ece", "macro_brier", "per_class": {name: {"ece", "brier", "bins",
        "curve": {"mean_predicted", "fraction_positive"} (non-empty bins), "positives"}}}; a class
        without both outcomes has a Brier score and ECE but no curve problem (both are defined).
    """
    y, p = np.asarray(y_true).astype(np.int64), np.asarray(y_prob, np.float64)
    per_class = {}
    for c, name in enumerate(names):
        binned = ece_bins(y[:, c], p[:, c], n_bins)
        curve = {"mean_predicted": [], "fraction_positive": []}
        if len(y):
            frac, mean = calibration_curve(y[:, c], p[:, c], n_bins=n_bins, strategy="uniform")
            curve = {"mean_predicted": mean.tolist(), "fraction_positive": frac.tolist()}
        brier = float(brier_score_loss(y[:, c], p[:, c], pos_label=1)) if len(y) else None
        per_class[name] = binned | {"brier": brier, "curve": curve, "positives": int(y[:, c].sum())}
    eces = [v["ece"] for v in per_class.values() if v["ece"] is not None]
    briers = [v["brier"] for v in per_class.values() if v["brier"] is not None]
    return {
        "n_bins": n_bins,
        "n_records": len(y),
        "macro_ece": float(np.mean(eces)) if eces else None,
        "macro_brier": float(np.mean(briers)) if briers else None,
        "per_class": per_class,
    }


def _logit(prob: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(prob, np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def _nll(y: np.ndarray, logits: np.ndarray) -> float:
    """Mean binary cross-entropy of {0,1} targets y (N,) under logits (N,), computed stably."""
    return float(np.mean(np.logaddexp(0.0, logits) - y * logits))


def fit_temperature(y_val: np.ndarray, val_logits: np.ndarray) -> np.ndarray:
    """One temperature per class minimising the validation NLL of ``sigmoid(logit / T)``.

    Args:
        y_val: (N, C) {0, 1} of the validation part; val_logits: (N, C) the model's logits on it.
    Returns:
        (C,) float64 temperatures in [e^-3, e^3]; 1.0 for a class without both outcomes (nothing to fit).
    """
    y, z = np.asarray(y_val, np.float64), np.asarray(val_logits, np.float64)
    out = np.ones(y.shape[1])
    for c in range(y.shape[1]):
        yc, zc = y[:, c], z[:, c]
        if 0 < yc.sum() < len(yc):
            best = minimize_scalar(
                lambda t, yc=yc, zc=zc: _nll(yc, zc / np.exp(t)), bounds=LOG_T_BOUNDS, method="bounded"
            )
            out[c] = float(np.exp(best.x))
    return out


def nll_per_class(y_true: np.ndarray, logits: np.ndarray, temperature: np.ndarray | None = None) -> np.ndarray:
    """(C,) mean binary cross-entropy of each class for logits (N, C) divided by ``temperature`` (C,)."""
    z = np.asarray(logits, np.float64) / (1.0 if temperature is None else np.asarray(temperature, np.float64))
    y = np.asarray(y_true, np.float64)
    return np.array([_nll(y[:, c], z[:, c]) for c in range(y.shape[1])])


def apply_temperature(prob: np.ndarray, temperature: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """Temperature-scaled probabilities ``sigmoid(logit(prob) / T)``: prob (N, C) or (C,) in [0, 1],
    temperature (C,) (None: prob unchanged). Same shape as prob, float64."""
    if temperature is None:
        return np.asarray(prob, np.float64)
    return 1.0 / (1.0 + np.exp(-_logit(prob) / np.asarray(temperature, np.float64)))


def scale_thresholds(thresholds: np.ndarray, temperature: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """Decision thresholds (C,) mapped through the temperature, so that ``scaled prob >= scaled
    threshold`` decides exactly as ``prob >= threshold`` did."""
    return apply_temperature(np.asarray(thresholds, np.float64), temperature)


def calibration_state(meta: dict) -> dict:
    """Whether a checkpoint's probabilities are calibrated, for a page or the terminal to show.

    Returns {"calibrated": bool, "temperature": list[float] | None, "text": one sentence}."""
    temperature = meta.get("temperature")
    names = meta.get("label_names") or []
    if temperature is None or len(temperature) != len(names):
        return {
            "calibrated": False,
            "temperature": None,
            "text": "Probabilities are the model's raw sigmoid outputs, not calibrated: read them as scores, "
            "not as chances (python -m ecgcore calibrate fits a temperature on the validation part).",
        }
    info = meta.get("calibration") or {}
    temps = ", ".join(f"{n} {t:.2f}" for n, t in zip(names, temperature))
    ece = info.get("val_ece_after")
    tail = f"; validation ECE after scaling {ece:.3f}" if ece is not None else ""
    return {
        "calibrated": True,
        "temperature": [float(t) for t in temperature],
        "text": f"Probabilities are temperature-scaled per class on the fold's validation part (T: {temps}){tail}.",
    }


def run_calibration(run_folder: Path) -> dict:
    """The test-part calibration of an evaluated run (what a page shows): {"raw": report, "scaled":
    report | None, "temperature": list | None} with reports as :func:`calibration_report`. Read from
    results.json (``calibration``), or computed from its stored test probabilities."""
    from ecgcore.metrics import read_json
    from ecgcore.run_paths import RunPaths

    results = read_json(RunPaths(run_folder).results)
    if "calibration" in results:
        return results["calibration"]
    return test_calibration(np.asarray(results["test_true"]), np.asarray(results["test_prob"]), results["label_names"])


def test_calibration(
    y_test: np.ndarray, test_prob: np.ndarray, names: Sequence[str], temperature: Sequence[float] | None = None
) -> dict:
    """{"raw", "scaled" (None without a temperature), "temperature"} reports of a test part: y_test,
    test_prob (N, C); temperature (C,) or None."""
    scaled = (
        None if temperature is None else calibration_report(y_test, apply_temperature(test_prob, temperature), names)
    )
    return {
        "raw": calibration_report(y_test, test_prob, names),
        "scaled": scaled,
        "temperature": None if temperature is None else [float(t) for t in temperature],
    }


def calibrate_run(ds, run_folder: Path, device: str = "auto") -> dict:
    """Fit per-class temperatures on the validation part of the run at ``run_folder`` (a trained fold
    on ``ds``) and store them in its best checkpoint (atomically, under the run's lock).

    Returns {"temperature": (C,) list, "val_nll_before"/"val_nll_after": (C,) lists, "val_ece_before",
    "val_ece_after", "test_ece_before", "test_ece_after": macro ECE}. Raises CheckpointError (no or
    unfitting checkpoint) or RunError (the run is being trained)."""
    from ecgcore.checkpoints import load_checkpoint, read_checkpoint, save_checkpoint
    from ecgcore.folds import get_fold
    from ecgcore.inference import predict_logit_array
    from ecgcore.run_paths import RunPaths
    from ecgcore.runs import RunLock

    paths = RunPaths(run_folder)
    if not paths.best.is_file():  # before the lock, which would create the run's folder
        read_checkpoint(paths.best)
    with RunLock(paths.folder):
        expect = {"label_names": list(ds.label_names), "sampling_rate": ds.sampling_rate, "label_set": ds.label_set}
        model, meta = load_checkpoint(paths.best, expect=expect | {"fingerprint": ds.fingerprint})
        fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
        z_val = predict_logit_array(model, ds.signals[fold.val], device)
        z_test = predict_logit_array(model, ds.signals[fold.test], device)
        y_val, y_test = ds.labels[fold.val], ds.labels[fold.test]
        temperature = fit_temperature(y_val, z_val)
        names = ds.label_names
        sig = lambda z: 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))  # noqa: E731
        out = {
            "temperature": temperature.tolist(),
            "per": "class",
            "fitted_on": f"validation part ({len(fold.val)} records)",
            "val_nll_before": nll_per_class(y_val, z_val).tolist(),
            "val_nll_after": nll_per_class(y_val, z_val, temperature).tolist(),
            "val_ece_before": calibration_report(y_val, sig(z_val), names)["macro_ece"],
            "val_ece_after": calibration_report(y_val, sig(z_val / temperature), names)["macro_ece"],
            "test_ece_before": calibration_report(y_test, sig(z_test), names)["macro_ece"],
            "test_ece_after": calibration_report(y_test, sig(z_test / temperature), names)["macro_ece"],
            "fitted": time.time(),
        }
        details = {k: v for k, v in out.items() if not k.startswith("test_")}
        save_checkpoint(paths.best, model, meta | {"temperature": temperature.tolist(), "calibration": details})
    return out
