"""Similar cases: seconds to build a run's index and milliseconds per query, at PTB-XL's full size.

    OMP_NUM_THREADS=2 python bench/similar.py                   # 21,837 demo records, 50 queries
    python bench/similar.py --n_records 2000 --queries 20       # a quick look

Writes a synthetic demo set of ``--n_records`` (ecgcore.demo.make_demo_dataset, 100 Hz) into
``--workdir`` (kept, reused when it is there), trains cnn1d for one epoch on fold 0 (the weights do not
change the cost), then times: the index build (features of the fold's training part, cached beside the
run), one :func:`ecgcore.similar.similar_cases` call end to end with the cached index (checkpoint and
index read, one forward pass, the neighbour search, the table), and the bare neighbour search
(:meth:`SimilarIndex.query`). Prints a markdown table. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.demo import make_demo_dataset  # noqa: E402
from ecgcore.inference import predict_features  # noqa: E402
from ecgcore.recipes import TrainConfig  # noqa: E402
from ecgcore.run_paths import RunPaths  # noqa: E402
from ecgcore.service import run_fold  # noqa: E402
from ecgcore.similar import _load_run, index_path, load_index, similar_cases  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402


def timed(f, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = f(*args, **kwargs)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n_records", type=int, default=21_837)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--workdir", default="/tmp/ecgcore-bench-similar")
    args = parser.parse_args()
    work = Path(args.workdir)
    os.environ.setdefault("ECGCORE_CACHE_DIR", str(work / "cache"))
    data = work / f"demo{args.n_records}"
    setup = {}
    if not (data / "ptbxl_database.csv").is_file():
        setup["write demo set"], _ = timed(make_demo_dataset, data, n_records=args.n_records, seed=0)
    setup["load (signal cache)"], ds = timed(load_ptbxl, data)
    run = RunPaths.of(ds.name, ds.label_set, "cnn1d", 0, root=work / "runs").folder
    if not (run / RunPaths.BEST).is_file():
        setup["train 1 epoch"], _ = timed(
            run_fold, ds, TrainConfig(model="cnn1d", epochs=1), run, n_bootstrap=0, pump=False
        )
    index_path(run).unlink(missing_ok=True)
    model, meta = _load_run(ds, run)
    build, index = timed(load_index, run, model, meta, ds, "cpu")
    rng = np.random.default_rng(0)
    rows = rng.choice(len(ds.records), args.queries, replace=False)
    ids = ds.records["ecg_id"].to_numpy()[rows]
    ends = [timed(similar_cases, ds, run, ecg_id=int(i), k=args.k, device="cpu")[0] for i in ids]
    features = predict_features(model, ds.signals[rows], "cpu")
    bare = [timed(index.query, features[j : j + 1], args.k, [int(ids[j])])[0] for j in range(len(rows))]
    print(f"{ds.description}; index: {len(index.ecg_ids):,} training-part records × {index.features.shape[1]} features")
    print(
        f"torch threads {__import__('torch').get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}\n"
    )
    print("| step | time |\n|---|---|")
    for name, seconds in setup.items():
        print(f"| {name} (setup) | {seconds:.1f} s |")
    print(f"| build the index (features of the training part, written to similar/index.npz) | {build:.1f} s |")
    for name, values in (("similar_cases, cached index (end to end)", ends), ("SimilarIndex.query only", bare)):
        ms = np.array(values) * 1000
        print(
            f"| {name}: median / 95th pct / max of {len(ms)} | {np.median(ms):.1f} / {np.percentile(ms, 95):.1f} / {ms.max():.1f} ms |"
        )


if __name__ == "__main__":
    main()
