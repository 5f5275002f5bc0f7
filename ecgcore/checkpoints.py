"""Checkpoints: the model's weights plus everything needed to use it, written atomically and read
with ``torch.load(weights_only=True)`` only (a pickle that would run code is refused).

A checkpoint is a dict of tensors and plain values::

    {"format": "ecgcore-checkpoint/1", "state_dict": …, "meta": {…}, "train_state": {…} (last.pt only)}

``meta`` holds the model name and config, label set and names, sampling rate, image representation,
the fold plan and fold, the dataset (name, fingerprint, demo or real, path, record count), the epoch,
validation metrics and thresholds, the training config and library versions.
"""

from __future__ import annotations

import errno
import os
import pickle
import platform
import shutil
import zipfile
from pathlib import Path

import torch

from ecgcore.checkpoint_fit import fit_problem
from ecgcore.errors import CheckpointError, ECGCoreError, ModelError
from ecgcore.fileio import make_folder, remove_quietly, storage_error
from ecgcore.models import ECGClassifier, create_model
from ecgcore.windows import WindowSpec

FORMAT = "ecgcore-checkpoint/1"
EXPECTABLE = ("model", "label_names", "label_set", "sampling_rate", "fingerprint", "dataset_name")


def library_versions() -> dict[str, str]:
    import numpy
    import sklearn

    return {
        "torch": str(torch.__version__),
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
    }


def save_checkpoint(path: str | os.PathLike, model: ECGClassifier, meta: dict, train_state: dict | None = None) -> None:
    """Write a checkpoint atomically: a temp file in the same folder, fsync, then rename — a crash
    during the save leaves the previous file intact and no temp file. A machine fault (disk full,
    read-only, forbidden, a file where the run folder should be) raises
    :class:`~ecgcore.errors.StorageError` (one line, :func:`ecgcore.fileio.storage_error`); any other
    failed write raises CheckpointError."""
    path = Path(path)
    data = {"format": FORMAT, "state_dict": model.state_dict(), "meta": meta}
    if train_state is not None:
        data["train_state"] = train_state
    make_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        failure = _save_failure(path, e)  # before the temp file goes: a full disk is seen as full
        remove_quietly(tmp)
        if failure is None:
            raise
        raise failure from e


def _save_failure(path: Path, e: BaseException) -> ECGCoreError | None:
    """The user error for a failed save of ``path``, or None for an interruption or a bug.

    torch.save reports a failed write of its zip writer as ``RuntimeError: [enforce fail at
    inline_container.cc …] … file write failed`` without an errno: that is read as a full disk when the
    folder has (almost) no free space left, else as an I/O error."""
    if isinstance(e, RuntimeError) and ("inline_container" in str(e) or "write failed" in str(e)):
        try:
            full = shutil.disk_usage(path.parent).free < 1 << 20
        except OSError:
            full = False
        e = OSError(errno.ENOSPC if full else errno.EIO, os.strerror(errno.ENOSPC if full else errno.EIO))
    if not isinstance(e, OSError):
        return None
    kept = f"the previous {path.name} is kept" if path.exists() else f"no {path.name} was written"
    translated = storage_error(path, e, what="checkpoint ", note=f" ({kept}), then resume the run")
    if translated is not None:
        return translated
    return CheckpointError(
        f"cannot write checkpoint {path} ({e.strerror or e}); {kept}. Fix the disk or folder and resume the run."
    )


def read_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    """The raw checkpoint dict, loaded with ``weights_only=True``; raises CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; train that model and fold first.")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        if not zipfile.is_zipfile(path):  # JSON, text, …: torch.save always writes a zip
            raise CheckpointError(f"{path} is not a checkpoint; use a best.pt/last.pt written by ecgcore.") from e
        raise CheckpointError(
            f"{path} was refused: it is not a plain-weights checkpoint (it may contain code). "
            "Only load checkpoints written by ecgcore."
        ) from e
    except Exception as e:  # truncated zip, garbage bytes reaching the unpickler (KeyError, struct.error, …)
        raise CheckpointError(f"{path} is corrupt or truncated ({e.__class__.__name__}); retrain or restore it.") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT or "meta" not in data:
        raise CheckpointError(f"{path} is not an ecgcore checkpoint; use a best.pt/last.pt written by ecgcore.")
    return data


def load_checkpoint(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    expect: dict | None = None,
) -> tuple[ECGClassifier, dict]:
    """Load a checkpoint as a model ready for inference (eval mode) and its metadata.

    Args:
        expect: optional {key: value} the metadata must match, keys of :data:`EXPECTABLE`, e.g.
            ``{"model": "cnn1d", "label_names": [...], "sampling_rate": 100}``; a mismatch raises
            CheckpointError (the rule is :func:`ecgcore.checkpoint_fit.fit_problem`).
    """
    data = read_checkpoint(path, device)
    meta = data["meta"]
    expect = dict(expect or {})
    unknown = set(expect) - set(EXPECTABLE)
    if unknown:
        raise ValueError(f"load_checkpoint(expect=…) knows {', '.join(EXPECTABLE)}, not {', '.join(sorted(unknown))}")
    problem = fit_problem(
        meta,
        expect.get("label_names"),
        expect.get("label_set"),
        expect.get("sampling_rate"),
        model=expect.get("model"),
        fingerprint=expect.get("fingerprint"),
        dataset_name=expect.get("dataset_name"),
    )
    if problem:
        raise CheckpointError(f"{path} {problem}; choose a checkpoint that matches.")
    model = build_model(meta)
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path}: weights do not fit model {meta.get('model')!r} ({e}); retrain it.") from e
    return model.to(device).eval(), meta


def build_model(meta: dict) -> ECGClassifier:
    """An untrained ECGClassifier shaped as the checkpoint metadata says."""
    try:
        net = create_model(
            meta["model"], len(meta["label_names"]), meta.get("sampling_rate", 100), **meta.get("model_config", {})
        )
    except (ModelError, KeyError) as e:
        raise CheckpointError(f"checkpoint metadata does not describe a known model ({e}).") from e
    n_leads = 12
    windows = WindowSpec.from_config(meta.get("config"), int(meta.get("sampling_rate") or 100))
    return ECGClassifier(net, torch.zeros(n_leads), torch.ones(n_leads), windows=windows)
