"""Reference results shown beside a user's own runs (Evaluate page): the figures given for the original
project, for a plain training on the real 1,803-record PTB-XL part, from the PTB-XL benchmark paper,
and this project's measured figures (RESULTS.md, with the commands). Each row names its data and
protocol: numbers of different data or protocols are not comparable."""

from __future__ import annotations

import pandas as pd

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
        "source": "plain training (issue reference)",
        "model": "cnn1d",
        "data": "PTB-XL part, 1,803 records",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.700,
        "macro_pr_auc_std": 0.017,
        "macro_roc_auc": 0.881,
    },
    {
        "source": "plain training (issue reference)",
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
    # this project's default recipes, measured with bench/sweep.py on the H100 machine (RESULTS.md)
    {
        "source": "this project, default recipe (RESULTS.md)",
        "model": "cnn1d",
        "data": "PTB-XL part, 1,803 records",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.744,
        "macro_pr_auc_std": 0.023,
        "macro_roc_auc": 0.898,
    },
    {
        "source": "this project, default recipe (RESULTS.md)",
        "model": "cnn2d",
        "data": "PTB-XL part, 1,803 records",
        "protocol": "5-fold patient CV",
        "macro_pr_auc": 0.684,
        "macro_pr_auc_std": 0.019,
        "macro_roc_auc": 0.873,
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


def reference_results() -> pd.DataFrame:
    """The reference rows as a table (source, model, data, protocol, macro_pr_auc, …)."""
    return pd.DataFrame(REFERENCE_RESULTS)
