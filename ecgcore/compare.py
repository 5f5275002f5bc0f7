"""Compare two run groups (a model + run name, one results.json per fold) fold by fold.

Independent of the run layout: the inputs are two mappings ``{fold: results dict}``. For every macro
metric (:data:`ecgcore.metrics.MACRO_METRICS`) the output holds both values per fold, the paired
difference a − b, its mean ± sd (ddof=1), and a two-sided Wilcoxon signed-rank p-value
(``scipy.stats.wilcoxon``, exact for these sizes). With n paired folds the smallest possible exact
two-sided p is 2 / 2**n: 0.0625 for 5 folds, so 5-fold CV can never reach p < 0.05 with this test —
the ``note`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from ecgcore import recipes
from ecgcore.errors import ResultsError
from ecgcore.metrics import MACRO_METRICS

# TrainConfig fields that do not change what is learnt (or differ by construction between folds)


def smallest_p(n: int) -> float | None:
    """Smallest exact two-sided Wilcoxon signed-rank p with ``n`` non-zero paired differences."""
    return min(1.0, 2.0 / 2**n) if n > 0 else None


def wilcoxon_p(diff: np.ndarray) -> float | None:
    """Two-sided Wilcoxon signed-rank p of paired differences (None: fewer than 1 non-zero difference)."""
    diff = np.asarray(diff, dtype=np.float64)
    diff = diff[np.isfinite(diff)]
    if np.count_nonzero(diff) == 0:
        return None
    return float(wilcoxon(diff, zero_method="wilcox", alternative="two-sided").pvalue)


def _check_same_task(a: Mapping[int, dict], b: Mapping[int, dict], names: tuple[str, str]) -> None:
    """ResultsError unless both groups were evaluated on the same plan, label set and dataset (two demo
    sets share the run-folder name "demo": the fingerprint tells them apart)."""
    for key, what in (("label_names", "label set"), ("plan", "plan"), ("fingerprint", "dataset")):
        values = [
            r.get(key) if key != "fingerprint" else (r.get("dataset") or {}).get(key)
            for r in [*a.values(), *b.values()]
        ]
        seen = {repr(v) for v in values if v is not None}
        if len(seen) > 1:
            raise ResultsError(
                f"{names[0]} and {names[1]} were not evaluated on the same {what} "
                f"({' vs '.join(sorted(seen))}); compare runs of the same plan, label set and dataset."
            )


def compare_groups(a: Mapping[int, dict], b: Mapping[int, dict], names: tuple[str, str] = ("a", "b")) -> dict:
    """Paired fold-by-fold comparison of two run groups.

    Args:
        a, b: {fold: results dict (results.json)} of each group.
        names: display names, e.g. ("cnn1d:default", "cnn1d:long").

    Returns a JSON-able dict: names, folds (paired), unpaired {name: folds}, per_fold (rows: fold,
    metric, a, b, diff), metrics {metric: {a, b, diff (lists per fold), mean, sd, p_wilcoxon, n}}, note.
    Raises ResultsError when no fold is in both groups or they differ in plan or label set.
    """
    _check_same_task(a, b, names)
    folds = sorted(set(a) & set(b))
    if not folds:
        raise ResultsError(
            f"no fold has results for both {names[0]} and {names[1]}; train and evaluate the same folds of both."
        )
    metrics, rows = {}, []
    for m in MACRO_METRICS:
        va = np.array([np.nan if a[k].get(m) is None else a[k][m] for k in folds], dtype=np.float64)
        vb = np.array([np.nan if b[k].get(m) is None else b[k][m] for k in folds], dtype=np.float64)
        diff = va - vb
        ok = diff[np.isfinite(diff)]
        metrics[m] = {
            "a": _listed(va),
            "b": _listed(vb),
            "diff": _listed(diff),
            "mean": float(ok.mean()) if len(ok) else None,
            "sd": float(ok.std(ddof=1)) if len(ok) > 1 else None,
            "p_wilcoxon": wilcoxon_p(ok),
            "n": int(len(ok)),
        }
        rows += [
            {"fold": k, "metric": m, "a": _num(x), "b": _num(y), "diff": _num(d)}
            for k, x, y, d in zip(folds, va, vb, diff)
        ]
    n = len(folds)
    note = (
        f"{n} paired fold(s): the smallest two-sided Wilcoxon p possible is {smallest_p(n):.4g}"
        + (", so p < 0.05 cannot be reached" if smallest_p(n) >= 0.05 else "")
        + ". Folds share training records, so folds are not independent samples; read p as a guide."
    )
    return {
        "names": list(names),
        "folds": folds,
        "unpaired": {names[0]: sorted(set(a) - set(b)), names[1]: sorted(set(b) - set(a))},
        "per_fold": rows,
        "metrics": metrics,
        "note": note,
    }


def comparison_frame(comparison: dict) -> pd.DataFrame:
    """The summary of :func:`compare_groups` as a table: metric, mean_a, mean_b, diff_mean, diff_sd, p, n."""
    rows = [
        {
            "metric": m,
            "mean_a": _mean(v["a"]),
            "mean_b": _mean(v["b"]),
            "diff_mean": v["mean"],
            "diff_sd": v["sd"],
            "p_wilcoxon": v["p_wilcoxon"],
            "n_folds": v["n"],
        }
        for m, v in comparison["metrics"].items()
    ]
    return pd.DataFrame(rows)


def recipe_differences(recipe_a: dict, recipe_b: dict) -> list[str]:
    """Differences of two recorded recipes for people, e.g. ``["Epochs: 40 vs 60", "Random crops (s): 2.5
    vs off"]`` (:func:`ecgcore.recipes.recipe_differences`; which fold, plan and device are not compared).
    An empty list means the recipes agree."""
    return [f"{label}: {a} vs {b}" for label, a, b in recipes.recipe_differences(recipe_a, recipe_b)]


def _listed(values: np.ndarray) -> list[float | None]:
    return [_num(v) for v in values]


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _mean(values: list[float | None]) -> float | None:
    ok = [v for v in values if v is not None]
    return float(np.mean(ok)) if ok else None
