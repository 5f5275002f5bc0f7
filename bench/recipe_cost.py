"""Training and inference cost per record of two recipes of a model, measured in one run (ratios).

    OMP_NUM_THREADS=1 python bench/recipe_cost.py --data_root ../shared/ptbxl --model cnn1d \\
        --b '{"crop_s": 2.5, "ema_decay": 0.999}' [--a '{}'] [--epochs 3] [--repeats 2]

Recipe A is the model's recipe before the change (SPECS without the options of B), recipe B the one
after. Each is trained for ``--epochs`` epochs on fold 0 (interleaved A, B, A, B … ``--repeats`` times),
timing the training part of each epoch (``train_seconds`` of the trainer's epoch events, first epoch
dropped); inference times ``predict_proba`` over the test part (window aggregation included).
Prints ms per record and the B/A ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.checkpoints import load_checkpoint  # noqa: E402
from ecgcore.folds import get_fold  # noqa: E402
from ecgcore.inference import predict_proba  # noqa: E402
from ecgcore.model_specs import SPECS  # noqa: E402
from ecgcore.recipes import TrainConfig  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402
from ecgcore.train import train_fold  # noqa: E402


def measure(ds, recipe: dict, epochs: int, folder: Path) -> tuple[float, float]:
    """(training ms per record and epoch, inference ms per record) of one recipe on fold 0."""
    seconds: list[float] = []
    cfg = TrainConfig(**{**recipe, "epochs": epochs, "fold": 0, "device": "cpu"})
    train_fold(ds, cfg, folder, [lambda e: seconds.append(e["train_seconds"]) if e["event"] == "epoch_end" else None])
    fold = get_fold(ds.records, ds.labels.any(axis=1), "cv5", 0)
    model, _ = load_checkpoint(folder / "best.pt")
    signals = np.asarray(ds.signals[fold.test], dtype=np.float32)
    t0 = time.perf_counter()
    predict_proba(model, signals, "cpu")
    infer = (time.perf_counter() - t0) / len(fold.test)
    return 1000 * float(np.median(seconds[1:] or seconds)) / len(fold.train), 1000 * infer


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_root", default=None)
    p.add_argument("--model", default="cnn1d")
    p.add_argument("--a", default=None, help="JSON overrides of recipe A (default: SPECS minus B's keys)")
    p.add_argument("--b", default='{"crop_s": 2.5, "ema_decay": 0.999}', help="JSON options of recipe B")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    ds = load_ptbxl(args.data_root)
    b_opts = json.loads(args.b)
    base = {k: v for k, v in SPECS[args.model].default_recipe.items() if k not in b_opts} | {"model": args.model}
    recipes = {"A": base | json.loads(args.a or "{}"), "B": base | b_opts}
    out: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name, recipe in recipes.items():
                out[name].append(measure(ds, recipe, args.epochs, Path(tmp) / f"{name}{r}"))
    print(f"# {ds.description}; {args.model}; A = {json.dumps(recipes['A'])}; B adds {json.dumps(b_opts)}")
    print(f"{'recipe':>6} {'train ms/record/epoch':>22} {'inference ms/record':>20}")
    med = {k: np.median(np.array(v), axis=0) for k, v in out.items()}
    for name in out:
        print(f"{name:>6} {med[name][0]:22.3f} {med[name][1]:20.3f}")
    print(f"{'B / A':>6} {med['B'][0] / med['A'][0]:22.2f} {med['B'][1] / med['A'][1]:20.2f}")


if __name__ == "__main__":
    main()
