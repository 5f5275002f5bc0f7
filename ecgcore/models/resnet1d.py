"""resnet1d_wang — the 1D ResNet of Wang et al. (2017) as used in the PTB-XL benchmark
(Strodthoff et al. 2020, ``resnet1d_wang``: 0.930 macro ROC-AUC on full PTB-XL, superdiagnostic).

Stem Conv1d(12→128, k7)+BN+ReLU; three basic blocks of 128 channels (k5 then k3; the 2nd and 3rd
with stride 2 and a 1×1 shortcut); concat of global average and max pooling (256); head
BN+Dropout(0.25)+Linear(256→128)+ReLU+BN+Dropout(0.5)+Linear(128→C), as the fastai head of the benchmark.
"""

from __future__ import annotations

import torch
from torch import nn

from ecgcore.models import register_model


class BasicBlock1d(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1, kernel_sizes: tuple[int, int] = (5, 3)):
        super().__init__()
        k1, k2 = kernel_sizes
        self.conv1 = nn.Conv1d(c_in, c_out, k1, stride=stride, padding=k1 // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, k2, padding=k2 // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


@register_model("resnet1d_wang", "PTB-XL benchmark ResNet (Wang et al.), ~0.5 M params")
class ResNet1dWang(nn.Module):
    """1D ResNet (benchmark's resnet1d_wang). x: (batch, 12, T) float32 → logits (batch, C)."""

    cam_has_leads = False

    def __init__(self, n_classes: int = 5, n_leads: int = 12, width: int = 128):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(n_leads, width, 7, padding=3, bias=False), nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.Sequential(
            BasicBlock1d(width, width, 1), BasicBlock1d(width, width, 2), BasicBlock1d(width, width, 2)
        )
        self.cam_layer = self.blocks[-1]
        self.head = nn.Sequential(
            nn.BatchNorm1d(2 * width),
            nn.Dropout(0.25),
            nn.Linear(2 * width, 128),
            nn.ReLU(),
            nn.BatchNorm1d(128),
            nn.Dropout(0.5),
            nn.Linear(128, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        return self.head(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1))
