"""Where a run stands as the pages see it, and what may be done with it (poll, resume, use its
checkpoint here) — thin calls into :mod:`ecgcore.runs`, the one home of run state and its rules.
No Streamlit import."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ecgcore.background import ACTIVE
from ecgcore.checkpoint_fit import fit_problem
from ecgcore.errors import CheckpointError
from ecgcore.runs import RunInfo, can_resume, run_state


def live_state(run: RunInfo) -> str:
    """The run's live state (``runs.run_state``: files, lock and process id); 'damaged' when its
    status.json cannot be read."""
    return str(run_state(run.path))


def has_results(path: Path) -> bool:
    return (Path(path) / "results.json").is_file()


def is_evaluating(path: Path, status: dict | None = None) -> bool:
    """Training finished and the test-part evaluation of the same process is still running."""
    return run_state(Path(path)) == "evaluating"


def is_active(run: RunInfo) -> bool:
    """Still worth polling: queued, starting, running or evaluating."""
    return run_state(run.path) in ACTIVE


def resumable(path: Path, state: str | None = None) -> bool:
    """The run may continue from its last.pt now (``runs.can_resume``) and is not done or active."""
    state = state if state is not None else str(run_state(Path(path)))
    return state in ("interrupted", "cancelled", "failed") and can_resume(Path(path)) is None


def check_checkpoint_fits(meta: dict, label_names: Sequence[str], sampling_rate: int, path: Path | str = "") -> None:
    """CheckpointError unless the checkpoint predicts these labels at this sampling rate
    (``checkpoint_fit.fit_problem``)."""
    problem = fit_problem(meta, list(label_names), None, int(sampling_rate))
    if problem:
        raise CheckpointError(
            f"{path} {problem}; pick a checkpoint trained on the label set and sampling rate chosen in the sidebar."
        )
