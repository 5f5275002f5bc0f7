"""How much a fold ensemble's members agree about one record.

:func:`member_spread` takes the members' probabilities for one record, ``(M, C)``, and each member's
own decision thresholds, and returns one row per class: the mean, lowest and highest probability, the
standard deviation over members, how many members call the class present, and a plain statement. The
members **disagree** about a class when some are at or above their threshold and others below it.

The spread is a sign of uncertainty, not a calibrated one: the members were trained on overlapping
data (4 of 5 strat-fold groups each) and share their architecture and recipe.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SPREAD_COLUMNS = ("class", "mean", "min", "max", "std", "members_present", "members", "disagree", "statement")


def member_spread(
    member_probs: np.ndarray, thresholds: np.ndarray | Sequence[float], names: Sequence[str]
) -> pd.DataFrame:
    """One row per class of how a fold ensemble's members see one record.

    Args:
        member_probs: (M, C) probabilities in [0, 1], one row per member.
        thresholds: (C,) shared thresholds, or (M, C) each member's own (checkpoint ``meta["thresholds"]``).
        names: the C class names.
    Returns:
        a frame with :data:`SPREAD_COLUMNS`: mean/min/max/std (population std over the M members; 0 for
        one member), members_present (members with probability >= their threshold), members (M),
        disagree (bool: members on both sides), statement (one sentence).
    """
    p = np.atleast_2d(np.asarray(member_probs, np.float64))
    thr = np.broadcast_to(np.asarray(thresholds, np.float64), p.shape)
    present = (p >= thr).sum(axis=0)
    m = len(p)
    rows = []
    for c, name in enumerate(names):
        votes = int(present[c])
        disagree = 0 < votes < m
        if disagree:
            statement = (
                f"The members disagree about {name}: {votes} of {m} call it present "
                f"(probabilities {p[:, c].min():.2f}–{p[:, c].max():.2f}); treat this call as uncertain."
            )
        else:
            word = "present" if votes == m else "absent"
            statement = f"All {m} member(s) call {name} {word} (probabilities {p[:, c].min():.2f}–{p[:, c].max():.2f})."
        rows.append(
            {
                "class": name,
                "mean": float(p[:, c].mean()),
                "min": float(p[:, c].min()),
                "max": float(p[:, c].max()),
                "std": float(p[:, c].std()),
                "members_present": votes,
                "members": m,
                "disagree": disagree,
                "statement": statement,
            }
        )
    return pd.DataFrame(rows, columns=list(SPREAD_COLUMNS))
