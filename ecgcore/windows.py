"""Crops for training and sliding windows for inference: the PTB-XL benchmark's own technique.

Strodthoff et al. (2020) train on random 2.5 s crops of each 10 s record and, at test time, aggregate
the predictions over sliding windows (the maximum over windows for their models). Our models pool
globally, so they accept any length and use windows unchanged.

One implementation, used by training (random crops, windowed validation), evaluation, prediction and
saliency (a map over the whole record, averaged over the windows that cover each sample):

    spec = WindowSpec.from_config(meta["config"], fs=100)      # None: whole records
    logits = windowed_logits(model, x, spec)                    # x: (N, 12, T) → (N, C)
    sal = windowed_map(lambda seg: saliency(seg), x_one, spec)  # (12, T) → (12, T)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ecgcore.recipes import BY_NAME


@dataclass(frozen=True)
class WindowSpec:
    """Sliding windows over a record, in samples: ``window`` long, every ``stride``, aggregated by
    ``agg`` ("max": the largest logit of any window; "mean": the logit of the mean probability)."""

    window: int
    stride: int
    agg: str = "max"

    def __post_init__(self) -> None:
        if self.window < 1 or self.stride < 1:
            raise ValueError(f"window and stride must be ≥ 1 sample, got {self.window} and {self.stride}")
        if self.agg not in BY_NAME["window_agg"].choices:
            raise ValueError(f"window aggregation must be one of {BY_NAME['window_agg'].choices}, not {self.agg!r}")

    @classmethod
    def from_config(cls, config: dict | None, fs: int) -> WindowSpec | None:
        """The spec a training recipe asks for (``window_s``, ``stride_s``, ``window_agg``), or None when
        the recipe uses whole records (every checkpoint written before windows existed)."""
        config = config or {}
        if not config.get("window_s"):
            return None
        window = int(round(float(config["window_s"]) * fs))
        stride = int(round(float(config.get("stride_s") or config["window_s"] / 2) * fs))
        return cls(window, max(1, stride), str(config.get("window_agg") or "max"))


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start samples of windows of ``window`` samples every ``stride`` over ``length`` samples; the last
    window always ends at the record's end, so every sample is covered. A record shorter than the
    window gives one start, 0 (the model sees the whole record)."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


def random_crops(x: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """One random crop of ``length`` samples per record: ``x: (B, 12, T)`` → ``(B, 12, length)``.

    The offsets come from ``generator`` (seeded per epoch by the trainer, so a resumed run matches)."""
    batch, leads, T = x.shape
    if length >= T:
        return x
    start = torch.randint(0, T - length + 1, (batch, 1, 1), generator=generator, device=generator.device)
    idx = start + torch.arange(length, device=x.device).view(1, 1, length)
    return torch.gather(x, 2, idx.expand(batch, leads, length))


def windowed_logits(
    model: torch.nn.Module, x: torch.Tensor, spec: WindowSpec | None, batch_size: int = 256
) -> torch.Tensor:
    """Logits ``(N, C)`` of ``x: (N, 12, T)`` (float32, mV, on the model's device), aggregated over the
    windows of ``spec`` (None: the whole record at once). Eval mode, no gradients."""
    model.eval()
    with torch.no_grad():
        if spec is None:
            out = [model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
            return torch.cat(out) if out else torch.zeros(0)
        starts = window_starts(x.shape[-1], spec.window, spec.stride)
        per_window = torch.stack(
            [windowed_logits(model, x[..., s : s + spec.window], None, batch_size) for s in starts]
        )  # (W, N, C)
        if spec.agg == "max":
            return per_window.max(dim=0).values
        p = torch.sigmoid(per_window).mean(dim=0).clamp(1e-7, 1 - 1e-7)
        return torch.log(p) - torch.log1p(-p)


def windowed_map(
    explain: Callable[[np.ndarray], np.ndarray], signal: np.ndarray, spec: WindowSpec | None
) -> np.ndarray:
    """A ``(12, T)`` attribution map over the whole record from ``explain(segment) -> (12, len(segment))``
    run on each window of ``spec`` and averaged where windows overlap (None: one call on the record).

    Averaging (not stitching) keeps every sample's value comparable across the record: a sample covered
    by two windows gets the mean of its two attributions."""
    signal = np.asarray(signal, dtype=np.float32)
    if spec is None:
        return np.asarray(explain(signal), dtype=np.float32)
    total = np.zeros(signal.shape, np.float64)
    count = np.zeros(signal.shape[-1], np.float64)
    for s in window_starts(signal.shape[-1], spec.window, spec.stride):
        seg = signal[:, s : s + spec.window]
        total[:, s : s + seg.shape[-1]] += explain(seg)
        count[s : s + seg.shape[-1]] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


def n_windows(length: int, spec: WindowSpec | None) -> int:
    """How many model calls one record costs at inference (1 without windows)."""
    return 1 if spec is None else len(window_starts(length, spec.window, spec.stride))


def crop_samples(config: dict | None, fs: int) -> int | None:
    """The training crop length in samples from a recipe's ``crop_s`` (None: whole records)."""
    crop_s = (config or {}).get("crop_s")
    return None if not crop_s else max(1, int(math.floor(float(crop_s) * fs)))
