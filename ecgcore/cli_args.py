"""The command line's arguments: one parser per subcommand of ``python -m ecgcore`` (declarative).

The commands themselves live in :mod:`ecgcore.__main__`; this module only says which flags each takes.
"""

from __future__ import annotations

import argparse
import os

from ecgcore.folds import DEFAULT_PLAN
from ecgcore.recipes import add_arguments as add_recipe_arguments

PLAN_HELP = f"fold plan: {DEFAULT_PLAN} (5-fold patient CV, the default), benchmark (1–8/9/10) or grouped"


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
    """--model --fold --plan --device --runs_dir --run_name."""
    p.add_argument("--model", default="cnn1d", help="model name (see `python -m ecgcore models`)")
    p.add_argument(
        "--fold",
        type=_fold_value,
        default=None,
        help="0–4 or all" + (" (5 = all)" if all_alias else "") + "; default $JOB_COMPLETION_INDEX, else all",
    )
    p.add_argument("--plan", default=DEFAULT_PLAN, help=PLAN_HELP)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument(
        "--runs_dir", "--runs-dir", dest="runs_dir", default=None, help="default $ECGCORE_RUNS_DIR or ./checkpoints"
    )
    _add_run_name(p, "default")


def _add_run_name(p: argparse.ArgumentParser, default: str | None = None, help: str = "") -> None:
    p.add_argument(
        "--run_name",
        "--run-name",
        dest="run_name",
        default=os.environ.get("ECGCORE_RUN_NAME") or default,
        help=help or "which run of the model: letters, digits, - and _ (default: $ECGCORE_RUN_NAME, else default)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecgcore", description="ECG explorer: PTB-XL multi-label classification."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_info(sub)
    _add_demo_data(sub)
    _add_models(sub)
    _add_train(sub)
    _add_eval(sub)
    _add_compare(sub)
    _add_interpret(sub)
    _add_predict(sub)
    _add_runs(sub)
    _add_sweep(sub)
    _add_app(sub)
    _add_download(sub)
    _add_calibrate(sub)
    _add_similar(sub)
    return parser


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="records, patients, label counts per fold and per class")
    _add_data_args(p)
    p.add_argument("--plan", default=DEFAULT_PLAN, help=PLAN_HELP)


def _add_demo_data(sub) -> None:
    p = sub.add_parser("demo-data", help="write a synthetic demo dataset in PTB-XL layout")
    p.add_argument("--out", required=True)
    p.add_argument("--n_records", "--n-records", dest="n_records", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sampling_rates", type=int, nargs="+", default=[100], choices=(100, 500))


def _add_models(sub) -> None:
    sub.add_parser("models", help="list the registered models")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model on one fold or all folds")
    _add_data_args(p)
    _add_run_args(p, all_alias=True)
    add_recipe_arguments(p)  # one flag per recipe field (ecgcore.recipes.FIELDS)
    p.add_argument("--overwrite", action="store_true", help="replace a finished run")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from last.pt")
    p.add_argument("--no_eval", action="store_true", help="do not evaluate on the test part afterwards")
    p.add_argument("--seeds", type=int, default=1, help="train each fold with seeds 0 … N−1 (one run group; default 1)")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate trained folds on their test parts")
    _add_data_args(p)
    _add_run_args(p)
    p.add_argument("--n_bootstrap", type=int, default=200)
    p.add_argument(
        "--by",
        default=None,
        help="also print test metrics per subgroup: sex, age, device, site, validated_by_human or likelihood",
    )


def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help="1D vs 2D table per fold, mean ± std and paired differences")
    _add_data_args(p)
    p.add_argument("--models", nargs=2, default=["cnn1d", "cnn2d"])
    p.add_argument("--a", default=None, help="first run group, MODEL[:RUN] (with --b: any two runs)")
    p.add_argument("--b", default=None, help="second run group, MODEL[:RUN]")
    p.add_argument("--plan", default=DEFAULT_PLAN, help=PLAN_HELP)
    p.add_argument("--runs_dir", "--runs-dir", dest="runs_dir", default=None)
    _add_run_name(p, "default", "the run of both models to compare (default: $ECGCORE_RUN_NAME, else default)")


def _add_interpret(sub) -> None:
    p = sub.add_parser("interpret", help="saliency PNGs of the 12 leads for some test records")
    _add_data_args(p)
    _add_run_args(p)
    p.add_argument("--method", default="integrated_gradients", choices=("gradient", "integrated_gradients", "grad_cam"))
    p.add_argument("--ecg_ids", type=int, nargs="*", default=None, help="records to explain (default: sampled)")
    p.add_argument("--n", type=int, default=4, help="records sampled from the fold's test part")
    p.add_argument("--out", default=None, help="folder for the PNGs (default: <run>/saliency)")
    p.add_argument(
        "--summary",
        action="store_true",
        help="per class, over the test records carrying it: lead importance and beat-aligned profile (JSON + PNG)",
    )
    p.add_argument("--classes", nargs="*", default=None, help="with --summary: only these classes")
    p.add_argument("--max_records", type=int, default=None, help="with --summary: the first N test records")


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="probabilities for a folder of records, or for one record file, as CSV")
    model_source = p.add_mutually_exclusive_group(required=True)
    model_source.add_argument("--checkpoint", help="one model: a best.pt")
    model_source.add_argument(
        "--run", help="a fold ensemble: every trained fold of MODEL[:RUN] (mean probability); see --plan, --dataset"
    )
    p.add_argument("--plan", default=DEFAULT_PLAN, help="with --run: the fold plan of the run")
    p.add_argument("--dataset", default=None, help="with --run: the dataset name it was trained on, if several")
    p.add_argument("--runs_dir", "--runs-dir", dest="runs_dir", default=None)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data_root", "--data-root", dest="data_root", help="a PTB-XL-layout folder of records")
    source.add_argument("--input", help="one record: a .csv of 12 leads, or a .hea with its .dat beside it")
    p.add_argument("--out", required=True, help="CSV: ecg_id,<label>,… (folder) or class,probability,… (--input)")
    p.add_argument("--skip_bad", "--skip-bad", dest="skip_bad", action="store_true", help="with --data_root only")
    p.add_argument("--device", default="auto")


def _add_runs(sub) -> None:
    p = sub.add_parser("runs", help="list training runs and their states")
    p.add_argument("--runs_dir", "--runs-dir", dest="runs_dir", default=None)
    _add_run_name(p, None, "list only this run (default: $ECGCORE_RUN_NAME, else every run)")
    p.add_argument(
        "--repair",
        action="store_true",
        help="rebuild each damaged status.json from the run's files (results, last.pt); checkpoints are kept",
    )


def _add_app(sub) -> None:
    p = sub.add_parser(
        "app",
        help="serve the app: streamlit run streamlit_app.py, with torch & co. imported before it listens",
        description="Serve the app: `streamlit run streamlit_app.py` with the pages' heavy modules imported first. "
        "Every other argument goes to streamlit run (see `streamlit run --help`), e.g. --server.port 8501.",
    )
    p.set_defaults(options=[])  # every other argument goes to streamlit run, e.g. --server.port 8501 (see main)


def _add_download(sub) -> None:
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


def _add_sweep(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="tune a model's recipe with Optuna: each trial a named run <model>@<name>-t<k>",
        description="Tune a model's recipe on one fold's validation part (macro PR-AUC) with Optuna; the study "
        "lives beside the runs, so the same command continues it and several commands or workers share it.",
    )
    _add_data_args(p)
    p.add_argument("--model", default="cnn1d", help="model name (see `python -m ecgcore models`)")
    p.add_argument("--name", required=True, help="the sweep's name (letters, digits, - and _)")
    p.add_argument("--trials", type=int, default=20, help="finished (complete or pruned) trials wanted (default 20)")
    p.add_argument(
        "--space",
        action="append",
        default=[],
        help="FIELD=LOW:HIGH[:log] (a range) or FIELD=V1,V2,… (choices) of a recipe field; repeat for more",
    )
    p.add_argument("--epochs", type=int, default=None, help="epochs of each trial (default: the model's recipe)")
    p.add_argument("--fold", type=int, default=0, help="the fold whose validation part scores the trials (default 0)")
    p.add_argument("--plan", default=DEFAULT_PLAN, help=PLAN_HELP)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--workers", type=int, default=1, help="worker processes to start (default 1; 0: only follow)")
    p.add_argument("--pruner", default="median", choices=("median", "hyperband", "none"))
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (each worker adds its index)")
    p.add_argument("--storage", default=None, help="an Optuna RDB URL (default: a journal file beside the runs)")
    p.add_argument("--worker", action="store_true", help="be one worker: run trials until the study has its trials")
    p.add_argument(
        "--promote", action="store_true", help="train the best trial's recipe on every fold × --seeds as <model>@<name>"
    )
    p.add_argument("--seeds", type=int, default=3, help="with --promote: seeds per fold (default 3)")
    p.add_argument(
        "--runs_dir", "--runs-dir", dest="runs_dir", default=None, help="default $ECGCORE_RUNS_DIR or ./checkpoints"
    )


def _add_run_spec(p: argparse.ArgumentParser) -> None:
    """--run MODEL[:RUN] --fold K --plan --runs_dir --device (one trained fold of a run)."""
    p.add_argument("--run", required=True, help="the run group, MODEL[:RUN], e.g. cnn1d or cnn1d:long60")
    p.add_argument("--fold", type=_fold_value, default=None, help="0–4 or all; default $JOB_COMPLETION_INDEX, else all")
    p.add_argument("--plan", default=DEFAULT_PLAN, help=PLAN_HELP)
    p.add_argument("--runs_dir", "--runs-dir", dest="runs_dir", default=None)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def _add_calibrate(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit per-class temperatures on each fold's validation part and store them in its best checkpoint",
    )
    _add_data_args(p)
    _add_run_spec(p)


def _add_similar(sub) -> None:
    p = sub.add_parser("similar", help="the k training-part records nearest to one record in the model's features")
    _add_data_args(p)
    _add_run_spec(p)
    record = p.add_mutually_exclusive_group(required=True)
    record.add_argument("--ecg_id", "--ecg-id", dest="ecg_id", type=int, help="a record of the dataset")
    record.add_argument("--input", help="one record file: a .csv of 12 leads, or a .hea with its .dat beside it")
    p.add_argument("--k", type=int, default=5, help="how many similar records (default 5)")
    p.add_argument("--out", default=None, help="CSV: one row per similar record")
