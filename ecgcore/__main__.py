"""Command line: ``python -m ecgcore info|demo-data|models|train|eval|compare|interpret|predict|runs|download|app|calibrate|similar|sweep``.

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

from ecgcore import cli_interpret
from ecgcore.cli_args import build_parser
from ecgcore.cli_common import load_dataset, num, progress_bar, resolve_folds, runs_folder


def cmd_info(args) -> int:
    from ecgcore.folds import fold_summary, strat_folds_of

    ds = load_dataset(args)
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
        args.out, args.n_records, args.seed, tuple(args.sampling_rates), progress=progress_bar("writing records")
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


def _print_test(results: dict, path: Path) -> None:
    print(
        f"test: macro PR-AUC {num(results['macro_pr_auc'])}  macro ROC-AUC {num(results['macro_roc_auc'])}  "
        f"F1 macro {num(results['f1_macro'])}  → {path / 'results.json'}"
        + ("" if results["macro_pr_auc"] is not None else "  (n/a: no class has both positives and negatives here)")
    )


def cmd_train(args) -> int:
    """Check every argument, load the data, then train each fold (:func:`ecgcore.service.train_request`)."""
    from ecgcore.background import TaskState
    from ecgcore.errors import RunError
    from ecgcore.fileio import make_folder
    from ecgcore.folds import n_folds
    from ecgcore.recipes import overrides_from
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
    make_folder(runs_folder(args))  # a read-only folder or a file there is one line, before any work
    stop = _StopRequest()
    ds = load_dataset(args)

    def announce(k: int, path: Path) -> None:
        print(f"\n== {args.model} fold {k} ({args.plan}, run {args.run_name}) → {path}", flush=True)

    refused = 0
    for _, path, outcome in train_request(ds, request, runs_folder(args), [_epoch_printer({})], stop, announce):
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

    root = runs_folder(args)
    folds = resolve_folds(args.fold, "eval", n_folds(args.plan))
    check_run_name(args.run_name)
    ds = load_dataset(args)
    from ecgcore.cli_failures import SubgroupPrinter

    by = SubgroupPrinter(ds, args.by, args.n_bootstrap)  # checks --by first: a column the data lacks, exit 2
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
            f"fold {k}: macro PR-AUC {num(r['macro_pr_auc'])} [{num(lo, 3)}, {num(hi, 3)}]  "
            f"micro PR-AUC {num(r['micro_pr_auc'])}  macro ROC-AUC {num(r['macro_roc_auc'])}  "
            f"F1 macro {num(r['f1_macro'])}  F1 micro {num(r['f1_micro'])}"
        )
        for name, c in r["per_class"].items():
            print(
                f"    {name:6s} AP {c['ap'] or float('nan'):.3f}  AUC {c['roc_auc'] or float('nan'):.3f}  thr {c['threshold']:.2f}  "
                f"sens {c['sensitivity'] or 0:.2f}  spec {c['specificity'] or 0:.2f}  PPV {c['ppv'] or 0:.2f}  (n={c['support']})"
            )
        by.fold(r)
    by.pooled()
    if len(folds) > 1:
        summary = summarize_model(ds, group_folder(args.model, args.run_name), folds, args.plan, root)
        print(
            "mean ± std over folds: "
            + ", ".join(
                f"{k} {v['mean']:.4f} ± " + ("— (one fold)" if v["std"] is None else f"{v['std']:.4f}")
                for k, v in summary["summary"].items()
            )
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
    ds = load_dataset(args)
    runs = (parse_group_folder(a), parse_group_folder(b))
    out = compare_runs(ds.name, ds.label_set, runs, args.plan, runs_folder(args), ds.description)
    print("\n".join(comparison_report(out)))
    for group in (a, b):
        for line in group_recipe_differences(ds, group, args.plan, runs_folder(args)):  # said, not averaged silently
            print(f"warning: {group}: {line}; its mean mixes recipes", file=sys.stderr)
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

    folds = trained_folds(model, name, args.plan, runs_folder(args), args.dataset)
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
    root = runs_folder(args)
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
    ds = load_ptbxl(out, 500 if args.sampling_rate == "500" else 100, progress=progress_bar("reading records"))
    counts = ", ".join(f"{n} {int(c)}" for n, c in zip(ds.label_names, ds.labels.sum(0)))
    print(f"records: {len(ds.records)}  patients: {ds.records['patient_id'].nunique()}  labels: {counts}")
    print(f"use it with --data_root {out}  (or export ECGCORE_DATA_ROOT={out})")
    return 0


def cmd_app(args) -> int:
    """Serve the app with its heavy modules imported before the server listens (ecgcore/app_server.py)."""
    from ecgcore.app_server import serve

    return serve(args.options)


def cmd_failures(args) -> int:
    """``calibrate`` and ``similar`` (ecgcore.cli_failures)."""
    from ecgcore import cli_failures

    return cli_failures.COMMANDS[args.command](args)


def cmd_sweep(args) -> int:
    """Tune a model's recipe with Optuna, each trial a named run (:mod:`ecgcore.sweeps.command`)."""
    from ecgcore.sweeps.command import run_sweep_command

    return run_sweep_command(args, load_dataset, runs_folder(args))


COMMANDS = {
    "info": cmd_info,
    "demo-data": cmd_demo_data,
    "models": cmd_models,
    "train": cmd_train,
    "eval": cmd_eval,
    "compare": cmd_compare,
    "interpret": cli_interpret.cmd_interpret,
    "predict": cmd_predict,
    "runs": cmd_runs,
    "download": cmd_download,
    "app": cmd_app,
    "calibrate": cmd_failures,
    "similar": cmd_failures,
    "sweep": cmd_sweep,
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
