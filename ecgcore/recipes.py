"""The recipe schema (layer 2, no torch): every field of a training recipe declared once, in :data:`FIELDS`.

A field says its type, the plain default (the original project's recipe: Adam 1e-3, constant rate, no
augmentation, 10 epochs, batch 16), its constraint, whether 0 turns it off, and a label and one line of
help for people. Everything else is derived from that table:

* :class:`TrainConfig`, the recipe as a dataclass (what the trainer reads, status.json and the
  checkpoint record as :meth:`TrainConfig.to_dict`);
* the ``train`` command's flags and their parsing (:func:`add_arguments`, :func:`overrides_from`);
* the checks every training request passes before any work (:func:`check_config`), including what the
  model's spec accepts (:mod:`ecgcore.model_specs`);
* the Train page's Advanced inputs and the recipe shown and compared in the app (:func:`fields_in`,
  :func:`shown_value`, :func:`recipe_differences`);
* what a resumed run would silently ignore (:func:`resume_conflicts`);
* the one JSON document a background training receives (:func:`to_json`, :func:`from_json`).

A model's default recipe lives in its spec; :func:`default_config` applies it. Recipes that older runs
recorded are read by :func:`from_recorded`, the one place that knows their shape.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecgcore.errors import RunError
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.model_specs import SPECS, model_spec
from ecgcore.records import DURATION_S
from ecgcore.run_paths import DEFAULT_RUN, check_run_name

MIN_SPAN_S = 0.1  # the shortest crop, window or stride: 10 samples at 100 Hz


@dataclass(frozen=True)
class Rule:
    """A field's constraint: ``ok(value)`` and what to use instead, for the one-line message."""

    ok: Callable[[Any], bool]
    use: str


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _real(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


AT_LEAST_1 = Rule(lambda v: _whole(v) and v >= 1, "use a whole number of 1 or more")
WHOLE = Rule(_whole, "use a whole number")
POSITIVE = Rule(lambda v: _real(v) and v > 0, "use a finite number above 0, e.g. 1e-3")
NON_NEGATIVE = Rule(lambda v: _real(v) and v >= 0, "use a finite number of 0 or more")
FRACTION = Rule(lambda v: _real(v) and 0 <= v < 1, "use a number from 0 up to (not including) 1")
SECONDS = Rule(
    lambda v: _real(v) and MIN_SPAN_S <= v <= DURATION_S,
    f"use seconds from {MIN_SPAN_S:g} to {DURATION_S} (the record's length), e.g. 2.5, or 0 for off",
)
DECAY = Rule(lambda v: _real(v) and 0 < v < 1, "use a number between 0 and 1, e.g. 0.999, or 0 for off")
STRIDE = Rule(
    lambda v: _real(v) and v >= MIN_SPAN_S,
    f"use seconds from {MIN_SPAN_S:g} up to --window_s (windows must cover every sample), together with --window_s",
)
DEVICE = Rule(
    lambda v: isinstance(v, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", v) is not None,
    "use auto, cpu or cuda (cuda:N for the N-th GPU)",
)


@dataclass(frozen=True)
class RecipeField:
    """One field of a recipe (see the module docstring).

    ``group``: "recipe" (shown and compared), "advanced" (also the Train page's Advanced inputs),
    "where" (which fold, plan and device: not part of what is compared) or "internal" (not on the CLI).
    ``optional``: None is allowed (not set); with ``off_when_zero`` a 0 given by a person means None.
    ``whole_record_only``: a technique that a fixed-length model (its spec) cannot take.
    ``resumable_change``: may differ on ``--resume`` (the length of training, the device)."""

    name: str
    kind: type
    default: Any
    label: str
    help: str
    rule: Rule | None = None
    choices: tuple = ()
    optional: bool = False
    off_when_zero: bool = False
    group: str = "recipe"
    flag: str = ""  # the CLI flag; "" = --<name>
    aliases: tuple[str, ...] = ()
    whole_record_only: bool = False
    resumable_change: bool = False

    @property
    def cli_flag(self) -> str:
        return self.flag or f"--{self.name}"


F = RecipeField
FIELDS: tuple[RecipeField, ...] = (
    F("model", str, "cnn1d", "Model", "the registered model (python -m ecgcore models)", group="where"),
    F("epochs", int, 10, "Epochs", "passes over the training part", AT_LEAST_1, resumable_change=True),
    F("batch_size", int, 16, "Batch size", "records per optimiser step", AT_LEAST_1, aliases=("--batch-size",)),
    F("lr", float, 1e-3, "Learning rate", "the (peak) learning rate of Adam", POSITIVE),
    F("weight_decay", float, 0.0, "Weight decay", "Adam's L2 weight decay", NON_NEGATIVE),
    F("schedule", str, "constant", "Schedule", "learning-rate schedule", choices=("constant", "onecycle")),
    F("augment", bool, False, "Augmentation", "time shift, amplitude scaling and noise (and lead dropout)"),
    F("aug_shift", float, 0.1, "Time shift", "augmentation: shift of up to this fraction", FRACTION, group="internal"),
    F("aug_scale", float, 0.1, "Amplitude scaling", "augmentation: ± this fraction", FRACTION, group="internal"),
    F("aug_noise", float, 0.05, "Noise", "augmentation: noise in lead standard deviations", NON_NEGATIVE, group="internal"),
    F("aug_lead_dropout", float, 0.0, "Lead dropout", "augmentation: chance of zeroing each lead", FRACTION),
    F(
        "label_smoothing",
        float,
        0.0,
        "Label smoothing",
        "BCE targets pulled towards 0.5 by this much (0: off)",
        Rule(lambda v: _real(v) and 0 <= v < 0.5, "use a number from 0 up to 0.5, e.g. 0.1"),
        group="advanced",
    ),
    F("seed", int, 0, "Seed", "random seed of shuffling, augmentation and initial weights", WHOLE),
    F("plan", str, DEFAULT_PLAN, "Fold plan", "how records are split into folds", group="where"),
    F("fold", int, 0, "Fold", "which fold of the plan", WHOLE, group="where"),
    F("device", str, "auto", "Device", "auto (CUDA when present), cpu or cuda", group="where", resumable_change=True),
    F("patience", int, None, "Early stopping", "stop after this many epochs without a better validation PR-AUC", AT_LEAST_1, optional=True),
    F("model_config", dict, {}, "Image", "cnn2d's image of the leads: stacked or spectrogram", flag="--image"),
    F("log_every", int, None, "Log every", "batch events every n steps", AT_LEAST_1, optional=True, group="internal"),
    F("crop_s", float, None, "Random crops (s)", "train on one random crop of this many seconds per record and step", SECONDS, optional=True, off_when_zero=True, group="advanced", whole_record_only=True),
    F("window_s", float, None, "Sliding windows (s)", "predict over sliding windows of this many seconds", SECONDS, optional=True, off_when_zero=True, group="advanced", whole_record_only=True),
    F("stride_s", float, None, "Window stride (s)", "window stride in seconds (default: half a window)", STRIDE, optional=True, group="advanced"),
    F("window_agg", str, "max", "Window aggregation", "combine windows by their max or mean", choices=("max", "mean"), group="advanced"),
    F("ema_decay", float, None, "Weight averaging", "validate and keep a moving average of the weights (e.g. 0.999)", DECAY, optional=True, off_when_zero=True, group="advanced"),
)  # fmt: skip
BY_NAME: dict[str, RecipeField] = {f.name: f for f in FIELDS}


def _to_dict(self) -> dict:
    return dataclasses.asdict(self)


def _dataclass_field(f: RecipeField) -> tuple:
    kind = f.kind | None if f.optional else f.kind
    return f.name, kind, field(default_factory=dict) if f.kind is dict else field(default=f.default)


TrainConfig = dataclasses.make_dataclass(
    "TrainConfig", [_dataclass_field(f) for f in FIELDS], namespace={"to_dict": _to_dict, "__module__": __name__}
)
TrainConfig.__doc__ = "A training recipe: one attribute per field of :data:`FIELDS` (the plain recipe's defaults)."


def fields_in(*groups: str) -> list[RecipeField]:
    """The fields of these groups, in declaration order (e.g. ``fields_in("advanced")``)."""
    return [f for f in FIELDS if f.group in groups]


def off(name: str, value) -> bool:
    """True when ``value`` turns field ``name`` off (None, or 0 for a field that 0 turns off)."""
    return value is None or (BY_NAME[name].off_when_zero and value == 0)


# ----------------------------------------------------------------------------- building recipes


def with_overrides(recipe: Mapping, overrides: Mapping) -> dict:
    """``recipe`` with ``overrides`` applied: None values ignored (not given), 0 for a field that 0
    turns off sets it to None whatever the recipe says (``--crop_s 0``)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return {**recipe, **given} | {
        k: None for k, v in given.items() if k in BY_NAME and BY_NAME[k].off_when_zero and v == 0
    }


def default_config(model: str, **overrides) -> TrainConfig:
    """The model's default recipe (its spec) with ``overrides`` (:func:`with_overrides`); an unknown
    model gets the plain recipe here and is refused by :func:`check_config`."""
    spec = SPECS.get(model)
    return TrainConfig(**{"model": model, **with_overrides(spec.default_recipe if spec else {}, overrides)})


def from_recorded(recorded: Mapping) -> TrainConfig:
    """The recipe a run recorded (status.json, a checkpoint, a start event), as a TrainConfig. Fields an
    older run did not record are the plain defaults (what it trained with); fields this version does
    not know are dropped; ``model_config`` None is {}."""
    known = {k: v for k, v in recorded.items() if k in BY_NAME}
    if known.get("model_config") is None:
        known.pop("model_config", None)
    return TrainConfig(**known)


def to_json(cfg: TrainConfig) -> str:
    """The recipe as the one JSON document a background training receives."""
    return json.dumps(cfg.to_dict(), sort_keys=True)


def from_json(text: str) -> TrainConfig:
    """Parse :func:`to_json`'s document (RunError for a document that is not a recipe object)."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise RunError(f"the recipe is not JSON ({e}); start the training again.") from None
    if not isinstance(data, dict):
        raise RunError("the recipe is not a JSON object; start the training again.")
    return from_recorded(data)


# ----------------------------------------------------------------------------- checks


def _problem(f: RecipeField, value) -> str | None:
    if value is None:
        return None if f.optional else f"{f.cli_flag} is missing: {f.rule.use if f.rule else 'give a value'}"
    if f.choices and value not in f.choices:
        return f"{f.cli_flag} {value!r}: use one of {', '.join(f.choices)}"
    if f.kind is bool and not isinstance(value, bool):
        return f"{f.cli_flag} {value!r}: use true or false"
    if f.rule and not f.rule.ok(value):
        return f"{f.cli_flag} {value!r}: {f.rule.use}"
    return None


def _model_problems(cfg: TrainConfig) -> Iterable[str]:
    """What the model's spec refuses: options it lacks, techniques a fixed-length model can't take."""
    spec = model_spec(cfg.model)
    for key, value in (cfg.model_config or {}).items():
        flag = f"--{key}"
        if key not in spec.options:
            yield f"{flag} {value!r}: {cfg.model} has no option {key!r}; leave {flag} out"
        elif value not in spec.options[key]:
            yield f"{flag} {value!r}: use one of {', '.join(spec.options[key])}"
    if spec.fixed_length:
        for f in FIELDS:
            if f.whole_record_only and not off(f.name, getattr(cfg, f.name)):
                yield (
                    f"{f.cli_flag} {getattr(cfg, f.name):g}: {cfg.model} reads whole 10 s records only (a shorter "
                    f"stretch would be resized to its full image width); leave {f.cli_flag} out or set it to 0"
                )


def check_config(cfg: TrainConfig, run_name: str = DEFAULT_RUN) -> TrainConfig:
    """Check a recipe before any work (before the data loads, before a run folder is touched).

    Raises ModelError for an unknown model, else RunError: one line naming the flag and what to use —
    each field's own rule (:data:`FIELDS`), a stride only with windows and not longer than them, the
    model's own options and techniques (:mod:`ecgcore.model_specs`), and a valid run name. Returns ``cfg``.
    """
    model_spec(cfg.model)
    problems = [p for f in FIELDS if (p := _problem(f, getattr(cfg, f.name)))]
    if cfg.stride_s is not None and (cfg.window_s is None or (_real(cfg.window_s) and cfg.stride_s > cfg.window_s)):
        problems.append(
            f"--stride_s {cfg.stride_s!r}: use seconds from {MIN_SPAN_S:g} up to --window_s (windows must cover "
            "every sample), together with --window_s"
        )
    problems += list(_model_problems(cfg))
    if problems:
        raise RunError(f"{problems[0]}.")
    check_run_name(run_name)
    check_device_name(cfg.device)
    return cfg


def check_device_name(device: str) -> str:
    """RunError unless ``device`` names a device kind the trainer knows: auto, cpu, cuda or cuda:N.
    Whether a GPU is actually there is checked where torch is loaded (:func:`ecgcore.inference.pick_device`)."""
    if not DEVICE.ok(device):
        raise RunError(f"--device {device!r} is not a device; {DEVICE.use}.")
    return device


# ----------------------------------------------------------------------------- the command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per recipe field of groups recipe and advanced (default None: the model's recipe)."""
    for f in fields_in("recipe", "advanced"):
        default = " (default: the model's recipe; see python -m ecgcore models)"
        if f.kind is bool:
            parser.add_argument(
                f.cli_flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=f.help + default
            )
            continue
        zero = " (0: off)" if f.off_when_zero else ""
        kind = str if f.kind is dict else f.kind  # --image NAME: model_config {"image": NAME}
        choices = f.choices or None
        parser.add_argument(
            f.cli_flag, *f.aliases, dest=f.name, type=kind, default=None, choices=choices, help=f.help + zero + default
        )


def overrides_from(args: argparse.Namespace) -> dict:
    """The recipe fields given on the command line (None: not given), as :func:`default_config` takes them."""
    given = {f.name: getattr(args, f.name, None) for f in fields_in("recipe", "advanced")}
    if given.get("model_config") is not None:
        given["model_config"] = {"image": given["model_config"]}
    return given


# ----------------------------------------------------------------------------- showing and comparing


def shown_value(name: str, value) -> str:
    """A recipe value for people: "off" for a technique that is off, "not set" for an unset option,
    yes/no, the image of cnn2d, numbers in short form."""
    f = BY_NAME.get(name)
    if name == "model_config":
        return (value or {}).get("image", "stacked")
    if f is not None and f.off_when_zero and off(name, value):
        return "off"
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def recipe_differences(a: Mapping, b: Mapping) -> list[tuple[str, str, str]]:
    """(label, a's value, b's value) for each compared field where two recorded recipes differ."""
    ra, rb = from_recorded(a).to_dict(), from_recorded(b).to_dict()
    return [
        (f.label, shown_value(f.name, ra[f.name]), shown_value(f.name, rb[f.name]))
        for f in fields_in("recipe", "advanced")
        if shown_value(f.name, ra[f.name]) != shown_value(f.name, rb[f.name])
    ]


def fold_recipe_differences(recipes_by_fold: Mapping[int, Mapping | None]) -> list[str]:
    """How the folds of one run group differ in recipe: for each fold whose recorded recipe differs from
    the first fold's, ``"fold 3: Epochs 20 (fold 0: 40)"``; folds that recorded none are skipped.
    An empty list means every fold trained with the same recipe."""
    recorded = {k: r for k, r in sorted(recipes_by_fold.items()) if r}
    if len(recorded) < 2:
        return []
    (first, base), *rest = recorded.items()
    out = []
    for k, recipe in rest:
        parts = [f"{label} {b} (fold {first}: {a})" for label, a, b in recipe_differences(base, recipe)]
        if parts:
            out.append(f"fold {k}: " + ", ".join(parts))
    return out


def resume_conflicts(recorded: Mapping, given: Mapping) -> str | None:
    """What a resumed run would silently ignore: the fields ``given`` now (None: not given) that differ
    from the run's ``recorded`` recipe (fields that may change on resume are not compared; a field an
    older run did not record counts as the plain default). Returns e.g. ``"--lr 0.01 (the run has
    0.003)"``, or None."""
    then = from_recorded(recorded).to_dict()
    differ = [
        f"{BY_NAME[key].cli_flag} {shown_value(key, value)} (the run has {shown_value(key, then[key])})"
        for key, value in given.items()
        if key in BY_NAME
        and not BY_NAME[key].resumable_change
        and value is not None
        and shown_value(key, then[key]) != shown_value(key, value)
    ]
    return ", ".join(differ) or None
