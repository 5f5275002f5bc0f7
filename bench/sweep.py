"""Run several cross-validation recipes one after another (e.g. on a GPU machine) and print one
summary table; each recipe's full results go to <out>/<tag>.json as bench/cv.py writes them.

    python bench/sweep.py --data_root ../shared/ptbxl --configs bench/sweeps/recipes.json --out bench/results

A config is {"tag", "model", "plan"?, "seeds"?, "ensemble"?, "recipe": {TrainConfig fields}}.
``--budget_s`` stops starting new recipes after that many seconds (results so far are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv import HEADER, cross_validate  # noqa: E402

from ecgcore.folds import n_folds  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_root", default=None)
    p.add_argument("--configs", required=True)
    p.add_argument("--out", default="bench/results")
    p.add_argument("--only", nargs="*", default=None, help="run only these tags")
    p.add_argument("--budget_s", type=float, default=None)
    p.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs (smoke tests)")
    p.add_argument("--folds", type=int, nargs="*", default=None, help="override the folds (smoke tests)")
    args = p.parse_args()

    ds = load_ptbxl(args.data_root)
    configs = json.loads(Path(args.configs).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    table = []
    print(f"# {ds.description}")
    for c in configs:
        if args.only and c["tag"] not in args.only:
            continue
        if args.budget_s and time.perf_counter() - t_start > args.budget_s:
            print(f"# budget spent: skipping {c['tag']}")
            continue
        plan = c.get("plan", "cv5")
        recipe = {"model": c["model"], **c.get("recipe", {})}
        if args.epochs:
            recipe["epochs"] = args.epochs
        folds = args.folds if args.folds is not None else list(range(n_folds(plan)))
        print(
            f"\n## {c['tag']}  {json.dumps(recipe)}  seeds {c.get('seeds', [0])}{' ensemble' if c.get('ensemble') else ''}"
        )
        print(HEADER, flush=True)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
            result = cross_validate(
                ds,
                recipe,
                plan,
                folds,
                c.get("seeds", [0]),
                c.get("ensemble", False),
                Path(tmp),
                log=lambda s: print(s, flush=True),
            )
        s = result["summary"]
        record = {
            "tag": c["tag"],
            "dataset": ds.description,
            "n_records": len(ds.records),
            "plan": plan,
            "recipe": recipe,
            "seeds": c.get("seeds", [0]),
            "ensemble": c.get("ensemble", False),
            "seconds": time.perf_counter() - t0,
            **result,
        }
        (out / f"{c['tag']}.json").write_text(json.dumps(record, indent=1))
        table.append((c["tag"], plan, s, record["seconds"]))
        print("mean " + " ".join(f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in s.items()), flush=True)

    print(f"\n{'tag':28s} {'plan':9s} {'macro PR-AUC':>16s} {'macro ROC-AUC':>16s} {'F1 macro':>16s} {'time s':>7s}")
    for tag, plan, s, sec in table:
        cells = [
            f"{s[k]['mean']:.4f} ± {s[k]['std']:.4f}" if k in s else "-"
            for k in ("macro_pr_auc", "macro_roc_auc", "f1_macro")
        ]
        print(f"{tag:28s} {plan:9s} " + " ".join(f"{c:>16s}" for c in cells) + f" {sec:7.0f}")


if __name__ == "__main__":
    main()
