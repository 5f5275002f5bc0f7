"""The app's background warm-up (app_pages/warm_up.py) imports only while no page is being drawn."""

from __future__ import annotations

import threading
import time

from app_pages import warm_up


def test_the_warm_up_waits_while_a_page_is_drawn_and_for_the_quiet_time_after(monkeypatch):
    monkeypatch.setattr(warm_up, "QUIET_S", 0.3)
    monkeypatch.setattr(warm_up, "imports", lambda: None)  # the real one starts the imports
    monkeypatch.setattr(warm_up, "_runs", {"active": 0, "ended": 0.0})
    done = threading.Event()
    waiter = threading.Thread(target=lambda: (warm_up.wait_until_quiet(), done.set()), daemon=True)
    with warm_up.page_run():
        waiter.start()
        assert not done.wait(0.5), "imported while a page was being drawn"
        left = time.monotonic()
    assert done.wait(3), "the warm-up never went on"
    assert time.monotonic() - left >= 0.3 - 0.05  # …and not before the quiet time had passed


def test_a_page_that_stops_or_reruns_still_ends_its_run(monkeypatch):
    monkeypatch.setattr(warm_up, "imports", lambda: None)
    monkeypatch.setattr(warm_up, "_runs", {"active": 0, "ended": 0.0})
    try:
        with warm_up.page_run():
            raise RuntimeError("st.stop() and st.rerun() leave a run by an exception")
    except RuntimeError:
        pass
    assert warm_up._runs["active"] == 0 and warm_up._runs["ended"] > 0
