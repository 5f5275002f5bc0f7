"""``python -m ecgcore interpret``: saliency PNGs of some test records, or (``--summary``) per class over the
test part the lead importance, the shares per beat window and the beat-aligned profile."""

from __future__ import annotations

from pathlib import Path

from ecgcore.cli_common import load_dataset, progress_bar, resolve_folds, runs_folder


def _check_interpret_args(args) -> None:
    """Impossible counts and outputs are refused before the data loads (one line, exit 2)."""
    from ecgcore.errors import RunError

    if args.max_records is not None and args.max_records < 1:
        raise RunError(f"--max_records {args.max_records}: use at least 1, or leave it out for the whole test part.")
    if args.n < 1 and not args.summary:  # --summary covers the test part, not --n records
        raise RunError(f"--n {args.n}: explain at least 1 record (e.g. --n 4), or name them with --ecg_ids.")
    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise RunError(f"--out {args.out} is a file, not a folder; give a folder for the PNGs.")


def _interpret_rows(ds, fold, k: int, args) -> list[int]:
    """Dataset rows to explain: the --ecg_ids given (each must exist), else --n sampled from the test part."""
    import numpy as np

    from ecgcore.errors import DataError

    ids = ds.records["ecg_id"].to_numpy()
    if not args.ecg_ids:
        return np.random.default_rng(k).choice(fold.test, size=min(args.n, len(fold.test)), replace=False).tolist()
    missing = [i for i in args.ecg_ids if not (ids == i).any()]
    if missing:
        raise DataError(f"--ecg_ids {', '.join(map(str, missing))}: no such record in {ds.name}; see `info`.")
    return [int(np.flatnonzero(ids == i)[0]) for i in args.ecg_ids]


def cmd_interpret(args) -> int:
    from ecgcore.folds import n_folds
    from ecgcore.run_paths import RunPaths, check_run_name
    from ecgcore.runs import RunLock

    _check_interpret_args(args)
    root = runs_folder(args)
    folds = resolve_folds(args.fold, "interpret", n_folds(args.plan))
    check_run_name(args.run_name)
    ds = load_dataset(args)
    if getattr(args, "summary", False):
        return _interpret_summary(args, ds, folds, root)
    for k in folds:
        path = RunPaths.of(ds.name, ds.label_set, args.model, k, args.plan, root, args.run_name).folder
        with RunLock(path):  # not while a training or evaluation of this fold replaces best.pt
            _interpret_fold(args, ds, k, path)
    return 0


def _interpret_fold(args, ds, k: int, path: Path) -> None:
    """Saliency PNGs of the chosen records of one fold (see ``cmd_interpret``)."""
    import numpy as np

    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.evaluate import checkpoint_expectations
    from ecgcore.figures.ecg import saliency_png
    from ecgcore.fileio import make_folder
    from ecgcore.folds import get_fold
    from ecgcore.inference import predict_proba
    from ecgcore.run_paths import RunPaths
    from ecgcore.saliency import default_target, display_map, saliency_map
    from ecgcore.thresholds import decision_thresholds

    model, meta = load_checkpoint(RunPaths(path).best, expect=checkpoint_expectations(ds))
    fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
    rows = _interpret_rows(ds, fold, k, args)
    out = make_folder(Path(args.out) if args.out else path / "saliency")
    probs = predict_proba(model, ds.signals[rows], args.device)
    thresholds, _ = decision_thresholds(meta)
    ids = ds.records["ecg_id"].to_numpy()
    for row, p in zip(rows, probs):
        target = default_target(p, thresholds)  # the same rule as the app's Saliency page
        sal = saliency_map(model, ds.signals[row], target, args.method)
        true = [n for n, y in zip(ds.label_names, ds.labels[row]) if y] or ["none"]
        pred = [n for n, q, t in zip(ds.label_names, p, thresholds) if q >= t] or ["none"]
        title = (
            f"ecg_id {ids[row]} — {args.model} fold {k}, {args.method} for {ds.label_names[target]}"
            f"{' (time-only)' if sal.time_only else ''} — true: {', '.join(true)}; predicted: {', '.join(pred)}"
        )
        png = out / f"ecg{ids[row]}_{args.method}.png"
        saliency_png(
            np.asarray(ds.signals[row]), display_map(sal.map, ds.sampling_rate, 0.05), ds.sampling_rate, title, png
        )
        print(png)


def _interpret_summary(args, ds, folds: list[int], root: Path) -> int:
    """``interpret --summary``: per class, over the fold's test records that carry it, the lead
    importance and the beat-aligned profile, as JSON + PNG in ``<run>/summary/<method>/`` (cached)."""
    import numpy as np

    from ecgcore.class_summary import summary_dir, write_class_summary
    from ecgcore.errors import CheckpointError
    from ecgcore.run_paths import RunPaths

    for k in folds:
        path = RunPaths.of(ds.name, ds.label_set, args.model, k, args.plan, root, args.run_name).folder
        if not RunPaths(path).best.is_file():
            raise CheckpointError(f"{path / 'best.pt'} does not exist; train that run first (python -m ecgcore train).")
        bar = progress_bar(f"fold {k}: {args.method}")
        summary = write_class_summary(
            ds, path, args.method, args.classes, args.max_records, lambda done, total, name, bar=bar: bar(done, total)
        )
        for name, c in summary.items():
            top = sorted(zip(c["lead_names"], c["lead_share"]), key=lambda t: -t[1])[:3]
            windows = ", ".join(f"{w} {v:.2f}" for w, v in c["window_mean"].items())
            leads = ", ".join(f"{lead} {share:.3f}" for lead, share in top)
            if np.ptp(c["lead_share"]) < 1e-9:  # a time-only map (1D Grad-CAM): the same in every lead
                leads = "n/a (this map has no lead axis)"
            print(
                f"fold {k} {name:6s} n={c['n_records']:4d} beats={c['n_beats']:5d}  top leads {leads}"
                f"  | window means: {windows}"
            )
        for name in sorted(set(args.classes or ds.label_names) - set(summary)):
            print(f"fold {k} {name:6s} no test record carries this class: nothing to summarise")
        print(f"→ {summary_dir(path, args.method)}")
    return 0
