"""The library side of "what the screen says must be true" and "where the model fails" on Evaluate,
Dataset, Home and Train: no SD from one fold, no p from one pair, one sign, sensible y-ranges, deep
links, the cardiologist's certainty, the cell picker's counts, calibration in words, subgroup rows,
Swedish reports and repaired umlauts, recording dates, and the fold whose test part holds a record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgcore.app import comparison as cmp
from ecgcore.app import errors, records, results, runs_view
from ecgcore.figures.metrics import fold_comparison_figure, metric_range
from ecgcore.folds import fold_testing_record
from ecgcore.metrics import summarize_folds
from ecgcore.runs import RunInfo


# --- honest small numbers ---------------------------------------------------------------------------------------
def test_one_fold_has_no_sd_anywhere():
    assert summarize_folds([{"macro_pr_auc": 0.7}])["macro_pr_auc"]["std"] is None
    text = results.mean_sd_text({0: {"macro_pr_auc": 0.7}})
    assert "±" not in text and "no SD" in text and "n = 1 fold)" in text
    assert "± 0.071 (n = 2 folds)" in results.mean_sd_text({0: {"macro_pr_auc": 0.6}, 1: {"macro_pr_auc": 0.7}})
    sd_row = results.folds_table({0: {"macro_pr_auc": 0.7}}).set_index("fold").loc["SD"]
    assert sd_row.isna().all()  # shown as "—" by with_dashes, never 0.000
    assert (runs_view.with_dashes(results.folds_table({0: {"macro_pr_auc": 0.7}})).iloc[-1, 1:] == "—").all()


def test_one_pair_has_no_sd_and_no_wilcoxon_p():
    r = {"macro_pr_auc": 0.7, "macro_roc_auc": 0.9, "label_names": ["A"], "plan": "cv5"}
    comp = cmp.compare({0: r}, {0: dict(r, macro_pr_auc=0.6)}, ("x", "y"))
    row = cmp.summary_table(comp).set_index("metric").loc["macro PR-AUC (AP)"]
    assert row["difference (mean)"] == pytest.approx(0.1)  # A − B
    assert row["difference (SD)"] == "—: one paired fold" and row["Wilcoxon p"] == "—: one paired fold"
    two = cmp.compare({0: r, 1: r}, {0: dict(r, macro_pr_auc=0.6), 1: dict(r, macro_pr_auc=0.5)}, ("x", "y"))
    p = cmp.summary_table(two).set_index("metric").loc["macro PR-AUC (AP)", "Wilcoxon p"]
    assert p != "—: one paired fold" and float(p) > 0


def test_chart_uses_the_tables_sign_and_a_sensible_range():
    table = pd.DataFrame({"fold": [0, 0, 1, 1], "model": ["A", "B"] * 2, "macro_pr_auc": [0.700, 0.687, 0.702, 0.689]})
    fig = fold_comparison_figure(table)
    assert "A − B: mean +0.0130" in fig.layout.title.text
    lo, hi = fig.layout.yaxis.range
    assert hi - lo >= 0.1 - 1e-9 and lo <= 0.687 and hi >= 0.702  # 0.013 is not drawn as a cliff
    assert metric_range([0.0, 0.01]) == [0.0, pytest.approx(0.1)]
    assert metric_range([0.99, 1.0]) == [pytest.approx(0.9), 1.0]
    assert metric_range([np.nan]) is None


# --- deep links -------------------------------------------------------------------------------------------------
def _run(model, fold, run_name="default", plan="cv5", label_set="superclass"):
    from pathlib import Path

    return RunInfo(
        dataset="demo", label_set=label_set, model=model, fold=fold, path=Path(f"/x/{model}/{run_name}/{fold}"),
        status={}, run_name=run_name, plan=plan,
    )  # fmt: skip


def test_run_from_link_names_bad_values():
    runs = [_run("cnn1d", 0), _run("cnn1d", 1), _run("cnn2d", 0), _run("cnn1d", 0, "long")]
    assert runs_view.run_from_link({}, runs) == (None, [])
    run, problems = runs_view.run_from_link({"model": "cnn1d", "fold": "1"}, runs)
    assert (run.model, run.run_name, run.fold, problems) == ("cnn1d", "default", 1, [])
    run, _ = runs_view.run_from_link({"model": "cnn1d", "run": "long"}, runs)
    assert (run.run_name, run.fold) == ("long", 0)
    run, problems = runs_view.run_from_link({"model": "nope", "fold": "0"}, runs)
    assert run is None and "'nope'" in problems[0]
    run, problems = runs_view.run_from_link({"model": "cnn2d", "fold": "x"}, runs)
    assert run.model == "cnn2d" and "'x'" in problems[0]
    run, problems = runs_view.run_from_link({"model": "cnn2d", "fold": "3"}, runs)
    assert run.fold == 0 and "fold 3" in problems[0]


# --- errors table: cell picker and certainty ---------------------------------------------------------------------
STATEMENTS = pd.DataFrame(
    {
        "description": ["anterior myocardial infarction", "normal ECG", "inferior myocardial infarction"],
        "diagnostic": [1, 1, 1],
        "diagnostic_class": ["MI", "NORM", "MI"],
        "diagnostic_subclass": ["AMI", "NORM", "IMI"],
        "form": [np.nan] * 3,
        "rhythm": [np.nan] * 3,
    },
    index=["AMI", "NORM", "IMI"],
)


def test_certainty_of_each_true_label_and_its_filter():
    rows = pd.DataFrame({"ecg_id": [1, 2, 3], "patient": [1, 2, 3], "P(MI)": [0.1, 0.2, 0.3]})
    rows["true labels"] = ["MI", "MI, NORM", "NORM"]
    ds_records = pd.DataFrame(
        {"ecg_id": [1, 2, 3], "scp_codes": [{"AMI": 15.0}, {"IMI": 100.0, "NORM": 80.0}, {"NORM": 0.0}]}
    )
    out = errors.with_certainty(rows, "MI", ds_records, STATEMENTS, "superclass")
    assert out["true labels"][0] == "MI (AMI 15 %, 'anterior myocardial infarction')"
    assert out["true labels"][1].startswith("MI (IMI 100 %") and "NORM (NORM 80 %" in out["true labels"][1]
    assert out["certainty (%)"].tolist()[:2] == [15.0, 100.0]
    assert pd.isna(out["certainty (%)"][2])  # 0 = not given
    assert errors.filter_certainty(out, "<50")["ecg_id"].tolist() == [1]
    assert errors.filter_certainty(out, "100")["ecg_id"].tolist() == [2]
    assert errors.filter_certainty(out, "50–99").empty
    assert len(errors.filter_certainty(out, "all")) == 3


def test_cell_counts_of_a_matrix():
    assert errors.cell_counts({"MI": [[50, 3], [7, 40]]}, "MI") == {"FN": 7, "FP": 3, "TP": 40, "TN": 50}
    assert errors.cell_counts({}, "MI") == {}


# --- calibration and subgroups in words ----------------------------------------------------------------------------
def test_calibration_words():
    from ecgcore.calibration import test_calibration

    rng = np.random.default_rng(0)
    p = rng.uniform(size=(4000, 2))
    y = (rng.uniform(size=p.shape) < p).astype(int)
    well = results.calibration_words(test_calibration(y, p, ["A", "B"]))
    assert "well calibrated" in well and "ECE" in well and "Brier" in well
    bad = results.calibration_words(test_calibration(y, np.clip(p * 0.2, 0, 1), ["A", "B"]))
    assert "not calibrated" in bad
    assert list(results.calibration_table(test_calibration(y, p, ["A", "B"]))["class"]) == ["A", "B"]


def test_subgroup_rows_reference_first_and_reasons():
    from ecgcore.subgroups import subgroup_frame

    base = {"by": "sex", "class": "macro", "prevalence": 0.3, "roc_auc": 0.9, "roc_auc_lo": 0.8, "roc_auc_hi": 0.95}
    table = subgroup_frame(
        [
            base | {"group": "all", "n": 100, "positives": 30, "pr_auc": 0.7, "pr_auc_lo": 0.6, "pr_auc_hi": 0.8,
                    "small": False, "note": None},
            base | {"group": "female", "n": 8, "positives": 2, "pr_auc": 0.5, "pr_auc_lo": None, "pr_auc_hi": None,
                    "small": True, "note": "2 positives, 6 negatives: too few for an interval (needs ≥ 10 of each)"},
        ]
    )  # fmt: skip
    rows = results.subgroup_rows(table, "macro")
    assert rows["group"].tolist() == ["whole test part", "female"]
    assert rows["PR-AUC 95 % CI"].tolist() == ["0.600–0.800", "—"]
    assert "too few" in rows["why greyed"][1]
    assert results.subgroup_classes(pd.concat([table.assign(**{"class": "MI"}), table])) == ["macro", "MI"]
    from ecgcore.errors import DataError

    said = results.subgroup_error_words("device", DataError("x has no 'device' values; use another --by"))
    assert "recording device" in said and "--" not in said


# --- Dataset ------------------------------------------------------------------------------------------------------
def test_swedish_reports_and_repaired_umlauts():
    assert records.report_language("sinusrytm vÄnster kammarhypertrofi") == "sv"
    assert records.report_language("sinusrytm normalt ekg") == "sv"
    assert records.report_language("sinusrhythmus normales ekg") == "de"
    assert records.report_language("sinus rhythm. normal ecg") == "en"
    text, note = records.repair_report("sinusrytm vÄnster kammarhypertrofi")
    assert text == "sinusrytm vänster kammarhypertrofi" and "vÄnster" in note
    text, note = records.repair_report("vorhofflimmern, ischÃ¤mie")
    assert text == "vorhofflimmern, ischämie" and "Ã¤" in note
    assert records.repair_report("Normal ECG") == ("Normal ECG", None)


def test_patient_table_has_recording_dates(demo_ds):
    patient = demo_ds.records["patient_id"].dropna().iloc[0]
    mine = records.patient_records(demo_ds, patient)
    assert "recorded" in mine.columns
    if "recording_date" in demo_ds.records:
        assert (mine["recorded"] != "—").all()


def test_test_fold_of_a_record():
    recs = pd.DataFrame({"ecg_id": [1, 2, 3, 4], "patient_id": [1, 2, 3, 4], "strat_fold": [1, 4, 9, 10]})
    assert [fold_testing_record(recs, None, e) for e in (1, 2, 3, 4)] == [0, 1, 4, 4]
    assert fold_testing_record(recs, None, 99) is None
    assert fold_testing_record(recs, np.array([True, False, True, True]), 2) is None  # unlabelled: in no test part
    assert (
        fold_testing_record(recs, None, 4, "benchmark") == 0 and fold_testing_record(recs, None, 3, "benchmark") is None
    )
