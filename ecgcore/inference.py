"""Inference (layer 3): device choice and batched prediction with a trained model — no training code.

Used by evaluate, predict, saliency and the app; the trainer imports :func:`pick_device` from here.
"""

from __future__ import annotations

import numpy as np
import torch

from ecgcore.errors import CheckpointError, RunError
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


def predict_logit_array(
    model: torch.nn.Module, signals: np.ndarray, device: str = "auto", batch_size: int = 256
) -> np.ndarray:
    """Logits ``(N, C)`` float32 (before the sigmoid) for ``signals: (N, 12, T)`` float32 mV; the same
    windows as :func:`predict_proba`, whose output is their sigmoid. Temperature scaling fits on these."""
    dev = pick_device(device)
    model = model.to(dev)
    out = [
        predict_logits(model, torch.from_numpy(np.array(signals[i : i + CHUNK], dtype=np.float32)).to(dev), batch_size)
        .cpu()
        .numpy()
        for i in range(0, len(signals), CHUNK)
    ]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def classifier_head(model: torch.nn.Module) -> torch.nn.Module:
    """The module that turns a model's pooled features into logits (``net.head`` of every registered
    model); CheckpointError when the model has none, so it has no features to compare records by."""
    head = getattr(getattr(model, "net", model), "head", None)
    if not isinstance(head, torch.nn.Module):
        raise CheckpointError(
            f"model {type(getattr(model, 'net', model)).__name__} has no classifier head (.head), so it has no "
            "features to find similar records by; use a cnn1d, cnn2d or resnet1d_wang run."
        )
    return head


def predict_features(
    model: torch.nn.Module, signals: np.ndarray, device: str = "auto", batch_size: int = 256
) -> np.ndarray:
    """The model's own representation of each record: the input of its classifier head (the globally
    pooled convolution features), ``(N, D)`` float32 for ``signals: (N, 12, T)`` float32 mV.

    With sliding windows (``model.windows``) the features of the windows are averaged. D is 128 for
    cnn1d, 32 for cnn2d, 256 for resnet1d_wang. Eval mode, no gradients."""
    from ecgcore.windows import window_starts

    dev = pick_device(device)
    model = model.to(dev).eval()
    captured: list[torch.Tensor] = []
    hook = classifier_head(model).register_forward_pre_hook(lambda _m, args: captured.append(args[0].detach()))
    spec = getattr(model, "windows", None)
    out = []
    try:
        with torch.no_grad():
            for i in range(0, len(signals), batch_size):
                x = torch.from_numpy(np.array(signals[i : i + batch_size], dtype=np.float32)).to(dev)
                starts = [0] if spec is None else window_starts(x.shape[-1], spec.window, spec.stride)
                width = x.shape[-1] if spec is None else spec.window
                captured.clear()
                for s in starts:
                    model(x[..., s : s + width])
                out.append(torch.stack(captured).mean(dim=0).cpu().numpy())
    finally:
        hook.remove()
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)
