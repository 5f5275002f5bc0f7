"""Command line: ``python -m ecgcore info|demo-data|train|eval|interpret|compare|predict|runs``.

The original project's flags work as written (``--data_root --model --epochs --batch_size --fold``);
``--data-root`` is accepted too. Without ``--data_root`` (and ECGCORE_DATA_ROOT) the demo dataset is
used. ``--fold`` takes 0–4 or ``all`` (``train`` also takes 5 = all); with no ``--fold``, the fold in
``JOB_COMPLETION_INDEX`` (a Kubernetes Indexed Job) when set, else all.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path

ORIGINAL_ALL_FOLDS = "5"  # the original project wrote --fold 5 for "all folds"


def _fold_value(text: str) -> str:
    if text == "all" or text.isdigit():
        return text
    raise argparse.ArgumentTypeError(f"--fold takes a fold number (0–4) or 'all', not {text!r}")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data_root",
        "--data-root",
        dest="data_root",
        default=None,
        help="PTB-XL folder (default: $ECGCORE_DATA_ROOT, else the demo dataset)",
    )
    p.add_argument(
        "--sampling_rate", "--sampling-rate", dest="sampling_rate", type=int, default=100, choices=(100, 500)
    )
    p.add_argument(
        "--label_set",
        "--label-set",
        dest="label_set",
        default="superclass",
        help="superclass (NORM, MI, STTC, CD, HYP), subclass, or top<k>",
    )
    p.add_argument("--min_likelihood", type=float, default=None, help="keep scp codes with likelihood >= this")
    p.add_argument(
        "--skip_bad",
        "--skip-bad",
        dest="skip_bad",
        action="store_true",
        help="leave out unreadable or missing records (listed) instead of stopping",
    )


def _add_run_args(p: argparse.ArgumentParser, all_alias: bool = False) -> None:
    p.add_argument("--model", default="cnn1d", help="model name (see `python -m ecgcore models`)")
    p.add_argument(
        "--fold",
        type=_fold_value,
        default=None,
        help="0–4 or all" + (" (5 = all)" if all_alias else "") + "; default $JOB_COMPLETION_INDEX, else all",
    )
    p.add_argument("--plan", default="cv5", help="fold plan: cv5 (5-fold patient CV) or benchmark (1–8/9/10)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument(
        "--runs_dir", "--runs-dir", dest="runs_dir", default=None, help="default $ECGCORE_RUNS_DIR or ./checkpoints"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecgcore", description="ECG explorer: PTB-XL multi-label classification."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="records, patients, label counts per fold and per class")
    _add_data_args(p)
    p.add_argument("--plan", default="cv5")

    p = sub.add_parser("demo-data", help="write a synthetic demo dataset in PTB-XL layout")
    p.add_argument("--out", required=True)
    p.add_argument("--n_records", "--n-records", dest="n_records", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sampling_rates", type=int, nargs="+", default=[100], choices=(100, 500))

    sub.add_parser("models", help="list the registered models")

    p = sub.add_parser("train", help="train a model on one fold or all folds")
    _add_data_args(p)
    _add_run_args(p, all_alias=True)
    recipe = " (default: the model's recipe, ecgcore.train.RECIPES)"
    p.add_argument("--epochs", type=int, default=None, help="training epochs" + recipe)
    p.add_argument(
        "--batch_size", "--batch-size", dest="batch_size", type=int, default=None, help="batch size" + recipe
    )
    p.add_argument("--lr", type=float, default=None, help="(peak) learning rate" + recipe)
    p.add_argument("--weight_decay", type=float, default=None)
    p.add_argument("--schedule", choices=("constant", "onecycle"), default=None, help="learning-rate schedule" + recipe)
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time shift, amplitude scaling, noise (and --aug_lead_dropout)" + recipe,
    )
    p.add_argument("--aug_lead_dropout", type=float, default=None)
    p.add_argument("--patience", type=int, default=None, help="early stopping after n epochs without gain")
    p.add_argument("--image", default=None, help="cnn2d image: stacked (default) or spectrogram")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace a finished run")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from last.pt")
    p.add_argument("--no_eval", action="store_true", help="do not evaluate on the test part afterwards")

    p = sub.add_parser("eval", help="evaluate trained folds on their test parts")
    _add_data_args(p)
    _add_run_args(p)
    p.add_argument("--n_bootstrap", type=int, default=200)

    p = sub.add_parser("compare", help="1D vs 2D table per fold, mean ± std and paired differences")
    _add_data_args(p)
    p.add_argument("--models", nargs=2, default=["cnn1d", "cnn2d"])
    p.add_argument("--plan", default="cv5")
    p.add_argument("--runs_dir", "--runs-dir", dest="runs_dir", default=None)

    p = sub.add_parser("interpret", help="saliency PNGs of the 12 leads for some test records")
    _add_data_args(p)
    _add_run_args(p)
    p.add_argument("--method", default="integrated_gradients", choices=("gradient", "integrated_gradients", "grad_cam"))
    p.add_argument("--ecg_ids", type=int, nargs="*", default=None, help="records to explain (default: sampled)")
    p.add_argument("--n", type=int, default=4, help="records sampled from the fold's test part")
    p.add_argument("--out", default=None, help="folder for the PNGs (default: <run>/saliency)")

    p = sub.add_parser("predict", help="probabilities for every record of a folder, as CSV")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data_root", "--data-root", dest="data_root", required=True)
    p.add_argument("--out", required=True, help="CSV: ecg_id,<label>,…")
    p.add_argument("--skip_bad", "--skip-bad", dest="skip_bad", action="store_true")
    p.add_argument("--device", default="auto")

    p = sub.add_parser("runs", help="list training runs and their states")
    p.add_argument("--runs_dir", "--runs-dir", dest="runs_dir", default=None)

    p = sub.add_parser("download", help="download PTB-XL from PhysioNet (resumable, every file verified)")
    p.add_argument("--out", default=None, help="target folder (default: $XDG_DATA_HOME/ecgcore/ptb-xl-<version>)")
    p.add_argument("--version", default="1.0.3", help="PTB-XL release (default 1.0.3)")
    p.add_argument(
        "--sampling_rate",
        "--sampling-rate",
        dest="sampling_rate",
        default="100",
        choices=("100", "500", "all"),
        help="records100/ (default), records500/ or both",
    )
    p.add_argument("--base_url", default=None, help="mirror (default: $ECGCORE_PHYSIONET_URL, else PhysioNet)")
    p.add_argument("--from_zip", default=None, help="extract from PhysioNet's release zip instead of downloading")
    p.add_argument("--no_verify", action="store_true", help="download even if the source has no SHA256SUMS.txt")
    p.add_argument(
        "--workers", type=int, default=None, help="parallel connections (default 16, measured: bench/download.py)"
    )
    return parser


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
    from ecgcore.data import load_ptbxl

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
    from ecgcore.runs import runs_root

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
    from ecgcore.models import create_model, list_models, n_parameters

    for name, desc in list_models().items():
        print(f"{name:16s} {n_parameters(create_model(name)):>9,d} params  {desc}")
    return 0


def _train_config(args, fold: int):
    from ecgcore.train import default_config

    return default_config(
        args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        augment=args.augment,
        aug_lead_dropout=args.aug_lead_dropout,
        seed=args.seed,
        plan=args.plan,
        fold=fold,
        device=args.device,
        patience=args.patience,
        model_config={"image": args.image} if args.image else None,
    )


class _StopRequest:
    """should_stop for the trainer: a SIGTERM, or the run's cancel flag file."""

    def __init__(self):
        self.signalled = False
        self.flag: Path | None = None
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.signalled = True

    def __call__(self) -> bool:
        return self.signalled or (self.flag is not None and self.flag.exists())


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


def _saved_epochs(path: Path) -> int | None:
    from ecgcore.checkpoints import read_checkpoint
    from ecgcore.errors import CheckpointError

    try:
        return int(read_checkpoint(path / "last.pt")["meta"]["config"]["epochs"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return None


def _resumable(path: Path) -> bool:
    """A run with a completed epoch (last.pt) that did not finish."""
    from ecgcore.runs import read_status

    return (path / "last.pt").exists() and (read_status(path) or {}).get("state") != "done"


def cmd_train(args) -> int:
    from ecgcore import jobs
    from ecgcore.evaluate import evaluate_run
    from ecgcore.folds import n_folds
    from ecgcore.runs import RunError, is_locked, run_dir, write_status
    from ecgcore.train import RunRecorder, train_fold

    stop = _StopRequest()
    root = _runs_root(args)
    # a retried Kubernetes Indexed-Job pod (fold from JOB_COMPLETION_INDEX) continues its fold's run
    pod_mode = args.fold is None and os.environ.get("JOB_COMPLETION_INDEX") not in (None, "")
    folds = resolve_folds(args.fold, "train", n_folds(args.plan))
    ds = _load(args)
    failures = 0
    try:
        for k in folds:
            path = run_dir(ds.name, ds.label_set, args.model, k, args.plan, root)
            print(f"\n== {args.model} fold {k} ({args.plan}) → {path}", flush=True)
            stop.flag = path / jobs.CANCEL_FLAG
            if not is_locked(path):
                stop.flag.unlink(missing_ok=True)
            recorder = RunRecorder(
                path,
                os.getpid(),
                {"data_root": str(ds.root), "dataset": ds.description},
                state_when_done="done" if args.no_eval else "evaluating",
            )
            resume = args.resume or (pod_mode and _resumable(path))
            cfg = _train_config(args, k)
            if resume and args.epochs is None:  # continue to the run's own length, not today's default
                cfg.epochs = _saved_epochs(path) or cfg.epochs
            try:
                result = train_fold(
                    ds,
                    cfg,
                    path,
                    [recorder, _epoch_printer({})],
                    resume=resume,
                    overwrite=args.overwrite,
                    should_stop=stop,
                )
            except RunError as e:  # refused (locked, already trained …): leave that run's files alone
                print(f"error: {e}", file=sys.stderr)
                failures += 1
                continue
            except Exception as e:
                if not is_locked(path):
                    recorder(
                        {
                            "event": "failed",
                            "error": f"{e.__class__.__name__}: {e}",
                            "traceback": traceback.format_exc(),
                        }
                    )
                raise
            finally:
                recorder.close()
            if result["event"] == "cancelled":
                print("cancelled; what was saved is kept (resume with --resume)")
                return 130
            if not args.no_eval:
                try:
                    results = evaluate_run(ds, path, args.device)
                except Exception as e:  # the training itself is done and kept
                    write_status(path, state="done", eval_error=f"{e.__class__.__name__}: {e}")
                    raise
                write_status(
                    path,
                    state="done",
                    test_macro_pr_auc=results["macro_pr_auc"],
                    test_macro_roc_auc=results["macro_roc_auc"],
                )
                print(
                    f"test: macro PR-AUC {results['macro_pr_auc']:.4f}  macro ROC-AUC {results['macro_roc_auc']:.4f}  "
                    f"F1 macro {results['f1_macro']:.4f}  → {path / 'results.json'}"
                )
    finally:
        jobs.pump(root)  # start the next queued run, if any
    return 1 if failures else 0


def cmd_eval(args) -> int:
    from ecgcore.evaluate import evaluate_run, summarize_model
    from ecgcore.folds import n_folds
    from ecgcore.runs import run_dir

    root = _runs_root(args)
    folds = resolve_folds(args.fold, "eval", n_folds(args.plan))
    ds = _load(args)
    for k in folds:
        r = evaluate_run(
            ds, run_dir(ds.name, ds.label_set, args.model, k, args.plan, root), args.device, args.n_bootstrap
        )
        lo, hi = r["ci95"].get("macro_pr_auc") or (float("nan"), float("nan"))
        print(
            f"fold {k}: macro PR-AUC {r['macro_pr_auc']:.4f} [{lo:.3f}, {hi:.3f}]  micro PR-AUC {r['micro_pr_auc']:.4f}  "
            f"macro ROC-AUC {r['macro_roc_auc']:.4f}  F1 macro {r['f1_macro']:.4f}  F1 micro {r['f1_micro']:.4f}"
        )
        for name, c in r["per_class"].items():
            print(
                f"    {name:6s} AP {c['ap'] or float('nan'):.3f}  AUC {c['roc_auc'] or float('nan'):.3f}  thr {c['threshold']:.2f}  "
                f"sens {c['sensitivity'] or 0:.2f}  spec {c['specificity'] or 0:.2f}  PPV {c['ppv'] or 0:.2f}  (n={c['support']})"
            )
    if len(folds) > 1:
        summary = summarize_model(ds, args.model, folds, args.plan, root)
        print(
            "mean ± std over folds: "
            + ", ".join(f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in summary["summary"].items())
        )
    return 0


def cmd_compare(args) -> int:
    from ecgcore.evaluate import compare_models

    ds = _load(args)
    out = compare_models(ds, tuple(args.models), args.plan, _runs_root(args))
    a, b = args.models
    print(f"\n{'fold':>4}  {'metric':15s} {a:>10s} {b:>10s} {'diff':>8s}")
    rows = out["per_fold"]
    for k in sorted({r["fold"] for r in rows}):
        ra = next(r for r in rows if r["fold"] == k and r["model"] == a)
        rb = next(r for r in rows if r["fold"] == k and r["model"] == b)
        for m in ("macro_pr_auc", "macro_roc_auc", "f1_macro"):
            print(f"{k:>4}  {m:15s} {ra[m]:10.4f} {rb[m]:10.4f} {ra[m] - rb[m]:+8.4f}")
    print("\nmean ± std:")
    for m, d in out["paired_difference"].items():
        sa, sb = out["summary"][a].get(m), out["summary"][b].get(m)
        if sa and sb:
            print(
                f"  {m:15s} {a} {sa['mean']:.4f} ± {sa['std']:.4f}   {b} {sb['mean']:.4f} ± {sb['std']:.4f}   "
                f"paired diff {d['mean']:+.4f} ± {d['std']:.4f}"
            )
    return 0


def cmd_interpret(args) -> int:
    import numpy as np

    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.evaluate import checkpoint_expectations
    from ecgcore.figures import saliency_png
    from ecgcore.folds import get_fold, n_folds
    from ecgcore.inference import predict_proba
    from ecgcore.runs import run_dir
    from ecgcore.saliency import display_map, saliency_map

    root = _runs_root(args)
    folds = resolve_folds(args.fold, "interpret", n_folds(args.plan))
    ds = _load(args)
    for k in folds:
        path = run_dir(ds.name, ds.label_set, args.model, k, args.plan, root)
        model, meta = load_checkpoint(path / "best.pt", expect=checkpoint_expectations(ds))
        fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
        ids = ds.records["ecg_id"].to_numpy()
        if args.ecg_ids:
            rows = [int(np.flatnonzero(ids == i)[0]) for i in args.ecg_ids if (ids == i).any()]
        else:
            rows = np.random.default_rng(k).choice(fold.test, size=min(args.n, len(fold.test)), replace=False).tolist()
        out = Path(args.out) if args.out else path / "saliency"
        out.mkdir(parents=True, exist_ok=True)
        probs = predict_proba(model, ds.signals[rows], args.device)
        thresholds = np.asarray(meta["thresholds"])
        for row, p in zip(rows, probs):
            target = int(np.argmax(p))
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
    return 0


def cmd_predict(args) -> int:
    from ecgcore.predict import predict_folder

    table, ds = predict_folder(args.checkpoint, args.data_root, args.skip_bad, args.device)
    table.to_csv(args.out, index=False, float_format="%.5f")
    print(f"{len(table)} records of {ds.description} → {args.out}")
    for s in ds.skipped:
        print(f"  skipped ecg_id {s.ecg_id}: {s.reason}")
    return 0


def cmd_runs(args) -> int:
    from ecgcore.jobs import run_state
    from ecgcore.runs import list_runs

    for r in list_runs(_runs_root(args)):
        test = r.status.get("test_macro_pr_auc")
        print(
            f"{run_state(r.path):12s} {r.dataset}/{r.label_set}/{r.model}/{r.path.name}"
            f"{'' if test is None else f'  test macro PR-AUC {test:.4f}'}"
        )
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
    from ecgcore.data import load_ptbxl
    from ecgcore.errors import DownloadError

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop after the chunks in flight; what is verified stays
        signal.signal(sig, lambda *_: stop.set())
    out = Path(args.out).expanduser() if args.out else dl.default_out(args.version)
    print(f"PTB-XL {args.version} ({args.sampling_rate} Hz part) → {out}", flush=True)
    if args.from_zip:
        result = dl.extract_zip(args.from_zip, out, args.version, args.sampling_rate, _download_bar(), stop)
    else:
        workers = args.workers or dl.POOL_SIZE
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
    "download": cmd_download,
}


def main(argv: list[str] | None = None) -> int:
    from ecgcore.errors import USER_ERRORS

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
