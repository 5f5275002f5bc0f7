"""The per-class summary: lead shares, beat-aligned profile, R-peaks, cache, background status."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ecgcore.checkpoints import load_checkpoint
from ecgcore.class_summary import (
    WINDOWS_S,
    batch_attributions,
    beat_offsets,
    cached_class_summary,
    class_summary,
    main,
    r_peaks,
    summarize_attributions,
    summary_argv,
    summary_dir,
    summary_status,
    write_class_summary,
)
from ecgcore.errors import ResultsError
from ecgcore.labels import safe_file_name
from ecgcore.saliency import saliency_map


def _beats(fs: int, rr_s: float = 0.8, T: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """A spiky synthetic lead: narrow R waves every rr_s seconds plus a small T wave."""
    t = np.arange(T) / fs
    r = np.arange(0.4, T / fs - 0.1, rr_s)
    x = sum(1.2 * np.exp(-(((t - c) / 0.012) ** 2)) + 0.25 * np.exp(-(((t - c - 0.25) / 0.05) ** 2)) for c in r)
    return x, np.round(r * fs).astype(int)


@pytest.mark.parametrize("fs", [100, 500])
def test_r_peaks_find_each_beat(fs):
    x, truth = _beats(fs, T=10 * fs)
    found = r_peaks(x, fs)
    assert len(found) >= len(truth) - 1 and len(found) <= len(truth)  # xqrs may skip the first beat (learning)
    assert np.abs(found[:, None] - truth[None, :]).min(axis=1).max() <= 0.02 * fs
    assert len(r_peaks(np.zeros(10 * fs), fs)) == 0


def test_summarize_attributions_shapes_and_sums():
    fs, T = 100, 1000
    lead, peaks = _beats(fs)
    signals = np.zeros((3, 12, T), np.float32)
    signals[:, 1] = lead
    attrs = np.random.default_rng(0).normal(size=(3, 12, T)).astype(np.float32) * 0.01
    attrs[:, 4, peaks] += 5.0  # lead aVL, exactly on the R-peaks
    out = summarize_attributions(attrs, signals, fs)
    W = len(beat_offsets(fs))
    assert W == 71 and len(out["profile"]) == W and len(out["profile_t"]) == W
    assert np.asarray(out["profile_by_lead"]).shape == (12, W)
    assert sum(out["lead_share"]) == pytest.approx(1.0)
    assert int(np.argmax(out["lead_share"])) == 4
    t = np.asarray(out["profile_t"])
    assert t[0] == pytest.approx(-0.25) and t[-1] == pytest.approx(0.45)
    assert t[int(np.argmax(out["profile"]))] == pytest.approx(0.0)  # the peak of attention is at R
    assert (
        out["window_mean"]["QRS"] > out["window_mean"]["P"] and out["window_mean"]["QRS"] > out["window_mean"]["ST-T"]
    )
    assert out["windows"] == {k: list(v) for k, v in WINDOWS_S.items()}
    assert out["n_records"] == 3 and out["n_records_with_beats"] == 3 and out["n_beats"] >= 3 * (len(peaks) - 2)
    json.dumps(out)


def test_shares_per_window_and_lead_with_their_spread_and_the_no_preference_line():
    """Shares a reader can't misread: per window (P, QRS, ST-T) of the in-beat attribution and per lead,
    each with quartiles across records, beside what a model with no preference would give."""
    fs, T = 100, 1000
    lead, peaks = _beats(fs)
    signals = np.zeros((4, 12, T), np.float32)
    signals[:, 1] = lead
    flat = np.full((4, 12, T), 1.0, np.float32)  # the same attribution everywhere: no preference
    out = summarize_attributions(flat, signals, fs)
    even = out["no_preference"]
    assert even["lead"] == pytest.approx(1 / 12) and sum(even["window"].values()) == pytest.approx(1.0)
    assert out["lead_share"] == pytest.approx([1 / 12] * 12)
    assert out["window_share"] == pytest.approx(even["window"])  # flat maps land on the no-preference line
    st_t = flat.copy()
    for p in peaks:
        st_t[:, :, p + 10 : p + 40] += 20.0  # 0.1–0.4 s after R: the ST-T window
    out = summarize_attributions(st_t, signals, fs)
    assert out["window_share"]["ST-T"] > even["window"]["ST-T"] + 0.2
    mean, q25, q75 = out["window_share_spread"]["ST-T"]
    assert q25 <= mean <= q75 and mean == pytest.approx(out["window_share"]["ST-T"])
    assert len(out["lead_share_spread"]["q25"]) == 12 and set(out["units"]) >= {"lead_share", "window_share"}


def test_subclass_groups_split_a_superclass_by_its_statements(demo_ds):
    from ecgcore.class_summary import subclass_groups

    c = list(demo_ds.label_names).index("MI")
    idx = np.flatnonzero(demo_ds.labels[:, c] == 1)[:40]
    groups = subclass_groups(demo_ds, idx, "MI")
    assert groups and all(len(pos) and pos.max() < len(idx) for pos in groups.values())
    covered = set(np.concatenate(list(groups.values())).tolist())
    assert len(covered) >= 0.8 * len(idx)  # nearly every MI record names an MI subclass (IMI, AMI, …)


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient"])
def test_batched_attribution_equals_per_record(trained_runs, demo_ds, method):
    model, _ = load_checkpoint(trained_runs["cnn1d"] / "best.pt")
    x = np.asarray(demo_ds.signals[:3])
    batch = batch_attributions(model, x, 2, method, n_steps=8)
    for i in range(3):
        np.testing.assert_allclose(batch[i], saliency_map(model, x[i], 2, method, n_steps=8).map, rtol=1e-3, atol=1e-6)


def test_class_summary_on_demo_run(trained_runs, demo_ds):
    calls = []
    out = class_summary(demo_ds, trained_runs["cnn1d"], max_records=12, progress=lambda *a: calls.append(a))
    assert set(out["classes"]) == set(demo_ds.label_names) and out["fold"] == 0
    n_carrying = sum(c["n_records"] for c in out["classes"].values())
    assert calls[-1][0] == calls[-1][1] == n_carrying
    for c in out["classes"].values():
        assert c["n_records"] == len(c["ecg_ids"]) <= 12
        if c["n_records"]:
            assert sum(c["lead_share"]) == pytest.approx(1.0)
    with pytest.raises(ResultsError, match="unknown class"):
        class_summary(demo_ds, trained_runs["cnn1d"], classes=["XYZ"])


@pytest.mark.slow
def test_write_class_summary_caches_per_class(trained_runs, demo_ds):
    run = trained_runs["cnn2d"]
    first = write_class_summary(demo_ds, run, "gradient", classes=["MI"], max_records=8)
    folder = summary_dir(run, "gradient")
    assert (folder / "MI.json").is_file() and (folder / "MI.png").read_bytes()[:4] == b"\x89PNG"
    again = write_class_summary(demo_ds, run, "gradient", classes=["MI"], max_records=8)
    assert again["MI"]["computed"] == first["MI"]["computed"]  # reused, not recomputed
    os.utime(run / "best.pt", ns=(1, 1))  # a changed checkpoint invalidates the cache
    assert cached_class_summary(run, "gradient", "MI") is None
    assert write_class_summary(demo_ds, run, "gradient", ["MI"], 8)["MI"]["computed"] > first["MI"]["computed"]


def test_status_and_background_entry_point(trained_runs, demo_ds, tmp_path):
    run = trained_runs["cnn1d"]
    assert summary_status(run, "grad_cam") == {"state": "absent"}
    argv = summary_argv(run, "grad_cam", demo_ds.root, 5)
    assert argv[0] == "ecgcore.class_summary" and "--max_records" in argv  # python -m <argv>
    assert main(argv[1:] + ["--classes", "NORM"]) == 0  # in-process: what the detached process runs
    status = summary_status(run, "grad_cam")
    assert status["state"] == "done" and status["classes"] == ["NORM"]
    assert main(["--run", str(tmp_path), "--method", "gradient"]) == 2  # no checkpoint: a one-line error
    assert summary_status(tmp_path, "gradient")["state"] == "failed"
    assert "does not exist" in summary_status(tmp_path, "gradient")["message"]


@pytest.mark.realdata
@pytest.mark.slow
def test_class_summary_on_real_ptbxl(real_ds, tmp_path):
    """A 1-epoch cnn1d on every 4th record of the real part (its fold 0), summarised over 16 test records."""
    import dataclasses

    from ecgcore.recipes import TrainConfig
    from ecgcore.train import train_fold

    keep = np.arange(0, len(real_ds.records), 4)
    small = dataclasses.replace(
        real_ds,
        signals=real_ds.signals[keep],
        labels=real_ds.labels[keep],
        records=real_ds.records.iloc[keep].reset_index(drop=True),
    )
    run = tmp_path / "fold0"
    train_fold(small, TrainConfig(model="cnn1d", epochs=1, batch_size=64), run)
    out = write_class_summary(small, run, max_records=16)
    assert out and set(out) <= set(small.label_names)  # a class none of the 16 carries: no (flat) summary
    assert all(c["n_records"] > 0 for c in out.values())
    for c in out.values():
        assert sum(c["lead_share"]) == pytest.approx(1.0) and len(c["lead_share"]) == 12
        assert c["n_beats"] >= 5 * c["n_records_with_beats"] > 0  # real 10 s ECGs: several beats each
        assert sum(c["window_share"].values()) == pytest.approx(1.0)
    norm = out["NORM"]
    assert (summary_dir(run, "integrated_gradients") / "NORM.png").is_file()
    assert all(sub["n_records"] <= norm["n_records"] for sub in norm["subclasses"].values())


@pytest.mark.slow
def test_start_summary_runs_detached_and_reports(trained_runs, demo_ds):
    import time

    from ecgcore.class_summary import start_summary

    run = trained_runs["cnn1d"]
    pid = start_summary(run, "gradient", demo_ds.root, max_records=4)
    assert summary_status(run, "gradient")["state"] in ("starting", "running", "done")
    assert start_summary(run, "gradient", demo_ds.root, max_records=4) == pid  # not started twice while it runs
    deadline = time.monotonic() + 300
    while summary_status(run, "gradient")["state"] in ("starting", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    status = summary_status(run, "gradient")
    assert status["state"] == "done", status
    # the classes the first 4 test records carry; a class none of them carries gets no (flat, n=0) summary
    assert status["classes"] and set(status["classes"]) <= set(demo_ds.label_names)
    for name in status["classes"]:
        assert (summary_dir(run, "gradient") / f"{safe_file_name(name)}.png").is_file()


def test_windowed_models_are_explained_as_the_per_record_view_does(trained_runs, demo_ds):
    """A model whose recipe aggregates windows: the batched summary attribution equals saliency_map's
    window-averaged map, record by record."""
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.windows import WindowSpec

    model, _ = load_checkpoint(trained_runs["cnn1d"] / "best.pt")
    model.windows = WindowSpec(250, 125, "max")
    x = np.asarray(demo_ds.signals[:2], dtype=np.float32)
    got = batch_attributions(model, x, 1, "gradient")
    for i in range(2):
        assert np.allclose(got[i], saliency_map(model, x[i], 1, "gradient").map, atol=1e-6)
