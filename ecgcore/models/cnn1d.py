"""cnn1d — the original project's 1D CNN on raw 12 × 1000 signals (46,757 parameters with 5 classes)."""

from __future__ import annotations

import torch
from torch import nn

from ecgcore.models import register_model


def conv_bn_relu_1d(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    return [nn.Conv1d(c_in, c_out, k, padding="same"), nn.BatchNorm1d(c_out), nn.ReLU()]


@register_model("cnn1d", "reference 1D CNN, 3 conv blocks (46,757 params)")
class CNN1D(nn.Module):
    """Conv1d(12→32,k7)+BN+ReLU+MaxPool2 → Conv1d(32→64,k5)+BN+ReLU+MaxPool2 → Conv1d(64→128,k3)+BN+ReLU
    → global average pool → Linear(128→64)+ReLU+Dropout(0.3) → Linear(64→C).

    x: (batch, 12, T) float32 → logits (batch, C).
    """

    cam_has_leads = False  # Grad-CAM maps of a 1D CNN are time-only

    def __init__(self, n_classes: int = 5, n_leads: int = 12, dropout: float = 0.3):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn_relu_1d(n_leads, 32, 7),
            nn.MaxPool1d(2),
            *conv_bn_relu_1d(32, 64, 5),
            nn.MaxPool1d(2),
            *conv_bn_relu_1d(64, 128, 3),
        )
        self.cam_layer = self.features[-3]  # the last convolution
        self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=-1))
