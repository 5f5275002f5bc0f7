"""Cost of the class summary (ecgcore.class_summary) on one run's test part, and how it grows.

    python -m ecgcore train --data_root ../shared/ptbxl --model cnn1d --fold 0 --epochs 1 --runs_dir /tmp/runsG
    python bench/class_summary.py --data_root ../shared/ptbxl --run /tmp/runsG/<dataset>/superclass/cnn1d/fold0

For each number of test records (the first N of the fold's test part; each attributed for every class
it carries) it times the whole summary (all classes: attribution + R-peaks + averaging), and prints a
table: records, attributions (record × class), wall seconds, CPU seconds of this process (user + system:
what it costs on an idle core when other processes share the machine), ms of CPU per attribution. Nothing is written to
the run folder (class_summary, not write_class_summary). Set OMP_NUM_THREADS to the threads to use.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from ecgcore.class_summary import N_STEPS, class_summary  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_root", default=None)
    p.add_argument("--run", required=True, help="run folder of one fold (best.pt)")
    p.add_argument("--method", default="integrated_gradients")
    p.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 350])
    p.add_argument("--n_steps", type=int, default=N_STEPS)
    args = p.parse_args()
    ds = load_ptbxl(args.data_root)
    print(
        f"dataset {ds.description}; method {args.method}, n_steps {args.n_steps}, torch threads {torch.get_num_threads()}"
    )
    print(f"{'records':>8} {'attributions':>13} {'wall s':>8} {'CPU s':>8} {'CPU ms/attr':>12}")
    for n in args.sizes:
        t0, c0 = time.perf_counter(), time.process_time()
        out = class_summary(ds, args.run, args.method, max_records=n, n_steps=args.n_steps)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        n_attr = sum(c["n_records"] for c in out["classes"].values())
        print(f"{n:>8} {n_attr:>13} {seconds:>8.1f} {cpu:>8.1f} {1000 * cpu / max(n_attr, 1):>12.1f}", flush=True)


if __name__ == "__main__":
    main()
