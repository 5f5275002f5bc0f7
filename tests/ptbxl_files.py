"""Helpers shared by the tests that build small PTB-XL folders: a copy of part of the demo set, and
WFDB records written in PTB-XL's format (fmt 16, gain 1000, mV)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from ecgcore.records import DEMO_MARKER, LEADS


def small_copy(demo_root: Path, dest: Path, n: int = 12, marker: bool = True) -> Path:
    """The first ``n`` records of the demo set copied to ``dest`` (the shared fixture is never touched)."""
    dest.mkdir(parents=True)
    table = pd.read_csv(demo_root / "ptbxl_database.csv").head(n)
    table.to_csv(dest / "ptbxl_database.csv", index=False)
    shutil.copy2(demo_root / "scp_statements.csv", dest)
    if marker:
        shutil.copy2(demo_root / DEMO_MARKER, dest)
    for f in table["filename_lr"]:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".hea", ".dat"):
            shutil.copy2(demo_root / f"{f}{ext}", dest / f"{f}{ext}")
    return dest


def write_record(root: Path, filename: str, signal: np.ndarray, fs: int = 100, names=LEADS) -> None:
    """Write a WFDB record (signal: (T, n_leads) mV) at ``root/filename`` replacing what is there."""
    path = root / filename
    n = signal.shape[1]
    wfdb.wrsamp(
        path.name,
        fs=fs,
        units=["mV"] * n,
        sig_name=list(names),
        p_signal=signal,
        fmt=["16"] * n,
        adc_gain=[1000.0] * n,
        baseline=[0] * n,
        write_dir=str(path.parent),
    )


def edit_database(root: Path, edit) -> pd.DataFrame:
    """Rewrite ``root/ptbxl_database.csv`` as ``edit(table)`` returns it (or edits it in place); returns it."""
    csv = root / "ptbxl_database.csv"
    table = pd.read_csv(csv)
    out = edit(table)
    table = table if out is None else out
    table.to_csv(csv, index=False)
    return table
