"""ecgcore.app.trust, ecgcore.app.labels_view and ecgcore.folds.fold_testing_record: where a record is (said
once, never contradicting), how good a run is, the members' spread, calibration, labels with certainty."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ecgcore.app import trust
from ecgcore.app.labels_view import certainty_markdown, certainty_text, labels_with_certainty
from ecgcore.folds import fold_testing_record as fold_testing
from ecgcore.model_quality import run_quality
from ecgcore.uncertainty import member_spread

REAL = "ptbxl-01fab926"


# ----------------------------------------------------------------------------- folds


def _records(strat):
    return pd.DataFrame(
        {"ecg_id": np.arange(1, len(strat) + 1), "patient_id": np.arange(len(strat)), "strat_fold": strat}
    )


@pytest.mark.parametrize("strat, fold", [(1, 0), (2, 0), (3, 1), (8, 3), (9, 4), (10, 4)])
def test_cv5_fold_k_tests_strat_folds_2k_plus_1_and_2(strat, fold):
    records = _records(list(range(1, 11)))
    assert fold_testing(records, None, strat, "cv5") == fold


def test_no_fold_for_unknown_unlabelled_or_untested_records():
    records = _records(list(range(1, 11)))
    labelled = np.ones(10, bool)
    labelled[8] = False
    assert fold_testing(records, labelled, 9, "cv5") is None  # unlabelled: in no fold
    assert fold_testing(records, None, 99, "cv5") is None
    assert fold_testing(records, None, 10, "benchmark") == 0 and fold_testing(records, None, 3, "benchmark") is None


# ----------------------------------------------------------------------------- where the record is


def test_single_fold_test_part_says_never_seen():
    place = trust.record_place(17, 4, "test", [4], 4)
    assert place.level == "ok" and "never saw" in place.text and place.open_fold is None


def test_single_fold_training_part_offers_the_fold_that_tests_it():
    place = trust.record_place(17, 0, "train", [0], 4, trained_folds=[0, 4])
    assert place.level == "warning" and "trained on it" in place.text and "Fold 4 tests it" in place.text
    assert place.open_fold == 4
    assert trust.record_place(17, 0, "train", [0], 4).open_fold is None  # fold 4 not trained: nothing to open


def test_ensemble_never_says_never_seen():
    """The ensemble's statement and the part picker cannot contradict each other: under an ensemble
    no text says 'never seen', and a record tested by one member is 'Not a test record of the ensemble'."""
    from ecgcore.app.words import ENSEMBLE_PART_NAMES, PART_NAMES

    one = trust.record_place(17, 4, "test", range(5), 4)
    assert one.level == "warning" and "Not a test record of the ensemble" in one.text and "other 4" in one.text
    none = trust.record_place(17, 0, "train", [0, 1], 4)
    assert "Not a test record of any member" in none.text
    assert "never" not in " ".join(ENSEMBLE_PART_NAMES.values()) and "never" in PART_NAMES["test"]


def test_unlabelled_record_is_in_no_part():
    place = trust.record_place(17, 0, "—", [0], None)
    assert place.level == "none" and "no label" in place.text


# ----------------------------------------------------------------------------- quality


def test_flagged_run_qualifies_the_predicted_set():
    q = run_quality("cnn1d", "default", {0: {"macro_pr_auc": 0.5}}, {0: {"epochs": 40}}, {0: 8}, "demo")
    words = trust.quality_words(q, {"epochs": 40, "lr": 0.003, "batch_size": 16})
    assert "trained 8 of the 40 epochs" in words["flag"]
    assert "macro PR-AUC 0.500" in words["sentence"] and "Learning rate 0.003" in words["sentence"]
    said = trust.predicted_words(
        "predicted: STTC + MI + CD + HYP", q, np.array([0.5, 0.52, 0.54, 0.48]), np.full(4, 0.45)
    )
    assert "flagged run" in said and "within 0.1 of its threshold" in said


def test_group_quality_reads_each_fold(tmp_path):
    members = [
        SimpleNamespace(fold=k, model="cnn1d", run_name="default", path=tmp_path / str(k),
                        status={"config": {"epochs": 40}, "epoch": 39})
        for k in range(5)
    ]  # fmt: skip
    q = trust.group_quality(members, REAL, lambda p: {"macro_pr_auc": 0.75})
    assert q.n_folds == 5 and q.epochs == [40] * 5 and not q.flags
    assert "None" not in trust.quality_words(q, None)["sentence"]


# ----------------------------------------------------------------------------- spread and calibration


def test_spread_says_when_members_fall_on_both_sides():
    probs = np.array([[0.9, 0.2], [0.3, 0.1]])
    said = trust.spread_words(member_spread(probs, np.full((2, 2), 0.5), ["MI", "NORM"]))
    assert said["disagree"] and "both sides of the threshold for MI (1 of 2" in said["text"]
    calm = trust.spread_words(member_spread(np.array([[0.9], [0.8]]), [0.5], ["MI"]))
    assert not calm["disagree"] and "agree on every class" in calm["text"]


def test_calibration_words_never_claim_scaled_probabilities():
    """The pages show raw probabilities; a fitted temperature is named, never claimed to be applied."""
    raw = {"label_names": ["A", "B"]}
    scaled = {"label_names": ["A", "B"], "temperature": [1.2, 0.9], "calibration": {"val_ece_after": 0.05}}
    one = trust.calibration_words([raw])
    assert not one["calibrated"] and "not calibrated" in one["text"] and "python -m" not in one["text"]
    fitted = trust.calibration_words([scaled])
    assert not fitted["calibrated"] and fitted["fitted"] == 1
    assert (
        "T: A 1.20, B 0.90; validation ECE after scaling 0.050" in fitted["text"]
        and "not applied here" in fitted["text"]
    )
    assert "temperature-scaled per class" not in fitted["text"]
    assert "1 of 2 members have" in trust.calibration_words([scaled, raw])["text"]
    assert "mean of the 2 members'" in trust.calibration_words([raw, raw])["text"]


# ----------------------------------------------------------------------------- labels with certainty


def _ds(codes, labels, names=("NORM", "MI")):
    records = pd.DataFrame({"ecg_id": [1], "scp_codes": [codes], "report": ["sinus rhythm"]})
    return SimpleNamespace(records=records, labels=np.array([labels]), label_names=names, label_set="superclass")


def _statements():
    return pd.DataFrame(
        {"description": ["anterior MI", "normal ECG", "sinus rhythm"], "diagnostic": [1, 1, np.nan],
         "diagnostic_class": ["MI", "NORM", np.nan], "diagnostic_subclass": ["AMI", "NORM", np.nan],
         "rhythm": [np.nan, np.nan, 1]},
        index=["AMI", "NORM", "SR"],
    )  # fmt: skip


def test_labels_carry_their_statements_and_likelihood():
    ds = _ds({"AMI": 15.0, "NORM": 100.0, "SR": 0.0}, [1, 1])
    labels = labels_with_certainty(ds, 0, _statements())
    assert [lab["text"] for lab in labels] == ["NORM: NORM 100 %", "MI: AMI 15 %"]
    assert labels[1]["uncertain"] and not labels[0]["uncertain"]
    assert ":orange-badge[MI: AMI 15 %]" in certainty_markdown(labels)
    assert certainty_text(labels) == "NORM: NORM 100 % · MI: AMI 15 %"


def test_labels_without_statements_or_likelihood():
    ds = _ds({"AMI": 0.0}, [0, 1])
    assert labels_with_certainty(ds, 0, _statements())[0]["text"] == "MI: AMI 0 (not given)"
    assert labels_with_certainty(ds, 0, None)[0]["text"] == "MI: statements not known"
    assert certainty_markdown([]) == ":gray-badge[no label in this label set]"


def test_similar_note_says_what_is_never_listed():
    assert "never includes record 17 itself or other records of the same patient (patient 4)" in trust.similar_note(
        17, "4", 2
    )
    assert "nothing is excluded" in trust.similar_note(None, None, 0)
