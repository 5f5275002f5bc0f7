"""Run paths (layer 2, no torch): where a run's folder and files are, and how a run group is named.

    <runs_root>/<dataset>/<label_set>/<model>/fold<k>/          run "default", plan cv5
    <runs_root>/<dataset>/<label_set>/<model>@<name>/fold<k>/   a named run (other plans: <plan>-fold<k>)
        best.pt  last.pt  progress.jsonl  status.json  train.log  results.json  records.csv
        confusion.png  lock  cancel  summary/<method>/
    <runs_root>/<dataset>/<label_set>/<model>@<name>-s<seed>/   seed <seed> ≥ 1 of run <name> (train --seeds)
    <runs_root>/<dataset>/<label_set>/<model>@<sweep>-t<k>/     trial <k> of a sweep (python -m ecgcore sweep)
    <runs_root>/<dataset>/<label_set>/sweeps/<sweep>.journal     the sweep's Optuna study (and workers' logs)

A run trained with several seeds is one run group of several run names: seed 0 is the run itself
(what ``train`` without ``--seeds`` trains), seed s ≥ 1 is the run ``<name>-s<s>``, so every seed is an
ordinary run folder that every command reads as before (:func:`seed_run_name`, :func:`seed_members`).

``runs_root`` is ``$ECGCORE_RUNS_DIR`` (default ``./checkpoints``). :class:`RunPaths` is the one object
that knows these names; :func:`group_label` is the one way a run group is named for people, and
:func:`group_folder` / :func:`parse_group_spec` the ways it is written in folders and on the command line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ecgcore.errors import RunError
from ecgcore.folds import DEFAULT_PLAN

DEFAULT_RUN = "default"
RUN_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def runs_root() -> Path:
    """``$ECGCORE_RUNS_DIR``, else ``./checkpoints``."""
    return Path(os.environ.get("ECGCORE_RUNS_DIR") or "checkpoints")


def check_run_name(name: str) -> str:
    """``name`` if it is a valid run name (letters, digits, ``-``, ``_``; 1–40), else RunError."""
    if not isinstance(name, str) or not RUN_NAME_RE.match(name):
        raise RunError(
            f"run name {name!r} is not valid; use 1–40 letters, digits, '-' or '_' (e.g. default, lr3e-3_aug)."
        )
    return name


def group_folder(model: str, run_name: str = DEFAULT_RUN) -> str:
    """The folder name of a model's run: ``cnn1d`` for run "default", ``cnn1d@<name>`` otherwise."""
    return model if check_run_name(run_name) == DEFAULT_RUN else f"{model}@{run_name}"


def parse_group_folder(folder: str) -> tuple[str, str]:
    """(model, run_name) of a group folder name (``cnn1d`` → run "default")."""
    model, _, name = folder.partition("@")
    return model, name or DEFAULT_RUN


def parse_group_spec(spec: str) -> tuple[str, str]:
    """(model, run_name) of a command-line group ``MODEL[:RUN]`` (``cnn1d`` → run "default")."""
    model, colon, name = spec.partition(":")
    if not model or (colon and not name):
        raise RunError(f"{spec!r}: give a run group as MODEL or MODEL:RUN_NAME, e.g. cnn1d:long60.")
    return model, check_run_name(name or DEFAULT_RUN)


SEED_SUFFIX_RE = re.compile(r"^(?P<base>.+)-s(?P<seed>[1-9][0-9]*)$")
TRIAL_SUFFIX_RE = re.compile(r"^(?P<base>.+)-t(?P<trial>[0-9]+)$")


def seed_run_name(run_name: str, seed: int) -> str:
    """The run name of one seed of a run trained with several seeds: the run itself for seed 0,
    ``<run_name>-s<seed>`` otherwise (RunError when that name would be too long)."""
    return run_name if seed == 0 else check_run_name(f"{run_name}-s{seed}")


def seed_of(run_name: str) -> tuple[str, int]:
    """(the run, the seed) of a run name written by :func:`seed_run_name` (``x-s2`` → ("x", 2); any other → seed 0)."""
    m = SEED_SUFFIX_RE.match(run_name)
    return (m["base"], int(m["seed"])) if m else (run_name, 0)


def seed_members(
    dataset: str, label_set: str, model: str, run_name: str = DEFAULT_RUN, root: Path | None = None
) -> dict[int, str]:
    """{seed: group folder} of a run and the extra seeds of it found on disk (seed 0: the run itself)."""
    members = {0: group_folder(model, run_name)}
    prefix = f"{model}@{run_name}-s"
    for folder in group_dir(dataset, label_set, "", root).glob(f"{prefix}*"):
        seed = folder.name[len(prefix) :]
        if folder.is_dir() and seed.isdigit() and not seed.startswith("0"):
            members[int(seed)] = folder.name
    return dict(sorted(members.items()))


def trial_run_name(sweep: str, number: int) -> str:
    """The run name of trial ``number`` of sweep ``sweep``: ``<sweep>-t<number>`` (RunError when too long)."""
    return check_run_name(f"{sweep}-t{number}")


def sweep_journal(dataset: str, label_set: str, sweep: str, root: Path | None = None) -> Path:
    """The journal file of a sweep's Optuna study: ``<root>/<dataset>/<label_set>/sweeps/<sweep>.journal``."""
    return group_dir(dataset, label_set, "sweeps", root) / f"{check_run_name(sweep)}.journal"


def group_label(model: str, run_name: str = DEFAULT_RUN, plan: str = DEFAULT_PLAN, fold: int | None = None) -> str:
    """A run group (or one fold of it) named for people: ``cnn1d``, ``cnn1d · run lr-crop``,
    ``cnn1d · run lr-crop · fold 2``, ``cnn1d · run lr-crop · seed 1`` (an extra seed),
    ``cnn1d · sweep lr-crop · trial 3``, with `` (benchmark)`` for a plan other than the default."""
    base, seed = seed_of(run_name)
    trial = TRIAL_SUFFIX_RE.match(run_name)
    if trial:
        name = f"{model} · sweep {trial['base']} · trial {trial['trial']}"
    elif seed:
        name = group_label(model, base) + f" · seed {seed}"
    else:
        name = model if run_name == DEFAULT_RUN else f"{model} · run {run_name}"
    name += "" if fold is None else f" · fold {fold}"
    return name + ("" if plan == DEFAULT_PLAN else f" ({plan})")


def fold_folder(plan: str, fold: int) -> str:
    """``fold<k>`` for the default plan, ``<plan>-fold<k>`` otherwise."""
    return f"fold{fold}" if plan == DEFAULT_PLAN else f"{plan}-fold{fold}"


def group_dir(dataset: str, label_set: str, group: str, root: Path | None = None) -> Path:
    """The folder of a run group (``group``: a folder name such as ``cnn1d@x``) holding its folds."""
    return Path(root or runs_root()) / dataset / label_set / group


@dataclass(frozen=True)
class RunAddress:
    """What a run folder's path says: where it is and which dataset, label set, model, run, plan and fold."""

    root: Path
    dataset: str
    label_set: str
    model: str
    run_name: str
    plan: str
    fold: int

    @property
    def group(self) -> str:
        """The group's folder name (``cnn1d@x``)."""
        return group_folder(self.model, self.run_name)

    @property
    def label(self) -> str:
        """The fold named for people (:func:`group_label`)."""
        return group_label(self.model, self.run_name, self.plan, self.fold)


class RunPaths:
    """The folder of one run and fold, and the name of each of its files.

    >>> RunPaths.of("ptbxl-01fab926", "superclass", "cnn1d", 0).best
    PosixPath('checkpoints/ptbxl-01fab926/superclass/cnn1d/fold0/best.pt')
    """

    BEST = "best.pt"
    LAST = "last.pt"
    FILES = (BEST, LAST, "progress.jsonl", "status.json", "results.json", "records.csv", "confusion.png")
    """The files of a run that ``--overwrite`` replaces (train.log stays: a launcher may have it open)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    @classmethod
    def of(
        cls,
        dataset: str,
        label_set: str,
        model: str,
        fold: int,
        plan: str = DEFAULT_PLAN,
        root: Path | None = None,
        run_name: str = DEFAULT_RUN,
    ) -> RunPaths:
        """The run folder of one fold: ``<root>/<dataset>/<label_set>/<group>/<fold folder>``."""
        return cls(group_dir(dataset, label_set, group_folder(model, run_name), root) / fold_folder(plan, fold))

    def __repr__(self) -> str:
        return f"RunPaths({str(self.folder)!r})"

    best = property(lambda self: self.folder / self.BEST, doc="the best validation epoch's checkpoint")
    last = property(lambda self: self.folder / self.LAST, doc="the last epoch's checkpoint (for resume)")
    status = property(lambda self: self.folder / "status.json", doc="the run's state (ecgcore.runs)")
    progress = property(lambda self: self.folder / "progress.jsonl", doc="training events, one JSON a line")
    log = property(lambda self: self.folder / "train.log", doc="the background process's output")
    results = property(lambda self: self.folder / "results.json", doc="test-part metrics (ecgcore.evaluate)")
    records_csv = property(lambda self: self.folder / "records.csv", doc="per-record test outcomes")
    confusion = property(lambda self: self.folder / "confusion.png", doc="the test part's confusion matrices")
    lock = property(lambda self: self.folder / "lock", doc="the flock held while a process trains or scores")
    cancel_flag = property(lambda self: self.folder / "cancel", doc="asks the training to stop")

    def summary_dir(self, method: str) -> Path:
        """The class summaries of one saliency method."""
        return self.folder / "summary" / method

    def address(self) -> RunAddress | None:
        """What the folder's path says (None for a folder outside the layout)."""
        parts = self.folder.parts
        if len(parts) < 4:
            return None
        dataset, label_set, group, fold_name = parts[-4:]
        plan, _, fold = fold_name.rpartition("fold")
        if not fold.isdigit():
            return None
        model, run_name = parse_group_folder(group)
        root = Path(*parts[:-4]) if len(parts) > 4 else Path(".")
        return RunAddress(root, dataset, label_set, model, run_name, plan.rstrip("-") or DEFAULT_PLAN, int(fold))
