"""Test-time window aggregation alone: re-score trained fold checkpoints with sliding windows.

    python bench/windows_eval.py --data_root ../shared/ptbxl --runs RUNS/MODEL-cv5/seed0 [--window_s 2.5 --stride_s 1.25]

For each fold folder under ``--runs`` (fold0 … fold4, each with best.pt, as ``bench/cv.py --runs_dir``
leaves them), scores the test part three ways with thresholds chosen on the validation part — the whole
10 s record (what the model was trained for), the maximum over windows, and the mean over windows — and
prints the macro PR-AUC per fold, mean ± sd, the paired differences, and inference time per record.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.checkpoints import load_checkpoint  # noqa: E402
from ecgcore.folds import get_fold  # noqa: E402
from ecgcore.inference import predict_proba  # noqa: E402
from ecgcore.metrics import evaluate_predictions  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402
from ecgcore.thresholds import choose_thresholds
from ecgcore.windows import WindowSpec  # noqa: E402


def score(model, ds, fold, spec: WindowSpec | None) -> tuple[float, float]:
    """(test macro PR-AUC at validation thresholds, seconds per test record) with ``spec`` windows."""
    model.windows = spec
    pv = predict_proba(model, ds.signals[fold.val], "cpu")
    t0 = time.perf_counter()
    pt = predict_proba(model, ds.signals[fold.test], "cpu")
    seconds = (time.perf_counter() - t0) / len(fold.test)
    r = evaluate_predictions(ds.labels[fold.test], pt, ds.label_names, choose_thresholds(ds.labels[fold.val], pv), 0)
    return r["macro_pr_auc"], seconds


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_root", default=None)
    p.add_argument("--runs", required=True, help="folder holding fold0 … fold4 (each with best.pt)")
    p.add_argument("--window_s", type=float, default=2.5)
    p.add_argument("--stride_s", type=float, default=1.25)
    args = p.parse_args(argv)
    ds = load_ptbxl(args.data_root)
    fs = ds.sampling_rate
    specs = {
        "whole": None,
        "max": WindowSpec(round(args.window_s * fs), round(args.stride_s * fs), "max"),
        "mean": WindowSpec(round(args.window_s * fs), round(args.stride_s * fs), "mean"),
    }
    rows = []
    print(f"# {ds.description}; windows {args.window_s} s every {args.stride_s} s")
    print(f"{'fold':>4} " + " ".join(f"{k:>8}" for k in specs) + "   ms/record " + " ".join(f"{k:>6}" for k in specs))
    fold_dirs = sorted(Path(args.runs).glob("fold*"))
    if not fold_dirs:
        raise SystemExit(
            f"error: no fold folders under {args.runs} (bench/cv.py --runs_dir R writes R/MODEL-PLAN/seedS/foldK)"
        )
    for fold_dir in fold_dirs:
        model, meta = load_checkpoint(fold_dir / "best.pt")
        fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
        out = {k: score(model, ds, fold, spec) for k, spec in specs.items()}
        rows.append({k: v[0] for k, v in out.items()})
        print(
            f"{meta['fold']:>4} "
            + " ".join(f"{v[0]:8.4f}" for v in out.values())
            + "   "
            + " ".join(f"{1000 * v[1]:6.2f}" for v in out.values())
        )
    for k in specs:
        v = np.array([r[k] for r in rows])
        d = v - np.array([r["whole"] for r in rows])
        print(
            f"{k:>6}: {v.mean():.4f} ± {v.std(ddof=1):.4f}   vs whole {d.mean():+.4f} ± {d.std(ddof=1):.4f} "
            f"(better on {int((d > 0).sum())}/{len(d)} folds)"
        )


if __name__ == "__main__":
    main()
