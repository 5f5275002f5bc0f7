"""Starting trainings from the Train page: the recipe checked (``recipes.check_config``) before anything
is queued, one background job per fold (``jobs.submit`` of a ``jobs.train_job`` document, run by the run
service) with the refusals a user can act on, and what a training will cost (its duration from the
recipe and a measured speed). No Streamlit import."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ecgcore.background import ACTIVE
from ecgcore.data import ECGDataset
from ecgcore.errors import RunError
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.model_specs import model_spec
from ecgcore.recipes import FIELDS, TrainConfig, check_config, default_config, fields_in, shown_value
from ecgcore.run_paths import DEFAULT_RUN, RunPaths, runs_root
from ecgcore.runs import can_resume, can_start, list_runs, read_events, read_status, run_state

CONFIRM_OVER_S = 180.0  # ask before starting a training that would take longer than this


@dataclass
class Submission:
    fold: int
    path: Path
    state: str | None = None  # the run's state after submitting; None when refused
    message: str = ""


@dataclass
class Recipe:
    """What the Train page asks for; ``advanced``: the Advanced inputs by field name
    (``recipes.fields_in("advanced")``; None or "" = the model's default, 0 = off)."""

    model: str
    epochs: int
    batch_size: int
    lr: float
    seed: int = 0
    plan: str = DEFAULT_PLAN
    run_name: str = DEFAULT_RUN
    advanced: dict = field(default_factory=dict)
    seeds: int = 1  # several: seeds 0 … seeds−1 of each fold, one run group (``seed`` is then not used)

    def given(self) -> dict:
        """The recipe fields this request sets (the rest are the model's default)."""
        names = {f.name for f in fields_in("advanced")}
        extra = {k: v for k, v in self.advanced.items() if k in names and v not in (None, "")}
        seed = {} if self.seeds > 1 else {"seed": self.seed}
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr, **seed, **extra}

    def config(self, fold: int = 0) -> TrainConfig:
        return default_config(self.model, **self.given(), plan=self.plan, fold=fold)


def recipe_rows(recipe: Recipe) -> list[dict]:
    """The recipe in full as people read it: one row per field (label, value, meaning) from the recipe
    schema, the fold plan by its name; the fold (chosen above) and internal settings left out."""
    from ecgcore.app.words import PLAN_NAMES

    config = recipe.config().to_dict()
    rows = []
    for f in FIELDS:
        if f.group == "internal" or f.name == "fold" or f.name not in config:
            continue
        value = (
            PLAN_NAMES.get(config[f.name], config[f.name]) if f.name == "plan" else shown_value(f.name, config[f.name])
        )
        rows.append({"setting": f.label, "value": value, "meaning": f.help})
    return rows


def runs_folder_problem(root: Path | None = None) -> str | None:
    """None if trainings can be written under the runs folder, else why not in one line (a file, a
    folder that cannot be written, a parent that is not a folder). Creates nothing that stays."""
    import tempfile

    root = Path(root or runs_root())
    fix = "set ECGCORE_RUNS_DIR to a folder you can write and restart the app."
    if root.exists() and not root.is_dir():
        return f"The runs folder {root} is a file, not a folder: {fix}"
    if not root.exists():
        parent = next((p for p in root.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            return f"The runs folder {root} cannot be made ({parent} is a file): {fix}"
        return None
    try:
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as e:
        return f"The runs folder {root} cannot be written ({e.strerror or e}): {fix}"
    return None


def check_recipe(recipe: Recipe) -> str | None:
    """None if the recipe may be trained, else the one-line reason (``train.check_config``'s)."""
    from ecgcore.errors import ECGCoreError

    try:
        check_config(recipe.config(), recipe.run_name)
    except ECGCoreError as e:
        return str(e)
    return None


def submit_training(
    ds: ECGDataset,
    recipe: Recipe,
    folds: Iterable[int],
    *,
    label_set: str,
    replace: bool = False,
    skip_bad: bool = False,
    root: Path | None = None,
) -> list[Submission]:
    """Queue one background training per fold (``jobs.submit``); never raises for one fold's refusal.

    The recipe is checked first (a bad one gives one refused Submission and no run folder). A fold
    whose run already finished or holds a completed epoch is refused unless ``replace`` (then it is
    trained again with ``--overwrite``); a duplicate of a queued or training run is refused with the
    jobs module's RunError message.
    """
    from ecgcore import jobs

    folds = list(folds)
    problem = check_recipe(recipe)
    if problem:
        return [Submission(folds[0] if folds else 0, Path(), None, problem)]
    out = []
    for k in folds:
        path = RunPaths.of(ds.name, label_set, recipe.model, k, recipe.plan, root, recipe.run_name).folder
        status = read_status(path) or {}
        previous = status.get("state") if status else None
        held = run_state(path) not in ACTIVE and can_start(path) is not None  # the one rule (ecgcore.runs)
        if held and not replace:
            what = previous or "previous"
            resume = "resume it below, " if can_resume(path) is None else ""
            message = (
                f"fold {k}: already holds a {what} run — {resume}tick 'Replace finished runs of these folds' "
                "to train it again, or give this recipe another run name."
            )
            out.append(Submission(k, path, None, message))
            continue
        job = jobs.train_job(
            str(ds.root), recipe.model, k, label_set=label_set, plan=recipe.plan, sampling_rate=ds.sampling_rate,
            skip_bad=skip_bad, run_name=recipe.run_name, given=recipe.given(), overwrite=held, seeds=recipe.seeds,
        )  # fmt: skip
        try:
            state = jobs.submit(path, job, root)
        except RunError as e:
            out.append(Submission(k, path, None, str(e)))
            continue
        out.append(Submission(k, path, state, f"fold {k}: {state}"))
    return out


# ----------------------------------------------------------------------------- cost


@dataclass
class CostEstimate:
    seconds: float
    speed: float  # training samples per second (validation included when measured)
    source: str  # where the speed comes from, in words
    n_train: int  # training records of one fold
    folds: int

    @property
    def needs_confirmation(self) -> bool:
        return self.seconds > CONFIRM_OVER_S


def measured_speed(model: str, events_of_runs: Sequence[Sequence[Mapping]]) -> float | None:
    """Samples per second of earlier runs of ``model``, from their progress events: per training
    segment (a ``start`` and the ``epoch_end`` events after it), epochs × n_train ÷ seconds up to the
    last epoch end (validation included, as a run pays for it). None without a completed epoch."""
    samples = seconds = 0.0
    for events in events_of_runs:
        start = None
        for e in events:
            kind = e.get("event")
            if kind == "start":
                config = e.get("config") if isinstance(e.get("config"), dict) else {}
                start = e if config.get("model", model) == model else None
                done, last = 0, None
            elif kind == "epoch_end" and start is not None:
                done, last = done + 1, e
        if start is not None and last is not None:
            t = float(last.get("time") or 0) - float(start.get("time") or 0)
            n = float(start.get("n_train") or 0)
            if t > 0 and n > 0:
                samples += done * n
                seconds += t
    return samples / seconds if seconds > 0 else None


def training_size(ds: ECGDataset, plan: str, fold: int) -> int:
    """Records in the training part of ``fold`` of ``plan`` (labelled records only)."""
    from ecgcore.folds import patient_folds

    labelled = ds.labels.any(axis=1) if ds.labels.shape[1] else None
    return len(patient_folds(ds.records, labelled, plan)[fold].train)


def estimate_cost(ds: ECGDataset, recipe: Recipe, folds: Sequence[int], root: Path | None = None) -> CostEstimate:
    """How long training ``folds`` with ``recipe`` will take: epochs × training records ÷ samples/s,
    × folds. The speed is measured from earlier runs of the same model (any dataset) when there are
    any, else RESULTS.md's 1-thread figure."""
    runs = [r for r in list_runs(root) if r.model == recipe.model]
    speed = measured_speed(recipe.model, [read_events(r.path) for r in runs])
    if speed:
        source = f"measured from {len(runs)} earlier run(s) of {recipe.model} on this machine"
    else:
        speed = model_spec(recipe.model).samples_per_s
        source = f"{recipe.model}'s typical speed on 1 CPU thread (RESULTS.md); no earlier run to measure"
    n_train = training_size(ds, recipe.plan, folds[0] if folds else 0)
    seconds = recipe.epochs * n_train / speed * max(1, len(folds)) * max(1, recipe.seeds)
    return CostEstimate(seconds, speed, source, n_train, len(folds))
