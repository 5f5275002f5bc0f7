"""Compare two run groups (a model + run name, one results.json per fold) fold by fold.

Independent of the run layout: the inputs are two mappings ``{fold: results dict}``. For every macro
metric (:data:`ecgcore.metrics.MACRO_METRICS`) the output holds both values per fold, the paired
difference a − b, its mean ± sd (ddof=1), and a two-sided Wilcoxon signed-rank p-value
(``scipy.stats.wilcoxon``, exact for these sizes). With n paired folds the smallest possible exact
two-sided p is 2 / 2**n: 0.0625 for 5 folds, so 5-fold CV can never reach p < 0.05 with this test —
the ``note`` says so.

A run trained with several seeds (``train --seeds N``: :func:`ecgcore.run_paths.seed_members`) is
compared by :func:`compare_runs`: each fold's metrics are first averaged over its seeds (their sd over
seeds is kept), then the groups are compared fold by fold on those means — the paired test pairs by
fold with the seeds averaged, so seeds never count as independent samples.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from ecgcore import recipes
from ecgcore.errors import ResultsError
from ecgcore.fileio import write_json
from ecgcore.folds import DEFAULT_PLAN, n_folds
from ecgcore.metrics import MACRO_METRICS, read_json, summarize_folds
from ecgcore.run_paths import RunPaths, group_dir, group_folder, seed_members

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
        names: display names, e.g. ("cnn1d", "cnn1d · run long") (``run_paths.group_label``).

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


# ----------------------------------------------------------------------------- seeds


def seed_results(
    dataset: str, label_set: str, model: str, run_name: str, plan: str = DEFAULT_PLAN, root: Path | None = None
) -> dict[int, dict[int, dict]]:
    """{seed: {fold: results.json}} of a run and its extra seeds (seeds or folds not evaluated are absent)."""
    found: dict[int, dict[int, dict]] = {}
    for seed, folder in seed_members(dataset, label_set, model, run_name, root).items():
        for k in range(n_folds(plan)):
            path = RunPaths.of(dataset, label_set, folder, k, plan, root).results
            if path.is_file():
                found.setdefault(seed, {})[k] = read_json(path)
    return found


def average_seeds(per_seed: Mapping[int, Mapping[int, dict]]) -> tuple[dict[int, dict], dict[int, dict]]:
    """({fold: results with each macro metric the mean over the fold's seeds, plus ``seeds``},
    {fold: {metric: sd over seeds (ddof=1; 0.0 for one seed)}})."""
    folds = sorted({k for by_fold in per_seed.values() for k in by_fold})
    means, spread = {}, {}
    for k in folds:
        runs = [by_fold[k] for _, by_fold in sorted(per_seed.items()) if k in by_fold]
        means[k] = {key: runs[0].get(key) for key in ("label_names", "plan", "dataset")}
        means[k]["seeds"] = len(runs)
        spread[k] = {}
        for m in MACRO_METRICS:
            values = [r[m] for r in runs if r.get(m) is not None]
            means[k][m] = float(np.mean(values)) if values else None
            spread[k][m] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return means, spread


def compare_runs(
    dataset: str,
    label_set: str,
    runs: tuple[tuple[str, str], tuple[str, str]],
    plan: str = DEFAULT_PLAN,
    root: Path | None = None,
    description: str = "",
) -> dict:
    """Two runs ((model, run name) each, with all their seeds) compared on the folds evaluated for
    both: per fold the mean over seeds (and its sd), then mean ± sd over folds of those means, and the
    paired per-fold difference with its Wilcoxon p (:func:`compare_groups` on the seed means). The
    keys models, plan, dataset, per_fold, summary, paired_difference (std None from one paired fold),
    note, ``seeds`` {group: seeds per fold} and ``seed_sd`` {group: {fold: {metric: sd}}}; written to
    ``<dataset>/<label_set>/compare.json``."""
    names = tuple(group_folder(model, run) for model, run in runs)
    averaged, spread = {}, {}
    for name, (model, run) in zip(names, runs):
        averaged[name], spread[name] = average_seeds(seed_results(dataset, label_set, model, run, plan, root))
    paired = compare_groups(averaged[names[0]], averaged[names[1]], names)
    folds = paired["folds"]
    rows = [{"fold": k, "model": n, "seeds": averaged[n][k]["seeds"]} | {m: averaged[n][k][m] for m in MACRO_METRICS}
            for k in folds for n in names]  # fmt: skip
    out = {
        "models": list(names),
        "plan": plan,
        "dataset": description or dataset,
        "per_fold": rows,
        "summary": {n: summarize_folds([r for r in rows if r["model"] == n]) for n in names},
        "paired_difference": {
            m: {"mean": v["mean"], "std": v["sd"], "per_fold": v["diff"], "p_wilcoxon": v["p_wilcoxon"]}
            for m, v in paired["metrics"].items()
        },
        "note": paired["note"] + " Each fold's value is the mean over its seeds.",
        "seeds": {n: {k: averaged[n][k]["seeds"] for k in folds} for n in names},
        "seed_sd": {n: {k: spread[n][k] for k in folds} for n in names},
        "compared": time.time(),
    }
    write_json(group_dir(dataset, label_set, names[0], root).parent / "compare.json", out)
    return out


def comparison_report(out: dict) -> list[str]:
    """:func:`compare_runs`'s result as the lines the ``compare`` command prints: per fold the main
    metrics of both groups and their difference, the seeds behind each fold's value, mean ± std over
    folds with the paired difference and its p, and the note."""
    a, b = out["models"]
    lines = [f"\n{'fold':>4}  {'metric':15s} {a:>10s} {b:>10s} {'diff':>8s}"]
    rows = {(r["fold"], r["model"]): r for r in out["per_fold"]}
    for k in sorted({f for f, _ in rows}):
        for m in ("macro_pr_auc", "macro_roc_auc", "f1_macro"):
            ra, rb = rows[k, a][m], rows[k, b][m]
            lines.append(f"{k:>4}  {m:15s} {_shown(ra):>10s} {_shown(rb):>10s} {_shown(_diff(ra, rb), '+'):>8s}")
    for group, seeds in out.get("seeds", {}).items():
        if seeds and max(seeds.values()) > 1:  # the fold values above are means over seeds
            sd = ", ".join(f"fold {k} {_shown(v['macro_pr_auc'])}" for k, v in out["seed_sd"][group].items())
            lines.append(f"{group}: each fold is the mean of its {'/'.join(map(str, seeds.values()))} seeds; "
                         f"macro PR-AUC sd over seeds: {sd}")  # fmt: skip
    lines.append("\nmean ± std over folds:")
    for m, d in out["paired_difference"].items():
        sa, sb = out["summary"][a].get(m), out["summary"][b].get(m)
        if sa and sb:
            one = len(d.get("per_fold") or []) < 2  # no spread and no test from one paired fold
            p = "— (one paired fold)" if one else "n/a" if d.get("p_wilcoxon") is None else f"{d['p_wilcoxon']:.3g}"
            lines.append(
                f"  {m:15s} {a} {sa['mean']:.4f} ± {_sd(sa['std'])}   {b} {sb['mean']:.4f} ± {_sd(sb['std'])}   "
                f"paired diff {d['mean']:+.4f} ± {_sd(None if one else d['std'])}   Wilcoxon p {p}"
            )
    return [*lines, f"\n{out['note']}"]


def _sd(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _shown(value: float | None, sign: str = "") -> str:
    return "n/a" if value is None else f"{value:{sign}.4f}"
