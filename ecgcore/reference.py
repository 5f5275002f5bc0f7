"""Reference results shown beside a user's own runs (Evaluate page): the figures given for the original
project, for a plain training on the real 1,803-record PTB-XL part, from the PTB-XL benchmark paper,
and this project's measured figures (RESULTS.md, with the commands). Each row names its data and
protocol: numbers of different data or protocols are not comparable."""

from __future__ import annotations

import pandas as pd

from ecgcore.model_specs import SPECS

REFERENCE_RESULTS: list[dict] = [
    {
        "source": "original project",
        "model": "cnn1d",
        "data": "full PTB-XL (21,837 records)",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.720,
        "macro_pr_auc_std": None,
        "macro_roc_auc": None,
    },
    {
        "source": "original project",
        "model": "cnn2d",
        "data": "full PTB-XL (21,837 records)",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.594,
        "macro_pr_auc_std": None,
        "macro_roc_auc": None,
    },
    {
        "source": "the original plain recipe on this PTB-XL part",
        "model": "cnn1d",
        "data": "PTB-XL part, 1,803 records",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.700,
        "macro_pr_auc_std": 0.017,
        "macro_roc_auc": 0.881,
    },
    {
        "source": "the original plain recipe on this PTB-XL part",
        "model": "cnn2d",
        "data": "PTB-XL part, 1,803 records",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.589,
        "macro_pr_auc_std": 0.030,
        "macro_roc_auc": 0.832,
    },
    {
        "source": "Strodthoff et al. 2020",
        "model": "resnet1d_wang",
        "data": "full PTB-XL (21,837 records)",
        "protocol": "benchmark split 1–8/9/10",
        "macro_pr_auc": None,
        "macro_pr_auc_std": None,
        "macro_roc_auc": 0.930,
    },
    {
        "source": "this project, 3-seed ensemble (RESULTS.md)",
        "model": "resnet1d_wang",
        "data": "PTB-XL part, 1,803 records",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.757,
        "macro_pr_auc_std": 0.021,
        "macro_roc_auc": 0.907,
    },
    {
        "source": "this project, 3-seed ensemble (RESULTS.md)",
        "model": "resnet1d_wang",
        "data": "PTB-XL part, 1,803 records",
        "protocol": "benchmark split 1–8/9/10",
        "macro_pr_auc": 0.724,
        "macro_pr_auc_std": None,
        "macro_roc_auc": 0.878,
    },
]


def default_recipe_rows() -> list[dict]:
    """This project's default recipe of each model, as measured: read from the bench results file its
    model spec names (:meth:`ecgcore.model_specs.ModelSpec.reference`), never typed in here."""
    rows = []
    for spec in SPECS.values():
        ref = spec.reference()
        if ref is None:
            continue
        rows.append(
            {
                "source": f"this project, default recipe ({ref['n_folds']}-fold CV, {ref['epochs']} epochs, CPU)",
                "model": spec.name,
                "data": "PTB-XL part, 1,803 records",
                "protocol": "5-fold patient CV",
                "macro_pr_auc": round(ref["macro_pr_auc"], 3),
                "macro_pr_auc_std": None if ref["macro_pr_auc_std"] is None else round(ref["macro_pr_auc_std"], 3),
                "macro_roc_auc": round(ref["macro_roc_auc"], 3),
            }
        )
    return rows


def reference_results() -> pd.DataFrame:
    """The reference rows as a table (source, model, data, protocol, macro_pr_auc, …): the published and
    earlier figures above, and this project's default recipes as measured (:func:`default_recipe_rows`)."""
    return pd.DataFrame([*REFERENCE_RESULTS, *default_recipe_rows()])
