"""The Evaluate page through AppTest: metrics and per-class CIs, the threshold fragment, the errors view
and its hand-over to Saliency, plan labels, and any two (named) runs compared with their recipes.
(The Evaluate tests that used to be in test_app_pages.py are here, on the page's readable names.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"


def page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "success", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def table(at: AppTest, *columns: str, without: tuple[str, ...] = ()):
    """The first dataframe shown with all of ``columns`` and none of ``without``."""
    for d in at.dataframe:
        value = d.value
        if all(c in value.columns for c in columns) and not any(c in value.columns for c in without):
            return value
    raise AssertionError(f"no table with columns {columns}")


def test_evaluate_metrics_curves_and_downloads(app, trained_runs):
    at = page(app, "evaluate")
    metrics = table(at, "metric", "95% CI")
    assert {"PR-AUC (AP), macro", "PR-AUC (AP), micro", "ROC-AUC, macro", "F1, macro", "F1, micro"} <= set(
        metrics["metric"]
    )
    results = json.loads((trained_runs["cnn1d"] / "results.json").read_text())
    assert metrics.set_index("metric").loc["PR-AUC (AP), macro", "value"] == pytest.approx(results["macro_pr_auc"])
    per_class = table(at, "support", "AP 95% CI", "ROC-AUC 95% CI")
    assert len(per_class) == 5 and per_class["AP 95% CI"].notna().any()
    roc = [c for c in charts(at) if "ROC" in c["layout"]["title"]["text"]][0]
    assert any((t.get("meta") or {}).get("role") == "operating point" for t in roc["data"])
    assert {"results.json", "confusion.png (as shown)"} <= {b.label for b in at.download_button}
    assert "mean" in set(table(at, "fold", "PR-AUC (AP), macro")["fold"])
    assert "protocol cv5" in texts(at)


def test_evaluate_threshold_slider_changes_the_confusion_matrices(app):
    at = page(app, "evaluate")
    chosen = table(at, "class", "TP", without=("support",))
    at.radio(key="ev_thr_mode").set_value("global").run()
    at.slider(key="ev_thr").set_value(0.0).run()
    everything = table(at, "class", "TP", without=("support",))
    assert (everything["FN"] == 0).all() and (everything["TN"] == 0).all()
    at.slider(key="ev_thr").set_value(1.0).run()
    nothing = table(at, "class", "TP", without=("support",))
    assert (nothing["TP"] == 0).all()
    assert not chosen[["TP", "FP"]].equals(nothing[["TP", "FP"]])
    fig = [c for c in charts(at) if any(t.get("type") == "heatmap" for t in c["data"])][0]
    assert "1.00" in json.dumps(fig)  # the thresholds are in the panel titles
    # the records at these thresholds: nothing is positive, so every positive is a false negative
    at.selectbox(key="ev_err_outcome").set_value("FN").run()
    cls = at.selectbox(key="ev_err_cls").value
    rows = table(at, "ecg_id", f"P({cls})")
    assert len(rows) == int(nothing.set_index("class").loc[cls, "FN"])
