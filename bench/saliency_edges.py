"""Where in time do saliency maps put their weight? Reproduces "the map went blank after ~9 s".

For each method, the share of the raw |map| (and of the displayed map) falling in each second of the
record, averaged over test records, and the share of records whose last-second display map is < 5 %
of its maximum ("blank"). Prints one table per checkpoint.

    python bench/saliency_edges.py --data_root /tmp/demo300 --checkpoint /tmp/runs/.../best.pt [--n 20]
"""

from __future__ import annotations

import argparse

import numpy as np

from ecgcore.checkpoints import load_checkpoint
from ecgcore.saliency import SaliencyMethod, display_map, saliency_map
from ecgcore.sources import load_ptbxl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data_root", required=True)
    ap.add_argument("--checkpoint", required=True, nargs="+")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--smoothing_s", type=float, default=0.04)
    a = ap.parse_args()
    ds = load_ptbxl(a.data_root)
    fs = ds.sampling_rate
    for ckpt in a.checkpoint:
        model, meta = load_checkpoint(ckpt)
        print(f"\n{meta.get('model')}  ({ckpt})  fs={fs} Hz, {a.n} records, target = top class")
        print(f"{'method':22s} {'map':8s} " + " ".join(f"{s:>5d}s" for s in range(10)) + "  blank-last-1s")
        for method in SaliencyMethod:
            raw_sh, disp_sh, blank = [], [], 0
            for i in range(a.n):
                sig = np.asarray(ds.signals[i])
                import torch

                with torch.no_grad():
                    target = int(model(torch.tensor(sig[None])).argmax())
                r = saliency_map(model, sig, target, method)
                d = display_map(r.map, fs, a.smoothing_s)
                for m, out in ((np.abs(r.map), raw_sh), (d, disp_sh)):
                    per_s = m.reshape(12, 10, -1).sum(axis=(0, 2))
                    out.append(per_s / max(per_s.sum(), 1e-12))
                blank += bool(d[:, -fs:].max() < 0.05 * max(d.max(), 1e-12))
            for name, sh in (("raw", raw_sh), ("display", disp_sh)):
                row = np.mean(sh, axis=0)
                tail = f"  {blank}/{a.n}" if name == "display" else ""
                print(f"{method.value:22s} {name:8s} " + " ".join(f"{100 * v:5.1f}%" for v in row) + tail)


if __name__ == "__main__":
    main()
