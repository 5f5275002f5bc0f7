"""What a person reads (issue "one fact, one home", item 7): every page rendered on the demo data
with the trained runs shows no 'None', no command-line flag (``--overwrite``, ``--resume`` …) and no
dataset hash — in its texts, titles, metrics, widget options, table cells and chart titles."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.uploads import signal_csv
from tests.app.helpers import charts, page, texts

FLAG = re.compile(r"--[a-z][a-z_-]+")
HASHED_NAME = re.compile(r"[A-Za-z0-9_.]-[0-9a-f]{8}\b")


def visible(at: AppTest) -> str:
    """Everything a page shows as words, one piece per line."""
    parts = [texts(at)]
    for kind in ("title", "header", "subheader", "toast", "exception"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    for kind in ("selectbox", "radio", "multiselect"):
        for w in getattr(at, kind):
            parts += [w.label, *map(str, w.options)]
    parts += [b.label for b in at.button]
    for d in at.dataframe:
        value = d.value
        parts += [" ".join(map(str, value.columns)), value.astype(object).where(value.notna(), "None").to_string()]
    parts += [str((c.get("layout", {}).get("title") or {}).get("text", "")) for c in charts(at)]
    return "\n".join(parts)


def assert_reads_well(shown: str, fingerprint: str) -> None:
    assert "None" not in shown, [line for line in shown.splitlines() if "None" in line][:5]
    assert not FLAG.search(shown), FLAG.findall(shown)
    assert fingerprint not in shown and not HASHED_NAME.search(shown), HASHED_NAME.findall(shown)


@pytest.mark.parametrize("name", ["home", "dataset", "train", "evaluate", "saliency", "predict"])
def test_a_page_shows_no_code_words(app, demo_ds, name):
    at = page(app, name)
    assert_reads_well(visible(at), demo_ds.fingerprint)


def test_predict_with_an_upload_shows_no_code_words(app, demo_ds):
    at = page(app, "predict")
    at.file_uploader(key="pr_files").set_value(
        [("example_ecg_1.csv", signal_csv(demo_ds.signals[0]), "text/csv")]
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    assert_reads_well(visible(at), demo_ds.fingerprint)
