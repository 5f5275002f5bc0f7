"""ecgcore.transforms: ECG → image (shape, value range, lead order, batch = per-sample), the map back
to the leads, and the augmentations (deterministic given the generator, label-preserving)."""

from __future__ import annotations

import pytest
import torch

from ecgcore.transforms import IMAGE_REPRESENTATIONS, augment_batch, ecg_to_image, image_map_to_leads

H, W = 64, 256


def batch(T: int, n: int = 4, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 12, T, generator=g)


@pytest.mark.parametrize("representation", IMAGE_REPRESENTATIONS)
@pytest.mark.parametrize("T", [1000, 5000])
def test_image_shape_dtype(representation, T):
    img = ecg_to_image(batch(T), representation)
    assert img.shape == (4, 1, H, W)
    assert img.dtype == torch.float32
    assert torch.isfinite(img).all()


@pytest.mark.parametrize("T", [1000, 5000])
def test_value_ranges(T):
    x = batch(T) * 3 + 1
    stacked = ecg_to_image(x, "stacked")
    assert stacked.min() >= x.min() - 1e-5 and stacked.max() <= x.max() + 1e-5
    spec = ecg_to_image(x, "spectrogram")
    assert spec.min() >= 0
    assert spec.max() > 0


@pytest.mark.parametrize("representation", IMAGE_REPRESENTATIONS)
def test_batch_equals_per_sample(representation):
    x = batch(1000, n=5)
    whole = ecg_to_image(x, representation)
    single = torch.cat([ecg_to_image(x[i : i + 1], representation) for i in range(5)])
    torch.testing.assert_close(whole, single, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("representation", IMAGE_REPRESENTATIONS)
@pytest.mark.parametrize("T", [1000, 5000])
@pytest.mark.parametrize("lead", [0, 7, 11])
def test_rows_follow_lead_order(representation, T, lead):
    x = torch.zeros(1, 12, T)
    if representation == "stacked":
        x[0, lead, T // 2 - T // 100 : T // 2 + T // 100] = 5.0  # a 0.2 s spike in one lead only
    else:
        t = torch.arange(T) / (T / 10)
        x[0, lead] = torch.sin(2 * torch.pi * 10 * t)  # a 10 Hz tone in one lead only
    img = ecg_to_image(x, representation)[0, 0]
    row_energy = img.abs().sum(dim=1)
    if representation == "spectrogram":
        row_energy = (img - ecg_to_image(torch.zeros_like(x), representation)[0, 0]).abs().sum(dim=1)
    peak = int(row_energy.argmax())
    low, high = lead * H / 12, (lead + 1) * H / 12
    assert low - 1 <= peak <= high + 1, f"lead {lead} shows at image row {peak}, expected {low:.1f}–{high:.1f}"
    # nothing of it in the rows of far-away leads
    far = [r for r in range(H) if abs(r - (low + high) / 2) > H / 12 * 2]
    assert row_energy[far].max() < 0.05 * row_energy.max()


def test_stacked_time_axis():
    x = torch.zeros(1, 12, 1000)
    x[0, 3, 250:260] = 4.0  # at 2.5 s
    img = ecg_to_image(x)[0, 0]
    col = int(img.abs().sum(dim=0).argmax())
    assert abs(col - 0.255 * W) <= 2


def test_unknown_representation():
    with pytest.raises(ValueError, match="unknown image representation"):
        ecg_to_image(batch(1000), "polar")


@pytest.mark.parametrize("hw", [(64, 256), (32, 128), (16, 64)])  # cnn2d Grad-CAM maps are 16 × 64
def test_image_map_to_leads_shape_and_alignment(hw):
    h, w = hw
    maps = torch.zeros(2, h, w)
    lead = 4
    rows = slice(int(lead * h / 12), max(int(lead * h / 12) + 1, int((lead + 1) * h / 12)))
    maps[0, rows, : w // 2] = 1.0  # lead 4, first half of the record
    out = image_map_to_leads(maps, 12, 1000)
    assert out.shape == (2, 12, 1000)
    per_lead = out[0].sum(dim=1)
    assert int(per_lead.argmax()) == lead
    assert out[0, :, 600:].abs().max() < 0.05 * out[0].max()  # the second half stays cold
    assert out[1].abs().max() == 0


def test_stacked_round_trip_lead_alignment():
    """A map computed on the stacked image of a one-lead spike maps back onto that lead."""
    for lead in range(12):
        x = torch.zeros(1, 12, 1000)
        x[0, lead, 400:420] = 1.0
        back = image_map_to_leads(ecg_to_image(x)[:, 0], 12, 1000)[0]
        assert int(back.abs().sum(dim=1).argmax()) == lead


def test_augment_deterministic_given_seed():
    x = batch(1000, n=6)
    a = augment_batch(x, torch.Generator().manual_seed(5), lead_dropout=0.2)
    b = augment_batch(x, torch.Generator().manual_seed(5), lead_dropout=0.2)
    c = augment_batch(x, torch.Generator().manual_seed(6), lead_dropout=0.2)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype


def test_augment_leaves_input_alone():
    x = batch(1000)
    before = x.clone()
    out = augment_batch(x, torch.Generator().manual_seed(0), lead_dropout=0.5)
    assert torch.equal(x, before)
    assert out.data_ptr() != x.data_ptr()


def test_augment_components():
    x = batch(1000, n=8)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    # shift only: each record is a circular shift of itself, the same for all its leads
    shifted = augment_batch(x, g(), max_shift=0.1, scale=0, noise=0)
    for i in range(8):
        matches = [s for s in range(-100, 101) if torch.equal(torch.roll(x[i], -s, dims=1), shifted[i])]
        assert len(matches) == 1
    # scale only: one factor in [0.9, 1.1] per record
    scaled = augment_batch(x, g(), max_shift=0, scale=0.1, noise=0)
    ratio = scaled / x
    for i in range(8):
        assert torch.allclose(ratio[i], ratio[i, 0, 0], atol=1e-4)
        assert 0.9 - 1e-6 <= float(ratio[i, 0, 0]) <= 1.1 + 1e-6
    # noise only: zero-mean, std ≈ noise
    noisy = augment_batch(x, g(), max_shift=0, scale=0, noise=0.05)
    assert abs(float((noisy - x).std()) - 0.05) < 0.005
    # lead dropout: whole leads zeroed
    dropped = augment_batch(x, g(), max_shift=0, scale=0, noise=0, lead_dropout=0.5)
    zero = (dropped == 0).all(dim=2)
    assert 0 < zero.float().mean() < 1
    assert torch.equal(dropped[~zero], x[~zero])
    # nothing asked: unchanged
    assert torch.equal(augment_batch(x, g(), max_shift=0, scale=0, noise=0), x)
