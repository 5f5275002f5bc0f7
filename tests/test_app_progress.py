"""ecgcore.app.progress (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import pytest

from ecgcore.app import progress


def _events(resumed: bool = False) -> list[dict]:
    ev = [{"event": "start", "time": 100.0, "epochs": 4, "steps_per_epoch": 10, "resumed_from": None}]
    ev += [
        {"event": "batch", "step": s, "loss": 1.0 / s, "epoch": (s - 1) // 10, "time": 100.0 + s} for s in range(1, 16)
    ]
    ev += [
        {
            "event": "epoch_end",
            "epoch": 0,
            "step": 10,
            "train_loss": 0.5,
            "val_loss": 0.6,
            "val_macro_pr_auc": 0.4,
            "time": 110.0,
        }
    ]
    if resumed:  # died in epoch 1 at step 15, resumed from epoch 1
        ev += [{"event": "start", "time": 200.0, "epochs": 4, "steps_per_epoch": 10, "resumed_from": 1}]
        ev += [{"event": "batch", "step": s, "loss": 0.1, "epoch": 1, "time": 200.0 + s - 10} for s in range(11, 21)]
    return ev


def test_training_progress_steps_and_time():
    p = progress.training_progress(_events(), "running", now=115.0)
    assert (p.steps_done, p.steps_total, p.epoch, p.epochs) == (15, 40, 1, 4)
    assert p.fraction == pytest.approx(15 / 40)
    assert p.elapsed_s == pytest.approx(15.0)
    assert p.remaining_s == pytest.approx(25.0)  # 25 steps left at 1 step/s
    assert "step 15/40" in p.text and "left" in p.text
    resumed = progress.training_progress(_events(resumed=True), "running", now=210.0)
    assert resumed.steps_done == 20 and resumed.elapsed_s == pytest.approx(10.0)
    assert resumed.remaining_s == pytest.approx(20.0)  # 10 steps in 10 s since the resume
    assert progress.training_progress([], "queued").fraction == 0.0
    done = _events() + [{"event": "done", "time": 130.0, "step": 15}]
    assert progress.training_progress(done, "done", now=999.0).elapsed_s == pytest.approx(30.0)
    assert progress.training_progress(done, "done").fraction == 1.0


def test_curve_events_drop_steps_done_again_after_a_resume():
    events = progress.curve_events(_events(resumed=True))
    steps = [e["step"] for e in events if e["event"] == "batch"]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) == 20
    assert progress.curve_events(_events()) == _events()


def test_log_tail(tmp_path):
    (tmp_path / "train.log").write_text("\n".join(f"line {i}" for i in range(100)))
    assert progress.log_tail(tmp_path, 3) == "line 97\nline 98\nline 99"
    assert progress.log_tail(tmp_path / "missing") == ""


def test_format_duration():
    assert [progress.format_duration(s) for s in (5, 65, 3725, None)] == ["5s", "1m 05s", "1h 02m", "—"]


def test_the_epoch_tile_and_the_text_agree():
    from ecgcore.app.progress import training_progress

    ev = [{"event": "start", "time": 0.0, "epochs": 2, "steps_per_epoch": 10}]
    ev += [{"event": "batch", "step": 3, "loss": 1.0, "epoch": 0, "time": 1.0}]
    p = training_progress(ev, "running", now=2.0)
    assert p.epoch_shown == "1/2" and "epoch 1/2" in p.text
    ev += [{"event": "epoch_end", "epoch": 0, "step": 10, "time": 3.0}, {"event": "done", "time": 4.0}]
    ev[0]["epochs"] = 1
    done = training_progress(ev, "done", now=5.0)
    assert done.epoch_shown == "1/1" and "epoch 1/1" in done.text
