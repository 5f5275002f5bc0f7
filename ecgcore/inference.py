"""Inference (layer 3): device choice and batched prediction with a trained model — no training code.

Used by evaluate, predict, saliency and the app; the trainer imports :func:`pick_device` from here.
"""

from __future__ import annotations

import numpy as np
import torch

from ecgcore.errors import RunError
from ecgcore.windows import windowed_logits

CHUNK = 4096  # records copied out of a (memory-mapped) array at a time: bounded memory


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cpu``, ``cuda`` or ``cuda:N`` as given.

    Raises RunError for a CUDA device when no GPU is present, or for an unknown device name."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise RunError(f"--device {device!r} is not a device; use auto, cpu or cuda.") from None
    if dev.type not in ("cpu", "cuda"):
        raise RunError(f"--device {device!r} is not supported; use auto, cpu or cuda.")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RunError("--device cuda was asked for, but no CUDA GPU is available; use --device auto or cpu.")
    return dev


def predict_logits(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Logits (N, C) of signals ``x: (N, 12, T)`` float32 mV, on the model's device, in eval mode,
    aggregated over the model's sliding windows when its recipe has them (``model.windows``)."""
    return windowed_logits(model, x, getattr(model, "windows", None), batch_size)


def predict_proba(
    model: torch.nn.Module, signals: np.ndarray, device: str = "auto", batch_size: int = 256
) -> np.ndarray:
    """Probabilities ``(N, C)`` in [0, 1] for ``signals: (N, 12, T)`` float32 mV (memory-mapped is fine)."""
    dev = pick_device(device)
    model = model.to(dev)
    out = []
    for i in range(0, len(signals), CHUNK):
        x = torch.from_numpy(np.array(signals[i : i + CHUNK], dtype=np.float32)).to(
            dev
        )  # a copy: memmaps are read-only
        out.append(torch.sigmoid(predict_logits(model, x, batch_size)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
