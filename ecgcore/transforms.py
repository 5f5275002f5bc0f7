"""ECG → image transforms and label-preserving augmentations, vectorised over a batch (no per-sample loops).

Image representations (``ecg_to_image(x, representation)`` → (batch, 1, 64, 256)):

* ``stacked`` (default): the 12 standardised leads as 12 rows of an image, resized to 64 × 256 with
  antialiased bilinear interpolation (rows 5.3 per lead, 1 column ≈ 39 ms at 10 s). It keeps
  amplitude (needed for HYP) and time, so a saliency map on the image maps straight back onto the
  leads. It is what the original project used; ``bench/cv.py`` compares it with the others.
* ``spectrogram``: per lead, the log-magnitude short-time Fourier transform (0.64 s Hann window,
  0–25 Hz) as a band of rows, lead bands stacked in lead order, resized to 64 × 256. Rhythm and QRS
  width show as frequency content; amplitude is compressed by the log.

Both keep the lead order top to bottom, so :func:`image_map_to_leads` maps an image-space map
(e.g. Grad-CAM) back to (12, T).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IMAGE_SIZE = (64, 256)  # (height, width) of the cnn2d input
IMAGE_REPRESENTATIONS = ("stacked", "spectrogram")
DEFAULT_IMAGE = "stacked"
SPECTROGRAM_WINDOW_S = 0.64
SPECTROGRAM_MAX_HZ = 25.0


def ecg_to_image(x: torch.Tensor, representation: str = DEFAULT_IMAGE, fs: int = 100) -> torch.Tensor:
    """Turn standardised ECGs into images.

    Args:
        x: (batch, 12, T) float32, standardised per lead.
        representation: ``stacked`` or ``spectrogram``.
        fs: the records' sampling rate in Hz (the spectrogram's window and frequency rows depend on it;
            the model passes the rate it was built for, never a guess from the length).

    Returns:
        (batch, 1, 64, 256) float32. ``stacked`` values lie within [x.min(), x.max()] (a convex
        interpolation); ``spectrogram`` values are >= 0 (log1p of a magnitude).
    """
    if representation == "stacked":
        return F.interpolate(x.unsqueeze(1), size=IMAGE_SIZE, mode="bilinear", antialias=True, align_corners=False)
    if representation == "spectrogram":
        batch, leads, T = x.shape
        n_fft = max(8, int(SPECTROGRAM_WINDOW_S * fs))
        hop = max(1, T // IMAGE_SIZE[1])
        window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
        spec = torch.stft(x.reshape(batch * leads, T), n_fft, hop, window=window, center=True, return_complex=True)
        n_bins = int(SPECTROGRAM_MAX_HZ / (fs / n_fft)) + 1
        mag = torch.log1p(spec.abs()[:, :n_bins])  # (batch*leads, n_bins, frames)
        rows = mag.reshape(batch, 1, leads * n_bins, -1)  # lead bands stacked in lead order
        return F.interpolate(rows, size=IMAGE_SIZE, mode="bilinear", antialias=True, align_corners=False)
    raise ValueError(f"unknown image representation {representation!r}; use one of {IMAGE_REPRESENTATIONS}")


def image_map_to_leads(maps: torch.Tensor, n_leads: int, T: int) -> torch.Tensor:
    """Map image-space maps (batch, h, w) — any resolution of the 64 × 256 image — back to the
    leads: (batch, n_leads, T), since every representation stacks the leads top to bottom."""
    return F.interpolate(maps.unsqueeze(1), size=(n_leads, T), mode="bilinear", antialias=True).squeeze(1)


def augment_batch(
    x: torch.Tensor,
    generator: torch.Generator,
    max_shift: float = 0.1,
    scale: float = 0.1,
    noise: float = 0.05,
    lead_dropout: float = 0.0,
) -> torch.Tensor:
    """Label-preserving augmentation of a batch of standardised ECGs.

    Args:
        x: (batch, 12, T) float32, standardised per lead.
        generator: the random generator on x's device (seeded per epoch by the trainer, so resumed
            runs match).
        max_shift: circular time shift of up to ± this fraction of T, per record.
        scale: amplitude scaling by a factor in [1 - scale, 1 + scale], per record.
        noise: std of added Gaussian noise (in standard deviations of the lead).
        lead_dropout: probability of zeroing each lead.

    Returns:
        (batch, 12, T) float32, a new tensor.
    """
    batch, leads, T = x.shape
    g = {"generator": generator, "device": generator.device}  # random numbers made where x lives
    if max_shift > 0:
        shift = torch.randint(-int(max_shift * T), int(max_shift * T) + 1, (batch, 1, 1), **g)
        idx = (torch.arange(T, device=x.device).view(1, 1, T) + shift) % T
        x = torch.gather(x, 2, idx.expand(batch, leads, T))
    if scale > 0:
        x = x * (1 + scale * (2 * torch.rand(batch, 1, 1, **g) - 1))
    if noise > 0:
        x = x + noise * torch.randn(x.shape, **g)
    if lead_dropout > 0:
        x = x * (torch.rand(batch, leads, 1, **g) >= lead_dropout).to(x.dtype)
    return x
