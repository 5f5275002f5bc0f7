"""A sweep's search space (layer 2, no torch): ``--space`` texts parsed against the recipe schema.

Each dimension names a field of :data:`ecgcore.recipes.FIELDS` (groups recipe and advanced); its values
take the field's kind, so nothing here names a field:

    lr=1e-4:1e-2:log        a range of a number field (``log``: sampled on a log scale)
    batch_size=8:32         a range of a whole-number field
    <field>=0,1.5,2.5       choices (``0`` = off for a field that 0 turns off, e.g. random crops)
    augment=true,false      choices of a yes/no field
    schedule=constant,onecycle

Every value is checked as the trainer would check it (:func:`ecgcore.recipes.check_config` on the
model's recipe with that value: the field's rule and what the model accepts) before any work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ecgcore.errors import RunError
from ecgcore.recipes import BY_NAME, check_config, default_config, fields_in, shown_value

YES, NO = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


class SweepError(RunError):
    """A sweep that cannot be started or continued as asked (its space, its storage, its study)."""


@dataclass(frozen=True)
class Dimension:
    """One searched recipe field: a range (``low``–``high``, ``log`` scale) or ``choices``."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial) -> Any:
        """The trial's value (an ``optuna.Trial``); a choice of 0 for a field that 0 turns off is None."""
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if BY_NAME[self.name].kind is int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def text(self) -> str:
        """The dimension as ``--space`` writes it (what a study records and compares)."""
        if self.choices:
            return f"{self.name}=" + ",".join(_written(v) for v in self.choices)
        return f"{self.name}={self.low!r}:{self.high!r}" + (":log" if self.log else "")


def _written(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def searchable() -> list[str]:
    """The recipe fields a sweep may search: the recipe and advanced fields of one value each."""
    return [f.name for f in fields_in("recipe", "advanced") if f.kind is not dict]


def _value(name: str, text: str, whole: str):
    """``text`` as a value of field ``name`` (its kind), or SweepError naming ``whole``."""
    kind = BY_NAME[name].kind
    text = text.strip()
    try:
        if kind is bool:
            if text.lower() not in YES + NO:
                raise ValueError
            return text.lower() in YES
        if kind is int:
            return int(text)
        if kind is float:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        return text
    except ValueError:
        use = "true or false" if kind is bool else f"{'whole ' if kind is int else ''}numbers"
        raise SweepError(f"--space {whole}: {text!r} is not a value of {name}; use {use}.") from None


def _check_value(model: str, name: str, value, whole: str) -> None:
    """SweepError unless the trainer would take ``value`` for ``name`` in ``model``'s recipe."""
    try:
        check_config(default_config(model, **{name: value}))
    except RunError as e:
        raise SweepError(f"--space {whole}: {str(e).rstrip('.')}.") from None


def parse_dimension(text: str, model: str) -> Dimension:
    """One ``--space`` text (see the module docstring), checked for ``model``; SweepError (one line)
    for an unknown field, an empty or reversed range, a log range reaching 0, or a refused value."""
    name, eq, spec = text.partition("=")
    name = name.strip()
    if not eq or not spec.strip():
        raise SweepError(f"--space {text}: write FIELD=LOW:HIGH[:log] or FIELD=V1,V2,… (e.g. lr=1e-4:1e-2:log).")
    if name not in searchable():
        raise SweepError(
            f"--space {text}: {name!r} is not a recipe field to search; use one of {', '.join(searchable())}."
        )
    kind = BY_NAME[name].kind
    parts = spec.split(":")
    if len(parts) > 1 and kind in (int, float):
        if len(parts) > 3 or (len(parts) == 3 and parts[2].strip() != "log"):
            raise SweepError(f"--space {text}: a range is LOW:HIGH or LOW:HIGH:log.")
        low, high = (_value(name, p, text) for p in parts[:2])
        log = len(parts) == 3
        if not low < high:
            raise SweepError(f"--space {text}: the range is empty; give LOW below HIGH.")
        if log and low <= 0:
            raise SweepError(f"--space {text}: a log range cannot reach 0 or below; start it above 0 (e.g. 1e-4).")
        for v in (low, high):
            _check_value(model, name, v, text)
        return Dimension(name, low, high, log)
    choices = tuple(dict.fromkeys(_value(name, p, text) for p in spec.split(",")))
    for v in choices:
        _check_value(model, name, v, text)
    return Dimension(name, choices=choices)


def parse_space(texts: Iterable[str], model: str) -> dict[str, Dimension]:
    """Every ``--space`` text, checked (:func:`parse_dimension`); SweepError for none, or a field twice."""
    space: dict[str, Dimension] = {}
    for text in texts:
        dim = parse_dimension(text, model)
        if dim.name in space:
            raise SweepError(f"--space {text}: {dim.name} is searched twice; give one --space per field.")
        space[dim.name] = dim
    if not space:
        raise SweepError("give at least one --space FIELD=…, e.g. --space lr=1e-4:1e-2:log.")
    return space


def shown_recipe(params: dict) -> str:
    """A trial's values for people: ``lr 0.00312, augment yes``."""
    return ", ".join(f"{k} {shown_value(k, v)}" for k, v in params.items())
