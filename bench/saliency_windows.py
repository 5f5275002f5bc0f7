"""What window aggregation costs the Saliency page: one record's map, whole record vs sliding windows.

    OMP_NUM_THREADS=2 python bench/saliency_windows.py [--data_root ../shared/ptbxl] [--repeats 5]

For each model (untrained weights: the cost of an attribution does not depend on them) and each
method, the median seconds of :func:`ecgcore.saliency.saliency_map` on one 10 s record at 100 Hz, once
with the model applied to the whole record and once with the windows a recipe can ask for
(2.5 s every 1.25 s: 7 windows, maps averaged), measured in one run; prints the times and the ratio.
The Saliency page's goal is ≤ 2 s for a drawn map (the page caches maps per record, run and class).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.models import ECGClassifier, create_model  # noqa: E402
from ecgcore.saliency import SaliencyMethod, saliency_map  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402
from ecgcore.windows import WindowSpec, n_windows  # noqa: E402

WINDOWS = WindowSpec(window=250, stride=125, agg="mean")  # 2.5 s every 1.25 s at 100 Hz


def seconds(model, signal, method: SaliencyMethod, repeats: int) -> float:
    saliency_map(model, signal, 0, method)  # warm-up: first-call allocations
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        saliency_map(model, signal, 0, method)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_root", default=None)
    p.add_argument("--models", nargs="+", default=["cnn1d", "cnn2d", "resnet1d_wang"])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    ds = load_ptbxl(args.data_root)
    signal = ds.signals[0]
    torch.manual_seed(0)
    print(f"# one record of {ds.description}; {torch.get_num_threads()} torch threads; median of {args.repeats}")
    print(f"# windows: {WINDOWS.window} samples every {WINDOWS.stride} = {n_windows(signal.shape[-1], WINDOWS)} calls")
    print("| model | method | whole record s | windows s | windows / whole |\n|---|---|---:|---:|---:|")
    for name in args.models:
        net = create_model(name, n_classes=len(ds.label_names))
        model = ECGClassifier(net, torch.zeros(12), torch.ones(12)).eval()
        for method in SaliencyMethod:
            model.windows = None
            whole = seconds(model, signal, method, args.repeats)
            model.windows = WINDOWS
            windowed = seconds(model, signal, method, args.repeats)
            print(f"| {name} | {method.value} | {whole:.3f} | {windowed:.3f} | {windowed / whole:.2f} |", flush=True)


if __name__ == "__main__":
    main()
