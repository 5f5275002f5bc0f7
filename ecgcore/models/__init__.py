"""Model registry: models are created by name, as in timm.

    >>> model = create_model("cnn1d", n_classes=5)

Every model takes raw-layout signals ``x: (batch, 12, T) float32`` (already standardised per lead by
:class:`ecgcore.train.ECGClassifier`) and returns logits ``(batch, n_classes)``. Image models build their
image inside ``forward`` with the parameter-free :func:`ecgcore.transforms.ecg_to_image`, so saliency
is always computed with respect to the 12 leads. Each model names its last convolution ``cam_layer``
(Grad-CAM) and says whether its maps have a lead axis (``cam_has_leads``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import nn

from ecgcore.errors import ModelError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_model(name: str, description: str = "") -> Callable:
    """Class decorator adding a model to the registry under ``name``."""

    def add(cls: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = cls
        _DESCRIPTIONS[name] = description or (cls.__doc__ or "").strip().splitlines()[0]
        return cls

    return add


def list_models() -> dict[str, str]:
    """Registered model names and one-line descriptions."""
    return dict(_DESCRIPTIONS)


def create_model(name: str, n_classes: int = 5, sampling_rate: int = 100, **config) -> nn.Module:
    """Build the model ``name`` with ``n_classes`` outputs for records at ``sampling_rate`` Hz (given to
    a model whose constructor takes it, e.g. cnn2d's spectrogram); ``config`` are the model's own options."""
    if name not in _REGISTRY:
        raise ModelError(f"unknown model {name!r}; choose one of {', '.join(sorted(_REGISTRY))}")
    if "sampling_rate" in inspect.signature(_REGISTRY[name]).parameters:
        config = {**config, "sampling_rate": sampling_rate}
    try:
        return _REGISTRY[name](n_classes=n_classes, **config)
    except TypeError as e:
        raise ModelError(f"bad options for model {name!r}: {e}") from e


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class ECGClassifier(nn.Module):
    """A registry model behind per-lead standardisation: the model ready for inference.

    x: (batch, 12, T) float32 in mV → logits (batch, C). ``mean``/``std`` (12,) come from the
    training part of the fold and travel in the checkpoint.

    ``windows`` (an :class:`ecgcore.windows.WindowSpec` or None) is how the model is meant to be
    applied to a whole record: set from the training recipe when the model is built or loaded, and
    read by :mod:`ecgcore.inference` and :mod:`ecgcore.saliency`, so every caller (evaluate, predict,
    saliency, the app) aggregates over the same windows. ``forward`` itself always sees what it is given.
    """

    def __init__(self, net: nn.Module, mean: torch.Tensor, std: torch.Tensor, windows=None):
        super().__init__()
        self.net = net
        self.windows = windows
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


from ecgcore.models import cnn1d, cnn2d, resnet1d  # noqa: E402,F401  (register the models)
