"""The Evaluate page's comparison of two run groups (a model + run name, one results.json per fold):
run groups by protocol (fold plan) and label set, the paired fold-by-fold comparison
(:func:`ecgcore.compare.compare_groups`) as readable tables, and each run's recipe with a warning when
the recipes differ. No Streamlit import.

Runs of different fold plans are different protocols (5-fold CV vs the benchmark split): they are
grouped apart and never averaged together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from ecgcore.app.words import MISSING, ONE_PAIR_NO_P
from ecgcore.compare import average_seeds, compare_groups, comparison_frame, recipe_differences
from ecgcore.folds import DEFAULT_PLAN, PLANS
from ecgcore.recipes import BY_NAME, fields_in, fold_recipe_differences, from_recorded, shown_value
from ecgcore.run_paths import group_label, seed_of
from ecgcore.runs import RunInfo, read_events, recipe_of


def protocol_label(plan: str) -> str:
    """What a fold plan means as a protocol, e.g. "benchmark: train 1–8, val 9, test 10"."""
    p = PLANS.get(plan)
    return f"{plan} — {p.description}" if p else plan


def run_groups(runs: Sequence[RunInfo], label_set: str, plan: str) -> dict[str, dict[int, RunInfo]]:
    """{group label: {fold: run}} of the runs of one label set and one protocol (fold plan), named by
    :func:`ecgcore.run_paths.group_label` (``cnn1d``, ``cnn1d · run long``); a run's extra
    seeds (``<run>-s<k>``, :func:`ecgcore.run_paths.seed_run_name`) belong to it, not a group of their own
    (see :func:`seed_groups`)."""
    out: dict[str, dict[int, RunInfo]] = {}
    for r in runs:
        if r.label_set == label_set and r.plan == plan and seed_of(r.run_name)[1] == 0:
            out.setdefault(group_label(r.model, r.run_name), {})[r.fold] = r
    return dict(sorted(out.items()))


def seed_groups(runs: Sequence[RunInfo], label_set: str, plan: str) -> dict[str, dict[int, dict[int, RunInfo]]]:
    """{group name: {seed: {fold: run}}} — each run group with its extra seeds (seed 0: the run itself)."""
    out: dict[str, dict[int, dict[int, RunInfo]]] = {}
    for r in runs:
        if r.label_set == label_set and r.plan == plan:
            base, seed = seed_of(r.run_name)
            out.setdefault(group_label(r.model, base), {}).setdefault(seed, {})[r.fold] = r
    return out


def seed_averaged_results(seeds: Mapping[int, Mapping[int, RunInfo]], read: Callable) -> tuple[dict[int, dict], int]:
    """({fold: results with each macro metric the mean over the fold's seeds}, the most seeds of a fold)
    — what is compared when a run was trained with several seeds (:func:`ecgcore.compare.average_seeds`)."""
    per_seed = {seed: group_results(group, read) for seed, group in seeds.items()}
    means, _ = average_seeds({seed: r for seed, r in per_seed.items() if r})
    return means, max((m["seeds"] for m in means.values()), default=0)


def plans_of(runs: Sequence[RunInfo], label_set: str) -> list[str]:
    """The fold plans (protocols) with runs of ``label_set``: cv5 first."""
    return sorted({r.plan for r in runs if r.label_set == label_set}, key=lambda p: (p != DEFAULT_PLAN, p))


def default_pair(groups: Sequence[str]) -> tuple[str, str] | None:
    """The pair compared by default: cnn1d vs cnn2d (default runs) when both exist, else the first two."""
    one_d, two_d = group_label("cnn1d"), group_label("cnn2d")
    if one_d in groups and two_d in groups:
        return one_d, two_d
    return (groups[0], groups[1]) if len(groups) >= 2 else None


def group_results(group: Mapping[int, RunInfo], read: Callable) -> dict[int, dict]:
    """{fold: results} of a group's runs; folds whose results cannot be read are left out."""
    out = {}
    for fold, run in sorted(group.items()):
        try:
            out[fold] = read(run.path)
        except Exception:  # noqa: BLE001 — a damaged fold is shown as missing, never breaks the page
            continue
    return out


def compare(a: Mapping[int, dict], b: Mapping[int, dict], names: tuple[str, str]) -> dict:
    """:func:`ecgcore.compare.compare_groups` (ResultsError when no fold is shared or the task differs)."""
    return compare_groups(a, b, names)


def no_shared_fold_note(
    names: tuple[str, str], groups: Mapping[str, Mapping[int, RunInfo]], results: tuple[Mapping, Mapping]
) -> str:
    """Why two groups cannot be compared: the evaluated folds of each, and those whose results are unreadable."""
    parts = []
    for name, got in zip(names, results):
        unreadable = sorted(set(groups.get(name, {})) - set(got))
        text = f"{name}: folds {', '.join(map(str, sorted(got))) or 'none'}"
        parts.append(text + (f" (unreadable results: fold {', '.join(map(str, unreadable))})" if unreadable else ""))
    return (
        f"No fold has readable results for both runs ({'; '.join(parts)}): train and evaluate the same folds of both."
    )


def summary_table(comparison: dict) -> pd.DataFrame:
    """One row per macro metric: mean of each group, paired difference A − B mean ± SD, Wilcoxon p, folds.
    The SD and p need two paired folds: as text, "—: one paired fold" with one."""
    from ecgcore.app.results import METRIC_NAMES

    a, b = comparison["names"]
    frame = comparison_frame(comparison)
    few = frame["n_folds"] < 2  # one pair: no spread, no test — said, never "± 0.000" or a p of 1
    return pd.DataFrame(
        {
            "metric": [METRIC_NAMES.get(m, m) for m in frame["metric"]],
            f"{a} (mean)": frame["mean_a"],
            f"{b} (mean)": frame["mean_b"],
            "difference (mean)": frame["diff_mean"],
            "difference (SD)": [_small(v, f) for v, f in zip(frame["diff_sd"], few)],
            "Wilcoxon p": [_small(v, f) for v, f in zip(frame["p_wilcoxon"], few)],
            "paired folds": frame["n_folds"],
        }
    )


def _small(value, one_pair: bool) -> str:
    """A figure that needs two paired folds, as text: "—: one paired fold" for one pair, "—" when it does
    not exist (no non-zero difference), else the number to 4 digits."""
    if one_pair:
        return f"{MISSING}: {ONE_PAIR_NO_P}"
    return MISSING if value is None or pd.isna(value) else f"{float(value):.4f}"


def per_fold_table(comparison: dict, metric: str) -> pd.DataFrame:
    """One row per paired fold of ``metric``: both values and their difference."""
    a, b = comparison["names"]
    rows = [r for r in comparison["per_fold"] if r["metric"] == metric]
    return pd.DataFrame(
        {"fold": [r["fold"] for r in rows], a: [r["a"] for r in rows], b: [r["b"] for r in rows]}
        | {f"{a} − {b}": [r["diff"] for r in rows]}
    )


def fold_recipe_warning(name: str, group: Mapping[int, RunInfo]) -> str | None:
    """A warning when the folds of one run group trained with different recipes (their mean mixes
    recipes; the recipe shown is the first fold's), else None."""
    differences = fold_recipe_differences({k: recipe_of(run.path) for k, run in group.items()})
    if not differences:
        return None
    return (
        f"The folds of {name} were trained with different recipes ({'; '.join(differences)}): its mean mixes "
        "them, and the recipe shown below is the first fold's."
    )


def group_recipe(group: Mapping[int, RunInfo]) -> dict | None:
    """The recipe (TrainConfig dict) of a run group: that of its first fold with one (see
    :func:`fold_recipe_warning` for groups whose folds differ)."""
    for _, run in sorted(group.items()):
        recipe = recipe_of(run.path)
        if recipe:
            return recipe
    return None


def recipe_table(
    recipes: Mapping[str, dict | None], best_epochs: Mapping[str, Mapping[int, int | None]] | None = None
) -> pd.DataFrame:
    """The recipes side by side: one row per recipe field (plus best epoch per fold), one column per
    run group; values as text ("—": not recorded, "off": a technique not used)."""
    rows = []
    shown = {name: None if recipe is None else from_recorded(recipe).to_dict() for name, recipe in recipes.items()}
    for f in fields_in("recipe", "advanced"):
        row = {"setting": f.label}
        for name, recipe in shown.items():
            row[name] = "—" if recipe is None else shown_value(f.name, recipe[f.name])
        rows.append(row)
    if best_epochs:
        row = {"setting": "best epoch (per fold)"}
        for name in recipes:
            epochs = (best_epochs or {}).get(name) or {}
            row[name] = ", ".join(f"{k}: {v}" for k, v in sorted(epochs.items())) or "—"
        rows.append(row)
    return pd.DataFrame(rows, columns=["setting", *recipes])


def recipe_warning(recipes: Mapping[str, dict | None]) -> str | None:
    """The warning shown when compared recipes differ (None when they agree or one is unknown).
    The model and model options are part of what is compared and not listed."""
    (a, ra), (b, rb) = list(recipes.items())[:2]
    if not ra or not rb:
        missing = a if not ra else b
        return f"The recipe of {missing} is not recorded: the runs may differ in more than the model."
    diffs = [d for d in recipe_differences(ra, rb) if not d.startswith(BY_NAME["model_config"].label + ":")]
    if not diffs:
        return None
    return (
        f"The recipes of {a} and {b} differ ({'; '.join(diffs)}): a difference in the metrics may come "
        "from the recipe, not from the model."
    )


def best_epochs(group_results_: Mapping[int, dict]) -> dict[int, int | None]:
    """{fold: best epoch}, counted from 1 as the training log and the Train page count (results.json
    stores the epoch index, from 0)."""
    return {k: None if r.get("best_epoch") is None else r["best_epoch"] + 1 for k, r in group_results_.items()}


def training_curves(groups: Mapping[str, Mapping[int, RunInfo]]) -> dict[str, list[dict]]:
    """{"<group> · fold k": training events} of every fold of the given groups (for the overlay figure)."""
    out = {}
    for name, group in groups.items():
        for fold, run in sorted(group.items()):
            events = read_events(run.path)
            if events:
                out[f"{name} · fold {fold}"] = events
    return out
