"""The words people read in the app, in one place: fold plans, saliency methods, parts of a fold, run,
task and download states, dataset names, the app's wording of command-line advice, and the sign for a
missing value.

Recipe fields carry their own label and help in the recipe schema (:data:`ecgcore.recipes.FIELDS`); a
run group is named by :func:`ecgcore.run_paths.group_label`. No Streamlit import.
"""

from __future__ import annotations

import re

from ecgcore.folds import DEFAULT_PLAN

PLAN_NAMES = {
    DEFAULT_PLAN: "5-fold patient CV (test strat folds {2k+1, 2k+2}, val 10 or 1)",
    "benchmark": "PTB-XL benchmark split (train 1–8, val 9, test 10)",
}
"""The fold plans offered on the Train page, as people read them."""

METHOD_NAMES = {
    "integrated_gradients": "Integrated gradients",
    "gradient": "Gradient (saliency)",
    "grad_cam": "Grad-CAM",
}
"""Saliency methods as people read them."""

STATE_WORDS = {
    "queued": "waiting in the queue",
    "starting": "starting",
    "running": "running",
    "evaluating": "scoring the test part",
    "done": "finished",
    "failed": "failed",
    "cancelled": "cancelled",
    "interrupted": "interrupted (its process ended)",
    "damaged": "damaged",
    "unknown": "state not recorded",
}
"""Run and background-task states as people read them (``ecgcore.runs.TaskState`` values)."""


def state_words(state: str) -> str:
    """A state as people read it (the state itself when it has no words here)."""
    return STATE_WORDS.get(str(state), str(state))


PART_NAMES = {"test": "test (never seen)", "val": "validation", "train": "training", "all": "all records"}
"""Parts of a fold (``ecgcore.app.explain.PARTS``) as people read them."""

MISSING = "—"
"""What a table cell shows for a value that does not exist (never the word None)."""

MISSING_NOTE = (
    "— : no value — a 95 % interval needs both outcomes of a class in the resamples, PPV a positive "
    "prediction, an SD two evaluated folds."
)
"""The caption under a table whose cells may show :data:`MISSING`."""

_LAST_DOWNLOAD = {
    "failed": "The last download failed",
    "cancelled": "The last download was cancelled",
    "interrupted": "The last download was interrupted (its process ended)",
}


def last_download(state: str) -> str:
    """'The last download failed' — the state of a download that is no longer running, as a sentence start."""
    return _LAST_DOWNLOAD.get(str(state), f"The last download is {state_words(state)}")


_HASHED = re.compile(r"^(?P<folder>.+)-[0-9a-f]{8}$")


def dataset_words(name: str | None) -> str:
    """A dataset's name without its fingerprint: 'demo data', 'folder ptb-xl-1.0.3'."""
    if not name or name == "demo":
        return "demo data" if name else "an unnamed dataset"
    m = _HASHED.match(name)
    return f"folder {m.group('folder') if m else name}"


REPLACE_TICK = "tick 'Replace finished runs of these folds' on Train"
RESUME_CLICK = "click Resume under the run on Train"
_CLI_ADVICE = (
    (
        r"use --resume to continue it or --overwrite to start again",
        f"{RESUME_CLICK} to continue it, or {REPLACE_TICK} to start again",
    ),
    (
        r"use --overwrite to replace it or --resume to continue it",
        f"{REPLACE_TICK} to replace it, or {RESUME_CLICK} to continue it",
    ),
    (r"Or start the run again with --overwrite\.", f"Or {REPLACE_TICK} to start it again."),
    (
        r"run `python -m ecgcore runs --repair` to rebuild it from the run's files",
        "delete the run on Train and train it again",
    ),
    (r"--overwrite", REPLACE_TICK),
    (r"--resume", RESUME_CLICK),
)


def for_people(message: str) -> str:
    """A library message with its command-line advice (``--overwrite``, ``--resume``, ``runs --repair``)
    in the words of the app's own buttons."""
    for pattern, words in _CLI_ADVICE:
        message = re.sub(pattern, words, message)
    return message


# ----------------------------------------------------------------------------- Evaluate, Dataset, Home, Train
# (the evalpages words: honest small numbers, subgroups, calibration, certainty, dataset switch)

ONE_FOLD_NO_SD = "one fold: no SD"
"""Why a mean over folds has no spread beside it."""

ONE_PAIR_NO_P = "one paired fold"
"""Why a paired comparison has no SD and no Wilcoxon p."""

SUBGROUP_NAMES = {
    "sex": "sex",
    "age": "age band",
    "device": "recording device",
    "site": "recording site",
    "validated_by_human": "validated by a cardiologist",
    "likelihood": "cardiologist's certainty (likelihood)",
}
"""PTB-XL columns the Subgroups tab splits the test part by (``ecgcore.subgroups.SUBGROUP_COLUMNS``)."""

SUBGROUP_METRICS = {"pr_auc": "PR-AUC (average precision)", "roc_auc": "ROC-AUC"}
"""The metrics of the forest plots."""

LIKELIHOOD_FILTERS = {"all": "every certainty", "<50": "below 50 %", "50–99": "50–99 %", "100": "100 % (certain)"}
"""The errors table's filter on the cardiologist's likelihood of the record's statements."""

CELL_PICKER = "Cell"
"""The label of the confusion-cell picker (TP / FP / FN / TN of one class)."""

RUN_PICKER = "Run"
"""The label of Evaluate's run picker (a model and run name)."""

SEVERAL_LABELS = "A record can carry several labels, so the shares add up to more than 100 %."
"""Under Dataset's label shares."""

LANGUAGE_NAMES = {"de": "German", "en": "English", "sv": "Swedish", "unknown": "language not known"}
"""Report languages as people read them."""


# ----------------------------------------------------------------------------- Saliency and Predict (trust)

ENSEMBLE_PART_NAMES = {
    "test": "test of this fold only",
    "val": "validation of this fold",
    "train": "training of this fold",
    "all": "all records",
}
"""Parts of the chosen fold when a fold ensemble predicts: no part is "never seen" by every member."""
