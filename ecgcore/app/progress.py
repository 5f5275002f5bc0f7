"""A training run's progress for the Train page: steps and time from its progress.jsonl events, the
events of its loss curves (a resume's repeated steps removed), and the tail of its log.
No Streamlit import."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainingProgress:
    """Where a run stands, from its events (see :func:`training_progress`)."""

    state: str
    epoch: int = 0  # epochs completed
    epochs: int = 0
    steps_done: int = 0
    steps_total: int = 0
    elapsed_s: float = 0.0
    remaining_s: float | None = None
    last: dict = field(default_factory=dict)  # the last epoch_end event

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return min(1.0, self.steps_done / self.steps_total) if self.steps_total else 0.0

    @property
    def epoch_shown(self) -> str:
        """'1/2': the epoch being trained while running (completed + 1), else the epochs completed —
        the one epoch figure of the Epoch tile, the progress text and the runs table alike ('' if unknown)."""
        if not self.epochs:
            return ""
        running = self.state == "running" and self.epoch < self.epochs
        return f"{min(self.epoch + running, self.epochs)}/{self.epochs}"

    @property
    def text(self) -> str:
        parts = [self.state]
        if self.epochs:
            parts.append(f"epoch {self.epoch_shown}")
        if self.steps_total:
            parts.append(f"step {self.steps_done:,}/{self.steps_total:,}")
        if self.elapsed_s:
            parts.append(f"elapsed {format_duration(self.elapsed_s)}")
        if self.remaining_s is not None and self.state == "running":
            parts.append(f"about {format_duration(self.remaining_s)} left")
        return " · ".join(parts)


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def training_progress(events: Sequence[Mapping], state: str, now: float | None = None) -> TrainingProgress:
    """Steps done / total, elapsed and remaining time of a run from its progress.jsonl events.

    Timing uses the latest ``start`` (a resumed run restarts the clock): remaining = the steps left
    at the speed measured since then. A finished run's elapsed time runs to its final event.
    """
    now = time.time() if now is None else now
    starts = [i for i, e in enumerate(events) if e.get("event") == "start"]
    if not starts:
        return TrainingProgress(state)
    seg = events[starts[-1] :]
    start = seg[0]
    epochs = int(start.get("epochs") or 0)
    spe = int(start.get("steps_per_epoch") or 0)
    first_step = int(start.get("resumed_from") or 0) * spe
    steps = [int(e["step"]) for e in seg if isinstance(e.get("step"), (int, float))]
    done = max(steps) if steps else first_step
    epoch_ends = [e for e in seg if e.get("event") == "epoch_end"]
    finished = [e for e in seg if e.get("event") in ("done", "cancelled", "failed")]
    t0 = float(start.get("time") or now)
    t1 = float(finished[-1].get("time") or now) if finished else now
    elapsed = max(0.0, t1 - t0)
    total = epochs * spe
    remaining = None
    if done > first_step and elapsed > 0 and total:
        remaining = (total - done) * elapsed / (done - first_step)
    completed = int(epoch_ends[-1]["epoch"]) + 1 if epoch_ends else int(start.get("resumed_from") or 0)
    return TrainingProgress(
        state, completed, epochs, done, total, elapsed, remaining, dict(epoch_ends[-1]) if epoch_ends else {}
    )


def curve_events(events: Sequence[Mapping]) -> list[dict]:
    """Events for the loss curves with the steps a resumed run did again removed: batch/epoch events
    of an earlier segment past the epoch the next segment resumed from are dropped."""
    starts = [i for i, e in enumerate(events) if e.get("event") == "start"]
    if len(starts) <= 1:
        return [dict(e) for e in events]
    keep: list[dict] = []
    bounds = [*starts, len(events)]
    for k in range(len(starts)):
        seg = events[bounds[k] : bounds[k + 1]]
        limit = math.inf
        if k + 1 < len(starts):
            nxt = events[starts[k + 1]]
            limit = int(nxt.get("resumed_from") or 0) * int(nxt.get("steps_per_epoch") or 0)
        keep += [dict(e) for e in seg if not (isinstance(e.get("step"), (int, float)) and e["step"] > limit)]
    return keep


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a run's train.log ('' when absent)."""
    try:
        with open(Path(path) / "train.log", "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def format_bytes(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"


def download_text(status) -> str:
    """One line for a download's progress bar: state, files, bytes, rate and time left (a
    ``ecgcore.download.DownloadStatus``)."""
    parts = [status.state]
    if status.files_total:
        parts.append(f"{status.files_done:,}/{status.files_total:,} files")
    if status.bytes_done:
        total = f" of ~{format_bytes(status.bytes_total)}" if status.bytes_total else ""
        parts.append(f"{format_bytes(status.bytes_done)}{total}")
    if status.rate_bps and status.state == "running":
        parts.append(f"{format_bytes(status.rate_bps)}/s")
    if status.eta_s is not None and status.state == "running":
        parts.append(f"about {format_duration(status.eta_s)} left")
    return " · ".join(parts)
