"""Serve the app with its heavy modules loaded first: ``python -m ecgcore app [streamlit options]``.

``streamlit run streamlit_app.py`` starts a server that imports nothing of the app until the first
session arrives; the pages then need torch, scikit-learn, captum and plotly (~2.3 s of imports on a
2-core machine). The app imports them in a background thread once no page has been drawn for a
moment (app_pages/common.py), but importing torch holds Python's lock for up to ~1 s, so a click that
lands meanwhile waits (measured with ``bench/first_visit.py``). Started through :func:`serve`, the
process imports :data:`WARM_MODULES` *before* the server listens: the server reports healthy
(``/_stcore/health``, Kubernetes' readiness probe) ~2.3 s later, and no session ever waits for
an import. Options after ``app`` go to ``streamlit run`` unchanged (``--server.port 8501`` …).
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

APP_SCRIPT = Path(__file__).resolve().parent.parent / "streamlit_app.py"

# What the pages import beyond Home's needs, in the order of the sidebar (Dataset, Train, Evaluate,
# Saliency, Predict): plotly, the run queue, scikit-learn, torch, the trainer, captum, prediction.
WARM_MODULES = (
    "ecgcore.figures",
    "ecgcore.jobs",
    "ecgcore.metrics",
    "ecgcore.models",
    "ecgcore.train",
    "ecgcore.checkpoints",
    "ecgcore.inference",
    "ecgcore.saliency",
    "ecgcore.evaluate",
    "ecgcore.predict",
)


def preload(names: Sequence[str] = WARM_MODULES) -> list[str]:
    """Import ``names``; returns the ones that failed (a page that needs one reports it itself)."""
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 — only a speed-up
            failed.append(name)
    return failed


def serve(options: Sequence[str]) -> int:
    """:func:`preload`, then ``streamlit run streamlit_app.py *options`` in this process (blocks until
    the server stops; returns its exit status)."""
    from streamlit.web import cli

    t0 = time.perf_counter()
    failed = preload()
    print(
        f"ecgcore: imported the pages' modules in {time.perf_counter() - t0:.1f} s before serving"
        + (f" (not importable: {', '.join(failed)})" if failed else ""),
        file=sys.stderr,
        flush=True,
    )
    try:
        cli.main(args=["run", str(APP_SCRIPT), *options], prog_name="streamlit")
    except SystemExit as e:  # click ends the command this way; a message (a refused option) is an error
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(f"error: {e.code}", file=sys.stderr)
        return 1
    return 0
