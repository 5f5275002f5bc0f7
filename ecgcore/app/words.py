"""The words people read in the app, in one place: fold plans, saliency methods, run and task states.

Recipe fields carry their own label and help in the recipe schema (:data:`ecgcore.recipes.FIELDS`); a
run group is named by :func:`ecgcore.run_paths.group_label`. No Streamlit import.
"""

from __future__ import annotations

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
