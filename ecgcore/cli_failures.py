"""The command line of "where the model fails, how sure it is, which known cases an ECG resembles":
``eval --by COLUMN``, ``calibrate`` and ``similar`` (called from :mod:`ecgcore.__main__`). Every user error is an :class:`ecgcore.errors.ECGCoreError`: one line, exit 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.cli_common import load_dataset, resolve_folds
from ecgcore.errors import RunError


def _num(value, digits: int = 3) -> str:
    return "—" if pd.isna(value) else f"{value:.{digits}f}"


def _ci(point, lo, hi) -> str:
    return f"{_num(point)} [{_num(lo)}, {_num(hi)}]" if pd.notna(lo) else _num(point)


def format_subgroups(frame: pd.DataFrame) -> str:
    """The subgroup table (:func:`ecgcore.subgroups.subgroup_frame`) as aligned text: one line per group
    and class, the interval beside each figure, or why there is none."""
    lines = [f"  {'group':12s} {'class':6s} {'n':>5s} {'pos':>5s}  {'PR-AUC [95% CI]':24s} {'ROC-AUC [95% CI]':24s}"]
    for r in frame.to_dict(orient="records"):
        pr = _ci(r["pr_auc"], r["pr_auc_lo"], r["pr_auc_hi"])
        roc = _ci(r["roc_auc"], r["roc_auc_lo"], r["roc_auc_hi"])
        note = f"  ({r['note']})" if isinstance(r["note"], str) else ""  # None, or NaN in a data frame
        lines.append(f"  {r['group']:12s} {r['class']:6s} {r['n']:5d} {r['positives']:5d}  {pr:24s} {roc:24s}{note}")
    return "\n".join(lines)


class SubgroupPrinter:
    """``eval --by COLUMN``: checks the column before any evaluation (DataError for an unknown one or one
    the database has no values of), prints each fold's stored rows, then the folds' test parts pooled
    (each record once, scored by the fold model that did not train on it). Silent without ``--by``."""

    def __init__(self, ds, by: str | None, n_bootstrap: int):
        from ecgcore.data import read_database
        from ecgcore.subgroups import check_by, missing_column

        self.ds, self.by, self.n_bootstrap, self.results = ds, by, n_bootstrap, []
        if by is not None:
            problem = missing_column(check_by(by), read_database(ds.root, ds.sampling_rate), ds.root)
            if problem is not None:
                raise problem

    def fold(self, results: dict) -> None:
        """Print the ``by`` rows that ``eval`` stored in one fold's results.json."""
        from ecgcore.subgroups import subgroup_frame

        if self.by is None:
            return
        self.results.append(results)
        rows = [r for r in results["subgroups"]["rows"] if r["by"] == self.by]
        needs = results["subgroups"]["min_cases"]
        print(f"  by {self.by} (an interval needs ≥ {needs} positives and ≥ {needs} negatives per class):")
        print(format_subgroups(subgroup_frame(rows)))

    def pooled(self) -> None:
        """Print ``by`` over the evaluated folds' test parts pooled (only for more than one fold)."""
        from ecgcore.subgroups import all_subgroups, subgroup_frame

        if self.by is None or len(self.results) < 2:
            return
        ds, runs = self.ds, self.results
        ids = [i for r in runs for i in r["test_ecg_ids"]]
        y = np.concatenate([np.asarray(r["test_true"]) for r in runs])
        p = np.concatenate([np.asarray(r["test_prob"]) for r in runs])
        pooled = all_subgroups(
            ds.root, ds.label_set, ds.label_names, ids, y, p, (self.by,), self.n_bootstrap, ds.sampling_rate
        )
        print(f"all {len(runs)} folds' test parts pooled ({len(ids)} records, out-of-fold), by {self.by}:")
        print(format_subgroups(subgroup_frame(pooled["rows"])))


def _run_folder(args, ds, k: int) -> Path:
    from ecgcore.run_paths import RunPaths, parse_group_spec, runs_root

    model, name = parse_group_spec(args.run)
    root = Path(args.runs_dir) if args.runs_dir else runs_root()
    return RunPaths.of(ds.name, ds.label_set, model, k, args.plan, root, name).folder


def calibrate_command(args) -> int:
    """``calibrate``: per fold, fit per-class temperatures on the validation part, store them in best.pt
    and print them with the validation NLL and the macro ECE before → after (validation and test).
    Folds and data come from :mod:`ecgcore.cli_common`, as for every command."""
    from ecgcore.calibration import calibrate_run
    from ecgcore.folds import n_folds
    from ecgcore.run_paths import parse_group_spec

    folds = resolve_folds(args.fold, "calibrate", n_folds(args.plan))
    parse_group_spec(args.run)
    ds = load_dataset(args)
    for k in folds:
        folder = _run_folder(args, ds, k)
        out = calibrate_run(ds, folder, args.device)
        temps = ", ".join(f"{n} {t:.2f}" for n, t in zip(ds.label_names, out["temperature"]))
        before, after = np.mean(out["val_nll_before"]), np.mean(out["val_nll_after"])
        print(
            f"fold {k}: T per class {temps}; validation NLL {before:.4f} → {after:.4f}; macro ECE validation "
            f"{out['val_ece_before']:.4f} → {out['val_ece_after']:.4f}, test {out['test_ece_before']:.4f} → "
            f"{out['test_ece_after']:.4f}  → {folder.name}/best.pt meta['temperature']"
        )
    return 0


def similar_command(args) -> int:
    """``similar``: print the k nearest training-part records of one record (and write ``--out``); bad
    arguments are refused before the dataset is read."""
    from ecgcore.folds import n_folds
    from ecgcore.predict import check_output_file
    from ecgcore.run_paths import parse_group_spec
    from ecgcore.similar import METRIC_NOTE, check_k, similar_cases

    check_k(args.k)
    parse_group_spec(args.run)
    folds = resolve_folds(args.fold, "similar", n_folds(args.plan))
    if len(folds) != 1:
        raise RunError("similar compares with one fold's training part: give --fold K (e.g. --fold 0).")
    out = check_output_file(args.out, [p for p in (args.input, args.data_root) if p]) if args.out else None
    ds = load_dataset(args)
    signal = None
    if args.input is not None:
        from ecgcore.uploads import at_rate, read_record_file

        record = at_rate(read_record_file(args.input), ds.sampling_rate)
        for note in record.notes:
            print(f"note: {note}")
        signal = record.signal
    table = similar_cases(ds, _run_folder(args, ds, folds[0]), args.ecg_id, signal, args.k, args.device)
    query = f"ecg_id {args.ecg_id}" if args.ecg_id is not None else args.input
    print(f"the {len(table)} training-part records of fold {folds[0]} nearest to {query} ({METRIC_NOTE}):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if out is not None:
        from ecgcore.fileio import write_bytes_atomic

        write_bytes_atomic(out, table.to_csv(index=False).encode())
        print(f"→ {out}")
    return 0


COMMANDS = {"calibrate": calibrate_command, "similar": similar_command}
