"""Command line: ``python -m ecgcore info|demo-data|train|eval|interpret|compare|predict|runs|sweep``.

The original project's flags work as written (``--data_root --model --epochs --batch_size --fold``);
``--data-root`` is accepted too. Without ``--data_root`` (and ECGCORE_DATA_ROOT) the demo dataset is
used. ``--fold`` takes 0–4 or ``all`` (``train`` also takes 5 = all); with no ``--fold``, the fold in
``JOB_COMPLETION_INDEX`` (a Kubernetes Indexed Job) when set, else all.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from ecgcore.cli_args import build_parser

ORIGINAL_ALL_FOLDS = "5"  # the original project wrote --fold 5 for "all folds"


def resolve_folds(fold: str | None, command: str, n_folds: int) -> list[int]:
    """Fold numbers for --fold (see module docstring)."""
    if fold is None:
        index = os.environ.get("JOB_COMPLETION_INDEX")
        fold = index if index not in (None, "") else "all"
    if fold == "all" or (command == "train" and fold == ORIGINAL_ALL_FOLDS and n_folds == 5):
        return list(range(n_folds))
    from ecgcore.errors import FoldError

    k = int(fold)
    if not 0 <= k < n_folds:  # a user error like the others: main prints "error: …" and exits 2
        raise FoldError(f"--fold {k} is out of range; this plan has folds 0–{n_folds - 1} (or 'all')")
    return [k]


def _progress_bar(desc: str):
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit="rec", disable=None)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _load(args, require_labels: bool = True):
    from ecgcore.sources import load_ptbxl

    ds = load_ptbxl(
        args.data_root,
        args.sampling_rate,
        args.label_set,
        args.min_likelihood,
        args.skip_bad,
        progress=_progress_bar("reading records"),
        require_labels=require_labels,
    )
    print(f"dataset: {ds.description}")
    if ds.skipped:
        print(f"skipped {len(ds.skipped)} record(s):")
        for s in ds.skipped:
            print(f"  ecg_id {s.ecg_id}: {s.reason}")
    return ds


def _runs_root(args) -> Path:
    from ecgcore.run_paths import runs_root

    return Path(args.runs_dir) if getattr(args, "runs_dir", None) else runs_root()


def cmd_info(args) -> int:
    from ecgcore.folds import fold_summary, strat_folds_of

    ds = _load(args)
    print(
        f"records: {len(ds.records)}  patients: {ds.records['patient_id'].nunique()}  "
        f"labelled: {len(ds.labelled)}  unlabelled: {len(ds.records) - len(ds.labelled)}"
    )
    print("label counts: " + ", ".join(f"{n} {int(c)}" for n, c in zip(ds.label_names, ds.labels.sum(0))))
    strat = strat_folds_of(ds.records)
    print("\nper strat_fold:")
    for s in sorted(set(strat)):
        m = strat == s
        counts = ", ".join(f"{n} {int(c)}" for n, c in zip(ds.label_names, ds.labels[m].sum(0)))
        print(f"  {s:>2}: {m.sum():5d} records, {ds.records['patient_id'][m].nunique():5d} patients | {counts}")
    print(f"\nplan {args.plan}:")
    print(fold_summary(ds.records, ds.labels, ds.label_names, args.plan).to_string(index=False))
    return 0


def cmd_demo_data(args) -> int:
    from ecgcore.demo import make_demo_dataset

    out = make_demo_dataset(
        args.out, args.n_records, args.seed, tuple(args.sampling_rates), progress=_progress_bar("writing records")
    )
    print(f"demo dataset written to {out}")
    return 0


def cmd_models(args) -> int:
    from ecgcore.model_specs import model_spec
    from ecgcore.models import create_model, list_models, n_parameters
    from ecgcore.recipes import shown_value

    for name, desc in list_models().items():
        spec = model_spec(name)
        print(f"{name:16s} {n_parameters(create_model(name)):>9,d} params  {desc}")
        recipe = ", ".join(f"--{k} {shown_value(k, v)}" for k, v in spec.default_recipe.items())
        print(f"{'':16s} default recipe: {recipe}" + ("; whole 10 s records only" if spec.fixed_length else ""))
    return 0


class _StopRequest:
    """should_stop for the trainer: a SIGTERM (the run's cancel flag is the service's)."""

    def __init__(self):
        self.signalled = False
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.signalled = True

    def __call__(self) -> bool:
        return self.signalled


def _epoch_printer(bar_holder: dict):
    from tqdm import tqdm

    def on_event(e: dict) -> None:
        kind = e["event"]
        if kind == "start":
            bar_holder["bar"] = tqdm(
                total=e["epochs"] * e["steps_per_epoch"],
                initial=(e["resumed_from"] or 0) * e["steps_per_epoch"],
                desc="training",
                unit="step",
                disable=None,
            )
            print(f"training on {e['n_train']} records, validating on {e['n_val']} ({e['device']})", flush=True)
        elif kind == "batch" and bar_holder.get("bar") is not None:
            bar_holder["bar"].n = e["step"]
            bar_holder["bar"].set_postfix(loss=f"{e['loss']:.3f}", refresh=True)
        elif kind == "epoch_end":
            pr = e["val_macro_pr_auc"]
            print(
                f"epoch {e['epoch'] + 1}/{e['epochs']}: train loss {e['train_loss']:.4f}  val loss {e['val_loss']:.4f}  "
                f"val macro PR-AUC {pr if pr is None else round(pr, 4)}{'  *best' if e['best'] else ''}  ({e['seconds']:.1f}s)",
                flush=True,
            )
        elif kind in ("done", "cancelled") and bar_holder.get("bar") is not None:
            bar_holder["bar"].close()

    return on_event


def _num(value, digits: int = 4) -> str:
    """A metric for printing: 'n/a' where it is undefined (no class with both positives and negatives)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _print_test(results: dict, path: Path) -> None:
    print(
        f"test: macro PR-AUC {_num(results['macro_pr_auc'])}  macro ROC-AUC {_num(results['macro_roc_auc'])}  "
        f"F1 macro {_num(results['f1_macro'])}  → {path / 'results.json'}"
        + ("" if results["macro_pr_auc"] is not None else "  (n/a: no class has both positives and negatives here)")
    )


def cmd_train(args) -> int:
    """Check every argument, load the data, then train each fold (:func:`ecgcore.service.train_request`)."""
    from ecgcore.background import TaskState
    from ecgcore.fileio import make_folder
    from ecgcore.folds import n_folds
    from ecgcore.recipes import overrides_from
    from ecgcore.runs import RunError
    from ecgcore.service import TrainRequest, check_request, train_request

    # a retried Kubernetes Indexed-Job pod (fold from JOB_COMPLETION_INDEX) continues its fold's run
    pod_mode = args.fold is None and os.environ.get("JOB_COMPLETION_INDEX") not in (None, "")
    request = TrainRequest(
        args.model,
        resolve_folds(args.fold, "train", n_folds(args.plan)),
        overrides_from(args),
        args.plan,
        args.device,
        args.run_name,
        resume=args.resume,
        overwrite=args.overwrite,
        evaluate=not args.no_eval,
        pod_mode=pod_mode,
        seeds=args.seeds,
    )
    check_request(request)  # before the data loads, as is the runs folder:
    make_folder(_runs_root(args))  # a read-only folder or a file there is one line, before any work
    stop = _StopRequest()
    ds = _load(args)

    def announce(k: int, path: Path) -> None:
        print(f"\n== {args.model} fold {k} ({args.plan}, run {args.run_name}) → {path}", flush=True)

    refused = 0
    for _, path, outcome in train_request(ds, request, _runs_root(args), [_epoch_printer({})], stop, announce):
        if isinstance(outcome, RunError):  # refused (locked, already trained, a resume conflict): files left alone
            print(f"error: {outcome}", file=sys.stderr)
            refused += 1
        elif outcome.state == TaskState.CANCELLED:
            print("cancelled; what was saved is kept (resume with --resume)")
            return 130
        elif outcome.results is not None:
            _print_test(outcome.results, path)
    return 2 if refused else 0


def cmd_eval(args) -> int:
    from ecgcore.errors import CheckpointError
    from ecgcore.evaluate import evaluate_run, summarize_model
    from ecgcore.folds import n_folds
    from ecgcore.run_paths import RunPaths, check_run_name, group_folder
    from ecgcore.runs import RunLock

    root = _runs_root(args)
    folds = resolve_folds(args.fold, "eval", n_folds(args.plan))
    check_run_name(args.run_name)
    ds = _load(args)
    for k in folds:
        path = RunPaths.of(ds.name, ds.label_set, args.model, k, args.plan, root, args.run_name).folder
        if not RunPaths(path).best.is_file():
            raise CheckpointError(
                f"{RunPaths(path).best} does not exist; train that run first (python -m ecgcore train)."
            )
        with RunLock(path):  # not while a training or another evaluation of this fold writes its files
            r = evaluate_run(ds, path, args.device, args.n_bootstrap)
        lo, hi = r["ci95"].get("macro_pr_auc") or (None, None)
        print(
            f"fold {k}: macro PR-AUC {_num(r['macro_pr_auc'])} [{_num(lo, 3)}, {_num(hi, 3)}]  "
            f"micro PR-AUC {_num(r['micro_pr_auc'])}  macro ROC-AUC {_num(r['macro_roc_auc'])}  "
            f"F1 macro {_num(r['f1_macro'])}  F1 micro {_num(r['f1_micro'])}"
        )
        for name, c in r["per_class"].items():
            print(
                f"    {name:6s} AP {c['ap'] or float('nan'):.3f}  AUC {c['roc_auc'] or float('nan'):.3f}  thr {c['threshold']:.2f}  "
                f"sens {c['sensitivity'] or 0:.2f}  spec {c['specificity'] or 0:.2f}  PPV {c['ppv'] or 0:.2f}  (n={c['support']})"
            )
    if len(folds) > 1:
        summary = summarize_model(ds, group_folder(args.model, args.run_name), folds, args.plan, root)
        print(
            "mean ± std over folds: "
            + ", ".join(f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in summary["summary"].items())
        )
    return 0


def _compared_groups(args) -> tuple[str, str]:
    """See :func:`_compared_group_names`; refuses a group compared with itself."""
    from ecgcore.errors import RunError

    a, b = _compared_group_names(args)
    if a == b:
        raise RunError(f"--a and --b are the same run group ({a}); compare two different runs or models.")
    return a, b


def _compared_group_names(args) -> tuple[str, str]:
    """The two run-group folders to compare: ``--a``/``--b`` (MODEL[:RUN]), else ``--models`` of one
    ``--run_name`` (today's 1D-vs-2D table when nothing is given)."""
    from ecgcore.errors import RunError
    from ecgcore.run_paths import check_run_name, group_folder, parse_group_spec

    if (args.a is None) != (args.b is None):
        raise RunError("give both --a and --b (MODEL[:RUN] each), or neither for --models.")
    if args.a is not None:
        return tuple(group_folder(*parse_group_spec(spec)) for spec in (args.a, args.b))
    check_run_name(args.run_name)
    return tuple(group_folder(m, args.run_name) for m in args.models)  # e.g. cnn1d@exp: the folder of that run


def cmd_compare(args) -> int:
    """Two run groups fold by fold, each fold the mean over its seeds (:func:`ecgcore.compare.compare_runs`)."""
    from ecgcore.compare import compare_runs, comparison_report
    from ecgcore.evaluate import group_recipe_differences
    from ecgcore.run_paths import parse_group_folder

    a, b = _compared_groups(args)  # before the data loads: a bad group name costs nothing
    ds = _load(args)
    out = compare_runs(
        ds.name,
        ds.label_set,
        (parse_group_folder(a), parse_group_folder(b)),
        args.plan,
        _runs_root(args),
        ds.description,
    )
    print("\n".join(comparison_report(out)))
    for group in (a, b):
        for line in group_recipe_differences(ds, group, args.plan, _runs_root(args)):  # said, not averaged silently
            print(f"warning: {group}: {line}; its mean mixes recipes", file=sys.stderr)
    return 0


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
    root = _runs_root(args)
    folds = resolve_folds(args.fold, "interpret", n_folds(args.plan))
    check_run_name(args.run_name)
    ds = _load(args)
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
    from ecgcore.figures import saliency_png
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
        bar = _progress_bar(f"fold {k}: {args.method}")
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


def _predict_models(args):
    """``--checkpoint`` as given, or the best.pt of every trained fold of ``--run MODEL[:RUN]`` (a fold
    ensemble; its size is printed, and no cross-validated figure exists for it: every record is in
    some fold's training part)."""
    from ecgcore.run_paths import RunPaths, parse_group_spec
    from ecgcore.runs import trained_folds

    if args.checkpoint:
        return args.checkpoint
    model, name = parse_group_spec(args.run)
    from ecgcore.recipes import fold_recipe_differences
    from ecgcore.runs import recipe_of

    folds = trained_folds(model, name, args.plan, _runs_root(args), args.dataset)
    print(f"fold ensemble of {args.run}: {len(folds)} model(s) vote ({', '.join(p.name for p in folds)})")
    for line in fold_recipe_differences({RunPaths(p).address().fold: recipe_of(p) for p in folds}):
        print(f"warning: the ensemble's members used different recipes — {line}", file=sys.stderr)
    return [RunPaths(p).best for p in folds]


def cmd_predict(args) -> int:
    """Predictions as one CSV (one row per record: ecg_id, then per class <class>_probability,
    <class>_predicted, <class>_threshold) and what was assumed in its sidecar ``<out>.json``, also printed."""
    from ecgcore.errors import RunError
    from ecgcore.predict import check_output_file, predict_folder, predict_input, write_predictions

    inputs = [p for p in (args.input, args.data_root, args.checkpoint) if p]
    if args.input and Path(args.input).suffix.lower() == ".hea":
        inputs.append(Path(args.input).with_suffix(".dat"))
    out = check_output_file(args.out, inputs)  # before any work: a bad --out must not cost a whole prediction
    if args.input is not None and args.skip_bad:
        raise RunError("--skip_bad applies to a folder (--data_root), not to one --input file.")
    models = _predict_models(args)
    if args.input is not None:
        table, info, record = predict_input(models, args.input, args.device)
        predicted = ", ".join(
            c[: -len("_predicted")] for c in table.columns if c.endswith("_predicted") and table[c][0]
        )
        summary = f"{record.name}: predicted {predicted or 'none'} → {out}"
    else:
        table, ds, info = predict_folder(models, args.data_root, args.skip_bad, args.device)
        summary = f"{len(table)} records of {ds.description} → {out}"
    sidecar = write_predictions(out, table, info)
    print(
        f"checkpoint(s): {', '.join(info['checkpoints'])}; {info['sampling_rate_hz']} Hz, mV, leads in the order "
        f"{', '.join(info['lead_order'])}; thresholds: {info['thresholds']}"
    )
    for note in info["notes"]:
        print(f"note: {note}")
    print(summary)
    print(f"what was assumed → {sidecar}")
    return 0


def cmd_runs(args) -> int:
    """One line per run: state, folder and test macro PR-AUC; a damaged run says what is wrong and
    what to do (``--repair`` rebuilds damaged status files first)."""
    from ecgcore.background import TaskState
    from ecgcore.run_paths import check_run_name
    from ecgcore.runs import list_runs, repair_status, run_state

    if args.run_name:
        check_run_name(args.run_name)
    root = _runs_root(args)
    if args.repair:
        for r in list_runs(root, run_name=args.run_name):
            if r.state == TaskState.DAMAGED:
                print(f"repaired {r.path}: now {repair_status(r.path)}")
    for r in list_runs(root, run_name=args.run_name):
        name = r.path.relative_to(root) if r.path.is_relative_to(root) else r.path
        state = run_state(r.path)
        if state == TaskState.DAMAGED:
            print(f"{state:12s} {name}: {r.damage}")
            continue
        test = r.status.get("test_macro_pr_auc")
        print(f"{state:12s} {name}{'' if test is None else f'  test macro PR-AUC {test:.4f}'}")
    return 0


def _download_bar():
    from tqdm import tqdm

    bar = tqdm(total=0, desc="PTB-XL", unit="file", disable=None, dynamic_ncols=True)

    def update(s) -> None:
        bar.total, bar.n = s.files_total, s.files_done
        total = f"/~{s.bytes_total / 1e6:.0f}" if s.bytes_total else ""
        eta = f", ETA {s.eta_s:.0f} s" if s.eta_s is not None else ""
        bar.set_postfix_str(f"{s.bytes_done / 1e6:.1f}{total} MB, {s.rate_bps / 1e6:.2f} MB/s{eta}", refresh=True)
        if s.state in ("done", "failed", "cancelled"):
            bar.close()

    return update


def cmd_download(args) -> int:
    import threading

    from ecgcore import download as dl
    from ecgcore.errors import DownloadError
    from ecgcore.sources import load_ptbxl

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop after the chunks in flight; what is verified stays
        signal.signal(sig, lambda *_: stop.set())
    if args.workers is not None and args.workers < 1:
        raise DownloadError(f"--workers {args.workers}: use 1 or more parallel connections (default {dl.POOL_SIZE}).")
    out = Path(args.out).expanduser() if args.out else dl.default_out(args.version)
    print(f"PTB-XL {args.version} ({args.sampling_rate} Hz part) → {out}", flush=True)
    if args.from_zip:
        from ecgcore.download_zip import extract_zip

        result = extract_zip(args.from_zip, out, args.version, args.sampling_rate, _download_bar(), stop)
    else:
        workers = args.workers if args.workers is not None else dl.POOL_SIZE
        verify = not args.no_verify
        result = dl.download_ptbxl(
            out, args.version, args.sampling_rate, args.base_url, verify, workers, _download_bar(), stop
        )
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works as usual while loading
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for line in result.report_lines():
        print(line, file=sys.stderr)
    if result.cancelled:
        print(f"cancelled; run the same command again to continue (verified files in {out} are kept)")
        return 130
    if result.problem():
        raise DownloadError(result.problem())
    print(f"{result.files_total} files in {out}: {result.fetched} fetched, {result.present} already there")
    if not result.verified:
        print(f"WARNING: NOT verified — the source has no {dl.SUMS_FILE} (--no_verify)")
    ds = load_ptbxl(out, 500 if args.sampling_rate == "500" else 100, progress=_progress_bar("reading records"))
    counts = ", ".join(f"{n} {int(c)}" for n, c in zip(ds.label_names, ds.labels.sum(0)))
    print(f"records: {len(ds.records)}  patients: {ds.records['patient_id'].nunique()}  labels: {counts}")
    print(f"use it with --data_root {out}  (or export ECGCORE_DATA_ROOT={out})")
    return 0


def cmd_app(args) -> int:
    """Serve the app with its heavy modules imported before the server listens (ecgcore/app_server.py)."""
    from ecgcore.app_server import serve

    return serve(args.options)


def cmd_sweep(args) -> int:
    """Tune a model's recipe with Optuna, each trial a named run (:mod:`ecgcore.sweeps.command`)."""
    from ecgcore.sweeps.command import run_sweep_command

    return run_sweep_command(args, _load, _runs_root(args))


COMMANDS = {
    "info": cmd_info,
    "demo-data": cmd_demo_data,
    "models": cmd_models,
    "train": cmd_train,
    "eval": cmd_eval,
    "compare": cmd_compare,
    "interpret": cmd_interpret,
    "predict": cmd_predict,
    "runs": cmd_runs,
    "sweep": cmd_sweep,
    "download": cmd_download,
    "app": cmd_app,
}


def main(argv: list[str] | None = None) -> int:
    from ecgcore.errors import USER_ERRORS

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "app":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.options = unknown  # `app`: the options of streamlit run, in their order
    try:
        return COMMANDS[args.command](args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
