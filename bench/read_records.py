"""Reading records with and without ecgcore.wfdb_speed, in one run (ratios, not absolute speeds).

    python bench/read_records.py --data_root ../shared/ptbxl [--n 1000] [--repeats 3]

Reads the first ``--n`` records of the folder's 100 Hz list with ``read_all_records`` in this process
(``workers=1``), alternately with wfdb's own field tables (pandas ``.loc`` per field: "plain") and with
the fast tables ecgcore installs ("fast"); checks that both give the same arrays; prints ms per record.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wfdb.io import _header  # noqa: E402

from ecgcore import wfdb_speed  # noqa: E402
from ecgcore.signal_cache import read_all_records  # noqa: E402
from ecgcore.sources import resolve_data_root  # noqa: E402


def read(root: Path, names: list[str]) -> tuple[np.ndarray, float]:
    out = np.zeros((len(names), 12, 1000), np.float32)
    t0 = time.perf_counter()
    read_all_records(root, names, list(range(len(names))), 100, out, workers=1)
    return out, (time.perf_counter() - t0) / len(names) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_root", default=None, help="a PTB-XL folder (default: the demo set)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    root = Path(resolve_data_root(args.data_root)[0])
    names = list(pd.read_csv(root / "ptbxl_database.csv", usecols=["filename_lr"]).filename_lr[: args.n])
    fast_tables = {name: getattr(_header, name) for name in wfdb_speed.TABLES}
    plain_tables = {name: pd.DataFrame(table) for name, table in fast_tables.items()}
    times: dict[str, list[float]] = {"plain": [], "fast": []}
    arrays = {}
    for _ in range(args.repeats):
        for kind, tables in (("plain", plain_tables), ("fast", fast_tables)):
            for name, table in tables.items():
                setattr(_header, name, table)
            arrays[kind], ms = read(root, names)
            times[kind].append(ms)
    assert np.array_equal(arrays["plain"], arrays["fast"]), "the fast tables changed what was read"
    plain, fast = np.median(times["plain"]), np.median(times["fast"])
    print(f"# {len(names):,} records of {root}, 100 Hz, one process, median of {args.repeats}")
    print("| tables | ms per record |\n|---|---:|")
    print(f"| wfdb's own (plain) | {plain:.2f} |\n| ecgcore.wfdb_speed (fast) | {fast:.2f} |")
    print(f"| fast / plain | {fast / plain:.2f} |")


if __name__ == "__main__":
    main()
