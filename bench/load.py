"""Load times of a dataset: cold (first load: every record read with wfdb and ecgcore.wfdb_speed —
in-process below 2,000 records, on all cores above — and the cache written), warm (cache
memory-mapped) and the naive way (plain wfdb.rdsamp per record, one core).

    python bench/load.py --data_root ../shared/ptbxl
    python bench/load.py --demo_records 21837          # a generated demo set of full PTB-XL size

Prints one table with the ratios to the naive way. The cache goes to a temporary ECGCORE_CACHE_DIR.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.data import read_database  # noqa: E402
from ecgcore.demo import make_demo_dataset  # noqa: E402
from ecgcore.sources import load_ptbxl


def naive_load(root: Path, sampling_rate: int) -> np.ndarray:
    """Every record with plain wfdb (its own field tables: ecgcore.wfdb_speed undone for this read)."""
    from wfdb.io import _header

    from ecgcore import wfdb_speed

    table = read_database(root, sampling_rate)
    fast = {name: getattr(_header, name) for name in wfdb_speed.TABLES}
    for name, spec in fast.items():
        setattr(_header, name, pd.DataFrame(spec))
    try:
        return np.stack([wfdb.rdsamp(str(root / f))[0].T.astype(np.float32) for f in table["filename"]])
    finally:
        for name, spec in fast.items():
            setattr(_header, name, spec)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_root", default=None)
    p.add_argument("--demo_records", type=int, default=None, help="generate a demo set of this size instead")
    p.add_argument("--sampling_rate", type=int, default=100)
    p.add_argument("--warm_repeats", type=int, default=5)
    p.add_argument("--skip_naive", action="store_true")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="ecgcore-bench-") as tmp:
        os.environ["ECGCORE_CACHE_DIR"] = str(Path(tmp) / "cache")
        if args.demo_records:
            t0 = time.perf_counter()
            root = make_demo_dataset(Path(tmp) / "demo", n_records=args.demo_records, seed=0)
            print(f"# generated {args.demo_records} demo records in {time.perf_counter() - t0:.1f} s")
        else:
            root = Path(args.data_root or "../shared/ptbxl")
        t0 = time.perf_counter()
        ds = load_ptbxl(root, args.sampling_rate)
        cold = time.perf_counter() - t0
        warm_times = []
        for _ in range(args.warm_repeats):
            t0 = time.perf_counter()
            ds = load_ptbxl(root, args.sampling_rate)
            float(ds.signals[-1].sum())  # touch the last record: the data is really there
            warm_times.append(time.perf_counter() - t0)
        warm = float(np.median(warm_times))
        print(
            f"# {ds.description}; signals {ds.signals.shape} {ds.signals.dtype}, {type(ds.signals).__name__}; {os.cpu_count()} cores"
        )
        naive = None
        if not args.skip_naive:
            t0 = time.perf_counter()
            ref = naive_load(root, args.sampling_rate)
            naive = time.perf_counter() - t0
            assert np.array_equal(ref, np.asarray(ds.signals)), "cached signals differ from wfdb.rdsamp"
        print(f"{'way':40s} {'seconds':>9s} {'vs naive':>9s}")
        rows = [
            ("naive: wfdb.rdsamp per record", naive),
            ("cold: read (wfdb_speed) + cache write", cold),
            ("warm: memory-mapped cache (median)", warm),
        ]
        for name, sec in rows:
            if sec is not None:
                ratio = f"{naive / sec:8.1f}x" if naive else "-"
                print(f"{name:40s} {sec:9.3f} {ratio:>9s}")


if __name__ == "__main__":
    main()
