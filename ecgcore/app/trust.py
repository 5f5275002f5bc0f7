"""How far to trust what the Saliency and Predict pages show (no Streamlit import).

* :func:`record_place` — which part of the fold(s) a record is in, said once for the part picker and
  the fold-ensemble statement alike, so the two never contradict each other;
* :func:`group_quality` / :func:`quality_words` — the run group's cross-validated macro PR-AUC with its
  folds, epochs and recipe, and its flags (:mod:`ecgcore.model_quality`);
* :func:`member_probabilities` / :func:`spread_words` — the fold members' spread per class
  (:mod:`ecgcore.uncertainty`) in one plain sentence;
* :func:`calibration_words` — whether the members' probabilities are calibrated (:mod:`ecgcore.calibration`);
* :func:`neighbour_rows` — similar cases (:mod:`ecgcore.similar`) with their statements' certainty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecgcore.app.labels_view import labels_with_certainty, report_of
from ecgcore.model_quality import RunQuality, run_quality
from ecgcore.recipes import BY_NAME, shown_value

# ----------------------------------------------------------------------------- where the record is

PART_WORDS = {"train": "training", "val": "validation", "test": "test"}


@dataclass
class Place:
    """What the page says about where a record is: ``level`` "ok" (an estimate on unseen data),
    "warning" (seen in training) or "none" (in no fold); ``text`` one or two sentences; ``open_fold``:
    a fold that tests the record, to offer when the one shown does not (None: none to offer)."""

    level: str
    text: str
    open_fold: int | None = None


def record_place(
    ecg_id: int,
    fold: int,
    part: str,
    member_folds: Sequence[int],
    test_fold: int | None,
    trained_folds: Sequence[int] | None = None,
) -> Place:
    """Where record ``ecg_id`` is, for one model (``member_folds`` = [fold]) or a fold ensemble.

    Args:
        fold: the fold chosen in the picker; part: its part there ("train", "val", "test", or "—": no label).
        member_folds: the folds whose models predict (one, or the ensemble's members).
        test_fold: the fold of the plan that tests the record (``ecgcore.folds.fold_testing_record``), or None.
        trained_folds: the run's trained folds (a fold to offer must be one); default ``member_folds``.
    """
    members = sorted(int(f) for f in member_folds)
    if part not in PART_WORDS:
        return Place("none", f"Record {ecg_id} has no label in this label set: it is in no part of any fold.")
    trained = members if trained_folds is None else [int(f) for f in trained_folds]
    offer = test_fold if test_fold is not None and test_fold in trained and test_fold != fold else None
    if len(members) == 1:
        if part == "test":
            return Place("ok", f"Record {ecg_id} is in the **test** part of fold {fold}: this model never saw it.")
        why = "the model was trained on it" if part == "train" else "the model chose its epoch and thresholds on it"
        tail = f" Fold {test_fold} tests it." if test_fold is not None else ""
        return Place(
            "warning", f"Record {ecg_id} is in the **{PART_WORDS[part]}** part of fold {fold}: {why}.{tail}", offer
        )
    others = len(members) - (1 if test_fold in members else 0)
    if test_fold in members:
        text = (
            f"**Not a test record of the ensemble:** only the fold-{test_fold} member never saw record {ecg_id}; "
            f"the other {others} trained or validated on it, so the ensemble's prediction is not an estimate on "
            f"unseen data. For one, choose *this fold* with fold {test_fold}."
        )
        return Place("warning", text, test_fold if test_fold != fold else None)
    return Place(
        "warning",
        f"**Not a test record of any member:** all {len(members)} members trained or validated on record {ecg_id}, "
        "so the ensemble's prediction is not an estimate on unseen data.",
    )


# ----------------------------------------------------------------------------- how good the run is

QUALITY_RECIPE = ("epochs", "batch_size", "lr", "schedule", "augment")


def recipe_words(recipe: Mapping | None) -> str:
    """'Epochs 40 · Batch size 16 · Learning rate 0.003 · Schedule onecycle · Augmentation yes'."""
    if not recipe:
        return "recipe not recorded"
    return " · ".join(
        f"{BY_NAME[name].label} {shown_value(name, recipe.get(name))}" for name in QUALITY_RECIPE if name in recipe
    )


def group_quality(members: Sequence, dataset_name: str, read_results: Callable[[object], Mapping]) -> RunQuality:
    """:func:`ecgcore.model_quality.run_quality` of a run group from its folds (``RunInfo``): each fold's
    results.json through ``read_results(path)`` (folds without readable results are left out), the
    recipe and epochs its status.json recorded."""
    results, recipes, epochs = {}, {}, {}
    for m in members:
        try:
            results[m.fold] = read_results(m.path)
        except Exception:  # noqa: BLE001 — a fold without (readable) results does not count
            pass
        recipes[m.fold] = m.status.get("config") if isinstance(m.status.get("config"), dict) else None
        epoch = m.status.get("epoch")
        epochs[m.fold] = int(epoch) + 1 if isinstance(epoch, int) else None
    first = members[0]
    return run_quality(first.model, first.run_name, results, recipes, epochs, dataset_name)


def quality_words(quality: RunQuality, recipe: Mapping | None) -> dict:
    """{"sentence": the quality sentence with the recipe, "flag": one warning sentence or ""}."""
    sentence = f"How good this model is: {quality.sentence()}; {recipe_words(recipe)}."
    flag = ""
    if quality.flags:
        flag = "**Read this prediction with care:** the run " + "; ".join(quality.flags) + "."
    return {"sentence": sentence, "flag": flag}


def predicted_words(predicted: str, quality: RunQuality, probs: np.ndarray, thresholds: np.ndarray) -> str:
    """The predicted set, qualified when the run is flagged or every call sits near its threshold."""
    probs, thresholds = np.asarray(probs, float), np.asarray(thresholds, float)
    notes = []
    if quality.flags:
        notes.append("from a flagged run (see below)")
    called = probs >= thresholds
    if called.any() and np.all(np.abs(probs[called] - thresholds[called]) < 0.1):
        notes.append("every call within 0.1 of its threshold")
    return predicted + (f" — {'; '.join(notes)}" if notes else "")


# ----------------------------------------------------------------------------- members' spread, calibration


def member_thresholds_matrix(metas: Sequence[dict]) -> np.ndarray:
    """(M, C) each member's own decision thresholds."""
    from ecgcore.thresholds import decision_thresholds

    return np.stack([np.asarray(decision_thresholds(m)[0], float) for m in metas])


def spread_words(spread: pd.DataFrame) -> dict:
    """{"disagree": bool, "text": one plain sentence} of a :func:`ecgcore.uncertainty.member_spread` frame."""
    m = int(spread["members"].iloc[0]) if len(spread) else 0
    split = spread[spread["disagree"]]
    if split.empty:
        return {
            "disagree": False,
            "text": f"The {m} fold members agree on every class (none falls on both sides of its threshold).",
        }
    parts = [f"{r['class']} ({r['members_present']} of {m} call it present)" for _, r in split.iterrows()]
    return {
        "disagree": True,
        "text": f"The fold members fall on both sides of the threshold for {', '.join(parts)}: treat "
        f"{'this call' if len(parts) == 1 else 'these calls'} as uncertain.",
    }


def calibration_words(metas: Sequence[dict]) -> dict:
    """Whether the probabilities shown are calibrated: {"calibrated": False — the pages show the models'
    raw outputs, a fitted temperature is never applied to them —, "fitted": members with a per-class
    temperature (``ecgcore.calibration.calibration_state``), "text": one or two sentences}."""
    from ecgcore.calibration import calibration_state

    states = [calibration_state(m) for m in metas]
    fitted = sum(s["calibrated"] for s in states)
    raw = "The probabilities shown are the model's raw outputs, not calibrated: read them as scores, not as chances."
    if len(states) > 1:
        raw = raw.replace("the model's", f"the mean of the {len(states)} members'")
    if not fitted:
        return {"calibrated": False, "fitted": 0, "text": raw}
    meta = metas[[s["calibrated"] for s in states].index(True)]
    temps = ", ".join(f"{n} {t:.2f}" for n, t in zip(meta.get("label_names") or [], meta["temperature"]))
    ece = (meta.get("calibration") or {}).get("val_ece_after")
    who = "This model has" if len(states) == 1 else f"{fitted} of {len(states)} members have"
    tail = f"; validation ECE after scaling {ece:.3f}" if ece is not None else ""
    return {
        "calibrated": False,
        "fitted": fitted,
        "text": f"{raw} {who} a per-class temperature fitted on the validation part (T: {temps}{tail}), not "
        "applied here; it would not change any call (a threshold scales with its probability).",
    }


# ----------------------------------------------------------------------------- similar cases


def neighbour_rows(ds, table: pd.DataFrame, statements: pd.DataFrame | None) -> list[dict]:
    """One dict per similar case (``ecgcore.similar.similar_cases``'s rows): rank, ecg_id, patient,
    distance, row (the dataset row), labels (with certainty), report, strat_fold."""
    ids = ds.records["ecg_id"].to_numpy()
    out = []
    for r in table.to_dict("records"):
        row = int(np.flatnonzero(ids == int(r["ecg_id"]))[0])
        patient = r.get("patient_id")
        out.append(
            {
                "rank": int(r["rank"]),
                "ecg_id": int(r["ecg_id"]),
                "patient": "—" if patient is None or pd.isna(patient) else str(int(patient)),
                "distance": float(r["distance"]),
                "row": row,
                "labels": labels_with_certainty(ds, row, statements),
                "report": report_of(ds, row),
                "strat_fold": "—" if pd.isna(r.get("strat_fold")) else str(int(r["strat_fold"])),
            }
        )
    return out


def similar_note(ecg_id: int | None, patient: str | None, fold: int) -> str:
    """What the similar-cases list is, and what it never holds."""
    base = f"The nearest records of fold {fold}'s training part in the model's own representation (cosine distance)."
    if ecg_id is None:
        return base + " An upload is compared as it is: nothing is excluded."
    who = f" (patient {patient})" if patient and patient != "—" else ""
    return base + f" The list never includes record {ecg_id} itself or other records of the same patient{who}."
