"""Sanity check of similar cases (not a claim): per fold, how often the nearest training-part record of a
test record carries the same superclasses.

    OMP_NUM_THREADS=1 python bench/similar_agreement.py --data_root /work/shared/ptbxl --runs_dir /tmp/ecg-runs

For each evaluated fold of ``--run`` (default cnn1d): test records, the fraction whose nearest neighbour
has exactly the same label set, the fraction sharing at least one label, and the exact-match fraction a
random training record would give (:func:`ecgcore.similar.label_agreement`). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.folds import DEFAULT_PLAN, n_folds  # noqa: E402
from ecgcore.run_paths import RunPaths, parse_group_spec  # noqa: E402
from ecgcore.similar import label_agreement  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_root", required=True)
    parser.add_argument("--runs_dir", required=True)
    parser.add_argument("--run", default="cnn1d")
    args = parser.parse_args()
    ds = load_ptbxl(args.data_root)
    model, name = parse_group_spec(args.run)
    print(ds.description + "\n")
    print("| fold | test records | nearest has the same superclasses | shares ≥ 1 | same, random training record |")
    print("|---|---|---|---|---|")
    for k in range(n_folds(DEFAULT_PLAN)):
        folder = RunPaths.of(ds.name, ds.label_set, model, k, DEFAULT_PLAN, Path(args.runs_dir), name).folder
        if not RunPaths(folder).best.is_file():
            continue
        a = label_agreement(ds, folder, "cpu")
        print(f"| {k} | {a['n']} | {a['exact']:.3f} | {a['shared']:.3f} | {a['chance_exact']:.3f} |")


if __name__ == "__main__":
    main()
