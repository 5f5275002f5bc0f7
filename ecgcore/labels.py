"""Label sets and their derivation from PTB-XL's scp_statements.csv — the one source of truth.

Labels follow the PTB-XL benchmark (Strodthoff et al. 2020, ``compute_label_aggregations``):

* ``scp_codes`` (a Python-dict string such as ``"{'NORM': 100.0, 'SR': 0.0}"``) is parsed with
  ``ast.literal_eval`` (never ``eval``);
* only statements with ``diagnostic == 1`` in scp_statements.csv count;
* a record's labels are the set of ``diagnostic_class`` (``superclass``) or ``diagnostic_subclass``
  (``subclass``) values of all its diagnostic codes, or the codes themselves (``top<k>``).
  The likelihood is ignored by default (a code with 0.0 still counts), as in the benchmark;
  ``min_likelihood`` keeps only codes at or above it.

Label order (columns of the multi-hot matrix):

* ``superclass``: ``NORM, MI, STTC, CD, HYP`` (:data:`SUPERCLASSES`), fixed;
* ``subclass``: every ``diagnostic_subclass`` in scp_statements.csv, sorted alphabetically;
* ``top<k>``: the k most frequent diagnostic statements of the dataset, most frequent first
  (ties by code).

Records with no label in the chosen set have an all-zero row; they are excluded from training and
evaluation by :mod:`ecgcore.folds` but stay browsable.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecgcore.errors import LabelError

SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
LABEL_SETS_HELP = "superclass (NORM, MI, STTC, CD, HYP), subclass, or top<k> (e.g. top20)"

MAX_SCP_CODES_CHARS = 10_000  # PTB-XL's longest cell is ~100 characters
_TOPK = re.compile(r"^top(\d+)$")


def _is_likelihood(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _short(text: object) -> str:
    """``repr(text)``, cut to 80 characters: a message stays one readable line."""
    shown = repr(text)
    return shown if len(shown) <= 80 else f"{shown[:77]}…"


def parse_scp_codes(text: str) -> dict[str, float]:
    """Parse one ``scp_codes`` cell safely: ``"{'NORM': 100.0}"`` -> ``{'NORM': 100.0}``.

    PTB-XL's cells are JSON once their quotes are swapped, which json parses ~20× faster than
    ``ast.literal_eval``; anything else goes through ``ast.literal_eval`` (never ``eval``).
    """
    if isinstance(text, str) and '"' not in text:
        try:
            value = json.loads(text.replace("'", '"'))
            if isinstance(value, dict) and all(_is_likelihood(v) for v in value.values()):
                return {k: float(v) for k, v in value.items()}
        except (ValueError, RecursionError):  # RecursionError: nested too deep for json's parser
            pass
    if isinstance(text, str) and len(text) > MAX_SCP_CODES_CHARS:
        raise LabelError(f"scp_codes {_short(text)} is {len(text):,} characters long; a record has a few codes")
    try:
        value = ast.literal_eval(text) if isinstance(text, str) else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as e:
        raise LabelError(f"scp_codes {_short(text)} is not a dict literal ({e.__class__.__name__})") from e
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise LabelError(f"scp_codes {_short(text)} is not a dict of statement codes")
    if not all(_is_likelihood(v) for v in value.values()):
        raise LabelError(f"scp_codes {_short(text)}: every likelihood must be a number")
    return {k: float(v) for k, v in value.items()}


def check_label_set(label_set: str) -> str:
    """Return ``label_set`` if it names a known label set, else raise :class:`LabelError`."""
    top = _TOPK.match(label_set) if isinstance(label_set, str) else None
    if label_set in ("superclass", "subclass") or (top and int(top.group(1)) >= 1):
        return label_set
    raise LabelError(f"unknown label set {label_set!r}; use {LABEL_SETS_HELP}")


def diagnostic_statements(statements: pd.DataFrame) -> pd.DataFrame:
    """Rows of scp_statements.csv (indexed by code) whose ``diagnostic`` column is 1."""
    return statements[statements["diagnostic"] == 1]


def label_of_code(statements: pd.DataFrame, label_set: str) -> dict[str, str]:
    """{scp code: the label it counts for in ``label_set``} over the diagnostic statements (superclass:
    its diagnostic_class; subclass: its diagnostic_subclass; top<k>: the code itself)."""
    diag = diagnostic_statements(statements)
    if label_set == "superclass":
        return diag["diagnostic_class"].to_dict()
    if label_set == "subclass":
        return diag["diagnostic_subclass"].to_dict()
    return {code: code for code in diag.index}


def derive_labels(
    scp_codes: Sequence[dict[str, float]],
    statements: pd.DataFrame,
    label_set: str = "superclass",
    min_likelihood: float | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Multi-hot labels of each record.

    Args:
        scp_codes: per record, the parsed ``scp_codes`` dict (code -> likelihood in %).
        statements: scp_statements.csv indexed by statement code.
        label_set: see the module docstring.
        min_likelihood: keep only codes with likelihood >= this, 0–100 (None: keep all, as the benchmark).

    Returns:
        labels: (N, C) uint8 multi-hot; names: the C label names in column order.
    """
    if min_likelihood is not None and not (
        isinstance(min_likelihood, int | float) and 0 <= min_likelihood <= 100
    ):  # NaN fails both comparisons
        raise LabelError(f"--min_likelihood {min_likelihood!r}: use a likelihood from 0 to 100 (PTB-XL's scale).")
    check_label_set(label_set)
    diag = diagnostic_statements(statements)
    value_of = label_of_code(diag, label_set)
    per_record: list[set[str]] = []
    for codes in scp_codes:
        values = {value_of.get(c) for c, p in codes.items() if min_likelihood is None or p >= min_likelihood}
        per_record.append({v for v in values if isinstance(v, str) and v})

    if label_set == "superclass":
        names = SUPERCLASSES
    elif label_set == "subclass":
        names = tuple(sorted({v for v in diag["diagnostic_subclass"] if isinstance(v, str) and v}))
    else:
        k = int(_TOPK.match(label_set).group(1))
        counts = Counter(code for labels in per_record for code in labels)
        names = tuple(c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k])

    column = {name: i for i, name in enumerate(names)}
    labels = np.zeros((len(per_record), len(names)), dtype=np.uint8)
    for row, values in enumerate(per_record):
        for v in values:
            if v in column:
                labels[row, column[v]] = 1
    return labels, names


_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


def safe_file_name(name: str, reserved: Sequence[str] = ()) -> str:
    """A file name (no extension) for the class ``name``: class names come from scp_statements.csv,
    so they are data, not paths. Path separators become ``-`` (``LAFB/LPFB`` → ``LAFB-LPFB-…``),
    control and shell-special characters ``_``, ``..`` and leading dots go; an empty result is ``_``.
    When that changes the name, or the name is one of ``reserved`` (the folder's own files, compared
    without case), a short hash of the original is appended, so distinct names stay distinct files.
    Displays keep the real name."""
    safe = _UNSAFE_CHARS.sub("_", str(name)).replace("/", "-").replace("\\", "-")
    while ".." in safe:
        safe = safe.replace("..", "_")
    safe = safe.lstrip(". ").rstrip(". ")[:80] or "_"
    if safe != name or safe.lower() in {r.lower() for r in reserved}:
        safe = f"{safe}-{hashlib.sha1(str(name).encode()).hexdigest()[:6]}"
    return safe
