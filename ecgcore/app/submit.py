"""Starting trainings from the Train page: one background job per fold (``jobs.submit``), with the
refusals a user can act on. No Streamlit import."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ecgcore.app.run_status import ACTIVE_STATES
from ecgcore.data import ECGDataset
from ecgcore.errors import RunError
from ecgcore.runs import read_status, run_dir


@dataclass
class Submission:
    fold: int
    path: Path
    state: str | None = None  # the run's state after submitting; None when refused
    message: str = ""


def submit_training(
    ds: ECGDataset,
    model: str,
    folds: Iterable[int],
    *,
    label_set: str,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    plan: str = "cv5",
    replace: bool = False,
    skip_bad: bool = False,
    root: Path | None = None,
) -> list[Submission]:
    """Queue one background training per fold (``jobs.submit``); never raises for one fold's refusal.

    A fold whose run already finished or holds a completed epoch is refused unless ``replace``
    (then it is trained again with ``--overwrite``); a duplicate of a queued or training run is
    refused with the jobs module's RunError message.
    """
    from ecgcore import jobs

    out = []
    for k in folds:
        path = run_dir(ds.name, label_set, model, k, plan, root)
        status = read_status(path) or {}
        previous = status.get("state") if status else None
        extra = ["--skip_bad"] if skip_bad else []
        if (
            previous in ("done", "failed", "cancelled", "interrupted") or (path / "last.pt").exists()
        ) and jobs.run_state(path) not in ACTIVE_STATES:
            if not replace:
                what = previous or "previous"
                out.append(
                    Submission(
                        k,
                        path,
                        None,
                        f"fold {k}: already holds a {what} run — resume it below, "
                        "or tick 'replace finished runs' to train it again.",
                    )
                )
                continue
            extra.append("--overwrite")
        argv = jobs.train_argv(
            str(ds.root),
            model,
            k,
            label_set=label_set,
            plan=plan,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            sampling_rate=ds.sampling_rate,
            extra=extra,
        )
        try:
            state = jobs.submit(path, argv, root)
        except RunError as e:
            out.append(Submission(k, path, None, str(e)))
            continue
        out.append(Submission(k, path, state, f"fold {k}: {state}"))
    return out
