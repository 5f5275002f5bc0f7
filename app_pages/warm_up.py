"""The app's background warm-up (not a page): what the pages will need, prepared while nobody waits.

* :func:`page_run` wraps every script run (``streamlit_app.py``); the warm-up only works while no page
  is being drawn and :data:`QUIET_S` has passed since the last one (one GIL: work beside a page run
  slows that page).
* :func:`imports` (once per server): the other pages' heavy modules (``ecgcore.app_server.WARM_MODULES``:
  torch, scikit-learn, captum …), one at a time. No-ops when the server was started by
  ``python -m ecgcore app``, which imported them before listening.
* :func:`dataset_tables` (once per loaded dataset): Home's and Dataset's cached tables.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from ecgcore.app_server import WARM_MODULES, preload
from ecgcore.data import ECGDataset

# Measured with bench/first_visit.py (1,000 demo records): importing right after the first page made
# that page 0.8 s and the next one 1.1 s slower.
QUIET_S = 0.6

_runs = {"active": 0, "ended": 0.0}
_runs_lock = threading.Lock()


@contextmanager
def page_run() -> Iterator[None]:
    """Wrap one script run: the warm-up waits while any page is being drawn; at the end of the first
    run the imports start (once per server process)."""
    with _runs_lock:
        _runs["active"] += 1
    try:
        yield
    finally:
        with _runs_lock:
            _runs["active"] -= 1
            _runs["ended"] = time.monotonic()
        imports()


def wait_until_quiet() -> None:
    """Return once no page run is active and none has ended for :data:`QUIET_S` seconds."""
    while True:
        with _runs_lock:
            quiet_for = time.monotonic() - _runs["ended"] if _runs["active"] == 0 else -1.0
        if quiet_for >= QUIET_S:
            return
        time.sleep(max(QUIET_S - quiet_for, 0.05) if quiet_for >= 0 else 0.05)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        wait_until_quiet()
        preload([name])


@st.cache_resource(show_spinner=False)
def imports() -> threading.Thread:
    """Import the heavy modules of the other pages in a background thread, once per server process:
    the first visit of Train, Evaluate, Saliency or Predict then finds them loaded."""
    thread = threading.Thread(target=_import_all, args=(WARM_MODULES,), name="ecg-warm-up", daemon=True)
    thread.start()
    return thread


def _compute_dataset_tables(ds: ECGDataset, key: tuple, tables: tuple[Callable, ...]) -> None:
    for table in tables:
        wait_until_quiet()  # before each: together they take ~1 s at 21,837 records
        try:
            table(ds, key)
        except Exception:  # noqa: BLE001 — only a speed-up: the page computes and reports them itself
            return


@st.cache_resource(show_spinner=False, max_entries=4)
def dataset_tables(key: tuple, _ds: ECGDataset, _tables: tuple[Callable, ...]) -> threading.Thread:
    """Once per loaded dataset, compute the cached tables of Home and Dataset in a background thread
    when no page is being drawn: at 21,837 records the Dataset page's first visit otherwise computes
    its record table (~0.3 s) and fold summaries itself."""
    thread = threading.Thread(
        target=_compute_dataset_tables, args=(_ds, key, _tables), name="ecg-warm-tables", daemon=True
    )
    thread.start()
    return thread
