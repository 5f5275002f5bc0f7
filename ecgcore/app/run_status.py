"""Where a run stands as the pages see it, and what may be done with it (poll, resume, use its
checkpoint here). Kept together in one module: the bodies are to become calls into the library's
run-state module. No Streamlit import."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ecgcore.errors import CheckpointError
from ecgcore.runs import RunInfo, read_status

ACTIVE_STATES = ("queued", "starting", "running", "evaluating")


def live_state(run: RunInfo) -> str:
    """The run's state as the jobs module sees it (a 'starting' run whose process died is failed)."""
    from ecgcore.jobs import run_state

    if not (run.path / "status.json").is_file():
        return run.status.get("state", "unknown")
    return run_state(run.path)


def has_results(path: Path) -> bool:
    return (Path(path) / "results.json").is_file()


def is_evaluating(path: Path, status: dict | None = None) -> bool:
    """Training finished ('done') but the test-part evaluation of the same process is still running."""
    from ecgcore.jobs import pid_alive

    status = status if status is not None else (read_status(path) or {})
    if status.get("state") == "evaluating":
        return pid_alive(status.get("pid"))
    return status.get("state") == "done" and not has_results(path) and pid_alive(status.get("pid"))


def is_active(run: RunInfo) -> bool:
    """Still worth polling: queued, starting, running, or evaluating after training."""
    return live_state(run) in ACTIVE_STATES or is_evaluating(run.path, run.status)


def resumable(path: Path, state: str) -> bool:
    return state in ("interrupted", "cancelled", "failed") and (Path(path) / "last.pt").exists()


def check_checkpoint_fits(meta: dict, label_names: Sequence[str], sampling_rate: int, path: Path | str = "") -> None:
    """CheckpointError unless the checkpoint predicts these labels at this sampling rate."""
    if list(meta.get("label_names") or []) != list(label_names):
        raise CheckpointError(
            f"{path} predicts {', '.join(meta.get('label_names') or [])}, not this label set "
            f"({', '.join(label_names)}); pick a checkpoint trained on the label set chosen in the sidebar."
        )
    if int(meta.get("sampling_rate") or 0) != int(sampling_rate):
        raise CheckpointError(f"{path} was trained at {meta.get('sampling_rate')} Hz, not {sampling_rate} Hz.")
