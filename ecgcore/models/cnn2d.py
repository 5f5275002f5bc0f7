"""cnn2d — the original project's small 2D CNN on a 64 × 256 image of the ECG (6,613 parameters)."""

from __future__ import annotations

import torch
from torch import nn

from ecgcore.models import register_model
from ecgcore.transforms import DEFAULT_IMAGE, ecg_to_image


def conv_bn_relu_2d(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding="same"), nn.BatchNorm2d(c_out), nn.ReLU()]


@register_model("cnn2d", "reference 2D CNN on a 64×256 ECG image (6,613 params)")
class CNN2D(nn.Module):
    """ECG → (1, 64, 256) image (parameter-free, :func:`ecgcore.transforms.ecg_to_image`) →
    Conv2d(1→8)+BN+ReLU+MaxPool2 → Conv2d(8→16)+BN+ReLU+MaxPool2 → Conv2d(16→32)+BN+ReLU (3×3, same)
    → global average pool → Linear(32→16)+ReLU+Dropout(0.3) → Linear(16→C).

    x: (batch, 12, T) float32 → logits (batch, C); :meth:`forward_image` takes (batch, 1, 64, 256).
    """

    cam_has_leads = True  # image rows follow the leads (see ecgcore.transforms)

    def __init__(self, n_classes: int = 5, image: str = DEFAULT_IMAGE, dropout: float = 0.3, sampling_rate: int = 100):
        super().__init__()
        self.image = image
        self.sampling_rate = sampling_rate  # Hz of the records it reads (the spectrogram depends on it)
        self.features = nn.Sequential(
            *conv_bn_relu_2d(1, 8),
            nn.MaxPool2d(2),
            *conv_bn_relu_2d(8, 16),
            nn.MaxPool2d(2),
            *conv_bn_relu_2d(16, 32),
        )
        self.cam_layer = self.features[-3]
        self.head = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, n_classes))

    def forward_image(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(image).mean(dim=(-2, -1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_image(ecg_to_image(x, self.image, self.sampling_rate))
