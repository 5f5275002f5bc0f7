"""Bootstrap intervals: seconds of the former per-resample scikit-learn loops (the oracle of
tests/test_bootstrap.py) against ecgcore.bootstrap (all resamples at once as count weights), on the same random data.

    python bench/bootstrap.py                      # B = 200; N = 200 and 4400 records, C = 5 classes
    python bench/bootstrap.py --cases 4400x23 --resamples 200

Per case and function (``app.results.per_class_ci``: per-class AP/ROC-AUC intervals, the Evaluate
page; ``metrics.bootstrap_ci``: the macro figures, ``python -m ecgcore eval``): old and new seconds,
old/new, and the largest difference of the interval ends. Prints a markdown table. Not a test:
timings depend on the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_bootstrap import loop_bootstrap_ci, loop_per_class_ci  # noqa: E402  the former loops, kept as the tests' oracle

from ecgcore.app.results import per_class_ci  # noqa: E402
from ecgcore.metrics import bootstrap_ci  # noqa: E402


def interval_ends(result: dict) -> np.ndarray:
    """All interval ends of a (nested) result dict, in order (None → NaN)."""
    ends = []
    for v in result.values():
        if isinstance(v, dict):
            ends.extend(interval_ends(v))
        else:
            ends.extend(v if v is not None else [np.nan, np.nan])
    return np.asarray(ends, dtype=float)


def timed(fn, *args) -> tuple[float, dict]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def bench_case(n_rec: int, n_cls: int, n_resamples: int) -> list[dict]:
    """Old and new seconds of both functions on one random test part, y (N, C) and y_prob (N, C)."""
    rng = np.random.default_rng(0)
    y = (rng.random((n_rec, n_cls)) < rng.uniform(0.05, 0.4, n_cls)).astype(np.int64)
    p = np.clip(0.3 * y + 0.7 * rng.random((n_rec, n_cls)), 0, 1).astype(np.float32).astype(np.float64)
    names, thr = [f"c{c}" for c in range(n_cls)], np.full(n_cls, 0.5)
    pairs = {
        "per_class_ci": ((loop_per_class_ci, per_class_ci), (y, p, names, n_resamples, 0)),
        "bootstrap_ci": ((loop_bootstrap_ci, bootstrap_ci), (y, p, thr, n_resamples, 0)),
    }
    rows = []
    for name, ((old_fn, new_fn), args) in pairs.items():
        old_s, old = timed(old_fn, *args)
        new_s, new = timed(new_fn, *args)
        diff = float(np.nanmax(np.abs(interval_ends(old) - interval_ends(new))))
        rows.append({"case": f"N={n_rec} C={n_cls} B={n_resamples}", "function": name, "old": old_s, "new": new_s})
        rows[-1] |= {"ratio": old_s / new_s, "max |diff|": diff}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["200x5", "4400x5"], help="NxC: records x classes")
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    rows = []
    for case in args.cases:
        n_rec, n_cls = (int(v) for v in case.split("x"))
        rows += bench_case(n_rec, n_cls, args.resamples)
    print("| case | function | old s | new s | old/new | max abs diff of ends |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['function']} | {r['old']:.3f} | {r['new']:.3f} | {r['ratio']:.0f}× "
            f"| {r['max |diff|']:.1e} |"
        )


if __name__ == "__main__":
    main()
