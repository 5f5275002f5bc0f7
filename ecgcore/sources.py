"""Where the data is: the one place that decides that "no data folder" means the demo set.

:func:`resolve_data_root` picks the folder (an explicit root, else ``$ECGCORE_DATA_ROOT``, else the demo
set under ``$ECGCORE_CACHE_DIR/demo``, generated on first use), and :func:`load_ptbxl` (the public
``ecgcore.load_ptbxl``) loads it. The reader (:mod:`ecgcore.data`) only reads the folder it is given;
the demo generator is imported only when the demo set must be written.
"""

from __future__ import annotations

import os
from pathlib import Path

from ecgcore.data import ECGDataset, load_folder
from ecgcore.records import DEMO_MARKER
from ecgcore.signal_cache import Progress, cache_root

DEMO_RECORDS = 1000


def default_demo_root() -> Path:
    """``$ECGCORE_CACHE_DIR/demo``: where the default demo set lives."""
    return cache_root() / "demo"


def ensure_demo_dataset(
    root: Path, n_records: int = DEMO_RECORDS, seed: int = 0, progress: Progress | None = None
) -> Path:
    """Create the demo dataset at ``root`` unless it is already complete (its marker file is there)."""
    if not (Path(root) / DEMO_MARKER).exists():
        from ecgcore.demo import make_demo_dataset

        make_demo_dataset(root, n_records=n_records, seed=seed, progress=progress)
    return Path(root)


def resolve_data_root(root: str | os.PathLike | None = None, progress: Progress | None = None) -> tuple[Path, bool]:
    """The dataset folder to use and whether it is a demo set: ``root``, else ``$ECGCORE_DATA_ROOT``,
    else the default demo set (generated on first use, ``progress(done, total)`` while it is written).
    An explicit folder is returned as given (checked when it is read)."""
    chosen = root or os.environ.get("ECGCORE_DATA_ROOT")
    if chosen:
        path = Path(chosen).expanduser()
        return path, (path / DEMO_MARKER).is_file()
    return ensure_demo_dataset(default_demo_root(), progress=progress), True


def resolve_data_path(root: str | os.PathLike | None = None, progress: Progress | None = None) -> Path:
    """:func:`resolve_data_root` without the demo flag (the old ``ecgcore.data.resolve_data_root``)."""
    return resolve_data_root(root, progress)[0]


def load_ptbxl(
    root: str | os.PathLike | None = None,
    sampling_rate: int = 100,
    label_set: str = "superclass",
    min_likelihood: float | None = None,
    skip_bad: bool = False,
    progress: Progress | None = None,
    require_labels: bool = True,
) -> ECGDataset:
    """Load the dataset in ``root`` (see :func:`resolve_data_root` for ``None``); the arguments are those of
    :func:`ecgcore.data.load_folder`. Returns an ECGDataset, signals (N, 12, 10*sampling_rate) float32, mV."""
    path, _ = resolve_data_root(root, progress)
    return load_folder(path, sampling_rate, label_set, min_likelihood, skip_bad, progress, require_labels)
