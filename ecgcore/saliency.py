"""Saliency maps through captum, always as a (12, T) map aligned with the input leads and time.

Methods (:class:`SaliencyMethod`):

* ``gradient`` — |∂ logit_c / ∂ x| (captum ``Saliency``);
* ``integrated_gradients`` — captum ``IntegratedGradients`` from a flat 0 mV baseline; signed, and its
  sum equals logit_c(x) − logit_c(baseline) up to the integration error (completeness) — per window,
  for a model that aggregates sliding windows (its map is the windows' maps averaged, so the record's
  sum no longer equals the aggregated logit);
* ``grad_cam`` — captum ``LayerGradCam`` on the model's ``cam_layer`` (its last convolution), ReLU'd
  and upsampled to T. A 1D CNN's Grad-CAM has no lead axis: it is time-only and broadcast to all
  12 leads (``SaliencyResult.time_only``). For cnn2d the image-space map is mapped back through the
  transform (image rows follow the leads).

Because every model takes (batch, 12, T) and builds any image inside ``forward``, gradient and
integrated gradients of cnn2d are already with respect to the leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients, LayerGradCam, Saliency

from ecgcore.inference import predict_logits
from ecgcore.thresholds import with_default
from ecgcore.transforms import image_map_to_leads
from ecgcore.windows import windowed_map


class SaliencyMethod(str, Enum):
    gradient = "gradient"
    integrated_gradients = "integrated_gradients"
    grad_cam = "grad_cam"


@dataclass
class SaliencyResult:
    """map: (12, T) float32 raw attribution; time_only: True when the map has no lead axis."""

    map: np.ndarray
    method: str
    target: int
    time_only: bool
    logit: float
    convergence_delta: float | None = None


def saliency_map(
    model: torch.nn.Module,
    signal: np.ndarray,
    target: int,
    method: SaliencyMethod | str = SaliencyMethod.integrated_gradients,
    n_steps: int = 32,
) -> SaliencyResult:
    """Attribution of the logit of class ``target`` to each sample of each lead.

    Args:
        model: an ECGClassifier (raw mV input) in eval mode.
        signal: (12, T) float32, mV.
        target: class index.
        n_steps: integration steps for integrated gradients.

    Returns:
        SaliencyResult with map (12, T). For a model whose recipe aggregates over sliding windows
        (``model.windows``), each window is explained on its own and the maps are averaged where
        windows overlap (:func:`ecgcore.windows.windowed_map`): still one (12, T) map over the whole
        record, and ``logit`` is the window-aggregated logit the prediction uses.
    """
    method = SaliencyMethod(method)
    model.eval()
    device = next(model.parameters()).device
    signal = np.array(signal, dtype=np.float32)  # a copy: memmaps are read-only
    windows = getattr(model, "windows", None)
    with torch.no_grad():
        logit = float(predict_logits(model, torch.from_numpy(signal).to(device)[None])[0, target])
    deltas: list[float] = []
    time_only = False

    def explain(segment: np.ndarray) -> np.ndarray:
        nonlocal time_only
        attr, delta, time_only = _attribute(model, segment, target, method, n_steps, device)
        if delta is not None:
            deltas.append(delta)
        return attr

    attr = windowed_map(explain, signal, windows)
    delta = max(deltas, key=abs) if deltas else None
    return SaliencyResult(attr, method.value, target, time_only, logit, delta)


def _attribute(
    model: torch.nn.Module, signal: np.ndarray, target: int, method: SaliencyMethod, n_steps: int, device
) -> tuple[np.ndarray, float | None, bool]:
    """One captum attribution of ``signal: (12, T)`` → ((12, T) float32 map, IG convergence delta or
    None, whether the map is time-only)."""
    x = torch.tensor(signal, device=device).unsqueeze(0).requires_grad_(True)
    n_leads, T = x.shape[1:]
    delta = None
    time_only = False
    if method is SaliencyMethod.gradient:
        attr = Saliency(model).attribute(x, target=target, abs=True)[0]
    elif method is SaliencyMethod.integrated_gradients:
        attr, d = IntegratedGradients(model).attribute(
            x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps, return_convergence_delta=True
        )
        attr, delta = attr[0], float(d[0])
    else:
        net = model.net if hasattr(model, "net") else model
        cam = LayerGradCam(model, net.cam_layer).attribute(x, target=target, relu_attributions=True)
        if cam.dim() == 3:  # (1, 1, L): a 1D model, time-only
            time_only = True
            attr = F.interpolate(cam, size=T, mode="linear", align_corners=False)[0].expand(n_leads, T)
        else:  # (1, 1, h, w): image space → leads
            attr = image_map_to_leads(cam[:, 0], n_leads, T)[0]
    return attr.detach().cpu().numpy().astype(np.float32), delta, time_only


def default_target(probs: np.ndarray, thresholds: np.ndarray | None = None) -> int:
    """The class explained by default, in the CLI (``interpret``) and the app alike: the most probable
    class among those predicted at the validation thresholds (p ≥ threshold); when none is predicted,
    the most probable class. True labels play no part, so a record is explained the same way whether
    or not its labels are known.

    Args:
        probs: (C,) probabilities in [0, 1]; thresholds: (C,) (e.g. ``thresholds.decision_thresholds``),
            None → 0.5 for all.
    Returns:
        the class index (0 when there are no classes).
    """
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    if probs.size == 0:
        return 0
    thr = with_default(thresholds, probs.size)
    predicted = np.flatnonzero(probs >= thr)
    if predicted.size:
        return int(predicted[np.argmax(probs[predicted])])
    return int(np.argmax(probs))


def display_map(
    raw: np.ndarray, fs: int, smoothing_s: float = 0.0, normalize: str = "record", signed: bool = False
) -> np.ndarray:
    """Turn a raw (12, T) attribution into a (12, T) map for drawing: in [0, 1] (its size), or with
    ``signed`` in [-1, 1] (toward the class > 0, away from it < 0; for signed integrated gradients).

    Args:
        smoothing_s: moving-average window in seconds (0: none).
        normalize: ``record`` (one scale for all leads: leads compare) or ``lead`` (each lead to its
            own maximum: where within each lead).
    """
    m = np.asarray(raw, dtype=np.float64)
    if not signed:
        m = np.abs(m)
    width = int(round(smoothing_s * fs))
    if width > 1:
        kernel = np.ones(width) / width
        m = np.stack([np.convolve(row, kernel, mode="same") for row in m])
    a = np.abs(m)
    scale = a.max(axis=1, keepdims=True) if normalize == "lead" else a.max()
    return (m / np.maximum(scale, 1e-12)).astype(np.float32)
