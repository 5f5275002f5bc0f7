"""What the commands of ``python -m ecgcore`` share: which folds ``--fold`` names, a progress bar, the
dataset of ``--data_root`` (printed with what was skipped), the runs folder, and numbers for printing."""

from __future__ import annotations

import os
from pathlib import Path

ORIGINAL_ALL_FOLDS = "5"  # the original project wrote --fold 5 for "all folds"


def resolve_folds(fold: str | None, command: str, n_folds: int) -> list[int]:
    """Fold numbers for --fold (see module docstring)."""
    if fold is None:
        index = os.environ.get("JOB_COMPLETION_INDEX")
        fold = index if index not in (None, "") else "all"
    if fold == "all" or (command == "train" and fold == ORIGINAL_ALL_FOLDS and n_folds == 5):
        return list(range(n_folds))
    from ecgcore.errors import FoldError

    k = int(fold)
    if not 0 <= k < n_folds:  # a user error like the others: main prints "error: …" and exits 2
        raise FoldError(f"--fold {k} is out of range; this plan has folds 0–{n_folds - 1} (or 'all')")
    return [k]


def progress_bar(desc: str):
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit="rec", disable=None)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def load_dataset(args, require_labels: bool = True):
    from ecgcore.sources import load_ptbxl

    ds = load_ptbxl(
        args.data_root,
        args.sampling_rate,
        args.label_set,
        args.min_likelihood,
        args.skip_bad,
        progress=progress_bar("reading records"),
        require_labels=require_labels,
    )
    print(f"dataset: {ds.description}")
    if ds.skipped:
        print(f"skipped {len(ds.skipped)} record(s):")
        for s in ds.skipped:
            print(f"  ecg_id {s.ecg_id}: {s.reason}")
    return ds


def runs_folder(args) -> Path:
    from ecgcore.run_paths import runs_root

    return Path(args.runs_dir) if getattr(args, "runs_dir", None) else runs_root()


def num(value, digits: int = 4) -> str:
    """A metric for printing: 'n/a' where it is undefined (no class with both positives and negatives)."""
    return "n/a" if value is None else f"{value:.{digits}f}"
