"""Full cross-validation of one model and recipe: trains every fold (optionally several seeds),
evaluates the test parts (thresholds from validation), prints a per-fold table with mean ± std and
writes the results JSON.

    python bench/cv.py --data_root ../shared/ptbxl --model cnn1d                 # the default recipe
    python bench/cv.py --data_root ../shared/ptbxl --model cnn1d --crop_s 0 --ema_decay 0   # … with crops and EMA off
    python bench/cv.py --data_root ../shared/ptbxl --model cnn1d --plain         # the issue's plain reference
    python bench/cv.py --data_root ../shared/ptbxl --model resnet1d_wang --seeds 0 1 2 --ensemble
    python bench/cv.py --plan benchmark …                                        # = bench/benchmark_split.py

With several seeds, each fold's figure is the mean over seeds (``--ensemble``: the seeds' averaged
probabilities are scored instead). Runs go under ``--runs_dir`` (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.checkpoints import load_checkpoint  # noqa: E402
from ecgcore.folds import get_fold, n_folds  # noqa: E402
from ecgcore.inference import predict_proba  # noqa: E402
from ecgcore.metrics import MACRO_METRICS, evaluate_predictions, summarize_folds  # noqa: E402
from ecgcore.model_specs import SPECS  # noqa: E402
from ecgcore.recipes import TrainConfig  # noqa: E402
from ecgcore.service import run_fold  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402
from ecgcore.thresholds import choose_thresholds
from ecgcore.train import with_overrides  # noqa: E402


def recipe_from_args(args) -> dict:
    """The model's default recipe (``--plain``: TrainConfig's plain defaults) with the fields given
    on the command line."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {key: value for key, value in vars(args).items() if key in fields}
    recipe = with_overrides(
        {} if args.plain else (SPECS[args.model].default_recipe if args.model in SPECS else {}), given
    )  # as train does
    if args.image:
        recipe["model_config"] = {"image": args.image}
    if args.width:
        recipe["model_config"] = {"width": args.width}
    return recipe


def cross_validate(
    ds, recipe: dict, plan: str, folds: list[int], seeds: list[int], ensemble: bool, runs_dir: Path, log=print
) -> dict:
    """Train and score every (fold, seed); returns per-fold metrics and their summary."""
    per_fold = []
    for k in folds:
        fold = get_fold(ds.records, ds.labels.any(axis=1), plan, k)
        y_val, y_test = ds.labels[fold.val], ds.labels[fold.test]
        val_probs, test_probs, scores = [], [], []
        t0 = time.perf_counter()
        for seed in seeds:
            cfg = TrainConfig(**{**recipe, "plan": plan, "fold": k, "seed": seed})
            path = runs_dir / f"seed{seed}" / f"fold{k}"
            run_fold(ds, cfg, path, overwrite=True, evaluate=False, pump=False)  # scored below, seeds together
            model, _ = load_checkpoint(path / "best.pt")
            pv, pt = (
                predict_proba(model, ds.signals[fold.val], cfg.device),
                predict_proba(model, ds.signals[fold.test], cfg.device),
            )
            val_probs.append(pv)
            test_probs.append(pt)
            scores.append(evaluate_predictions(y_test, pt, ds.label_names, choose_thresholds(y_val, pv), n_bootstrap=0))
        if ensemble:
            pv, pt = np.mean(val_probs, axis=0), np.mean(test_probs, axis=0)
            row = evaluate_predictions(y_test, pt, ds.label_names, choose_thresholds(y_val, pv), n_bootstrap=0)
            row = {m: row[m] for m in MACRO_METRICS}
        else:
            row = {m: float(np.mean([s[m] for s in scores])) for m in MACRO_METRICS}
        row |= {
            "fold": k,
            "seeds": seeds,
            "seconds": time.perf_counter() - t0,
            "seed_macro_pr_auc": [s["macro_pr_auc"] for s in scores],
            "n_test": len(fold.test),
        }
        per_fold.append(row)
        log(format_row(row))
    return {"per_fold": per_fold, "summary": summarize_folds(per_fold)}


HEADER = f"{'fold':>4} {'macro PR-AUC':>12} {'micro PR-AUC':>12} {'macro ROC-AUC':>13} {'F1 macro':>9} {'F1 micro':>9} {'n test':>7} {'time s':>7}"


def format_row(r: dict) -> str:
    return (
        f"{r['fold']:>4} {r['macro_pr_auc']:12.4f} {r['micro_pr_auc']:12.4f} {r['macro_roc_auc']:13.4f} "
        f"{r['f1_macro']:9.4f} {r['f1_micro']:9.4f} {r['n_test']:7d} {r['seconds']:7.1f}"
    )


def main(argv: list[str] | None = None, default_plan: str = "cv5") -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_root", default=None, help="PTB-XL folder (default: demo data)")
    p.add_argument("--model", default="cnn1d")
    p.add_argument("--plan", default=default_plan)
    p.add_argument("--folds", type=int, nargs="*", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--ensemble", action="store_true", help="score the seeds' averaged probabilities")
    p.add_argument(
        "--plain", action="store_true", help="the plain recipe: Adam 1e-3 constant, no augmentation, 10 epochs"
    )
    p.add_argument("--runs_dir", default=None)
    p.add_argument("--out", default=None, help="results JSON (default: bench/results/<tag>.json)")
    p.add_argument("--tag", default=None)
    p.add_argument("--image", default=None, help="cnn2d image representation")
    p.add_argument("--width", type=int, default=None, help="resnet width")
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("model", "plan", "fold", "seed", "model_config", "log_every"):
            continue
        kind = {
            "int": int,
            "float": float,
            "str": str,
            "bool": lambda s: s.lower() in ("1", "true", "yes"),
            "int | None": int,
            "float | None": float,
        }.get(str(f.type), str)
        p.add_argument(f"--{f.name}", type=kind, default=None)
    args = p.parse_args(argv)

    ds = load_ptbxl(args.data_root)
    recipe = recipe_from_args(args)
    folds = args.folds if args.folds is not None else list(range(n_folds(args.plan)))
    tag = args.tag or f"{args.model}-{args.plan}"
    print(f"# {tag}: {ds.description}")
    print(f"# recipe: {json.dumps(recipe)}  seeds {args.seeds}{' (ensemble)' if args.ensemble else ''}")
    print(HEADER)
    with tempfile.TemporaryDirectory(prefix="ecgcore-cv-") as tmp:
        runs = Path(args.runs_dir) if args.runs_dir else Path(tmp)
        result = cross_validate(ds, recipe, args.plan, folds, args.seeds, args.ensemble, runs / tag)
    s = result["summary"]
    print("mean " + " ".join(f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in s.items()))
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / f"{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "tag": tag,
        "dataset": ds.description,
        "n_records": len(ds.records),
        "plan": args.plan,
        "recipe": recipe,
        "seeds": args.seeds,
        "ensemble": args.ensemble,
        "device": TrainConfig(**recipe).device,
        **result,
    }
    out.write_text(json.dumps(record, indent=1))
    print(f"# written {out}")
    return record


if __name__ == "__main__":
    main()
