"""The Saliency page says what is true (AppTest; issues "What the screen says must be true" and "Where
the model fails"): a link without a fold opens the fold that tests the record, the part shown and the
ensemble's statement agree, true labels carry their certainty, the run says how good it is (and is
flagged), the ensemble's members' spread and the calibration are said, similar cases come on request,
a time-only map claims no top lead, and the 1D-vs-2D pair is computed only when asked for."""

from __future__ import annotations

import re

import numpy as np
import torch

from ecgcore.app.records import record_parts
from tests.app.helpers import charts, texts
from tests.app.test_page_saliency import page, titles


def _record_tested_by(ds, fold: int, part0: str = "train") -> int:
    """An ecg_id tested by ``fold`` that is in ``part0`` of fold 0."""
    parts = record_parts(ds, "cv5", fold)
    parts0 = record_parts(ds, "cv5", 0)
    i = int(np.flatnonzero((parts == "test") & (parts0 == part0))[0])
    return int(ds.records["ecg_id"].iloc[i])


def test_link_without_fold_opens_the_fold_that_tests_the_record(app, demo_ds, two_fold_root):
    ecg_id = _record_tested_by(demo_ds, 1)
    app.query_params.update(ecg_id=str(ecg_id), model="cnn1d")
    at = page(app)
    assert at.selectbox(key="sal_fold").value == ("cv5", 1)
    assert at.selectbox(key="sal_part").value == "test" and at.selectbox(key="sal_ecg_id").value == ecg_id
    assert f"Record {ecg_id} is in the **test** part of fold 1: this model never saw it." in texts(at)
    assert "Not a test" not in texts(at)


def test_link_to_an_untrained_test_fold_says_so_and_never_says_test(app, demo_ds):
    ecg_id = _record_tested_by(demo_ds, 4)
    app.query_params.update(ecg_id=str(ecg_id))
    at = page(app)
    assert at.selectbox(key="sal_fold").value == ("cv5", 0)  # fold 4 is not trained: the run's fold stays
    assert at.selectbox(key="sal_part").value == "train"
    assert "Fold 4 tests it." in texts(at) and "never saw" not in texts(at)


def test_open_the_fold_that_tests_a_training_record(app, demo_ds, two_fold_root):
    ecg_id = _record_tested_by(demo_ds, 1)
    app.query_params.update(ecg_id=str(ecg_id), model="cnn1d", fold="0")  # the link names fold 0
    at = page(app)
    assert at.selectbox(key="sal_fold").value == ("cv5", 0) and "**training** part of fold 0" in texts(at)
    at.button(key="sal_open_test").click().run()
    assert at.selectbox(key="sal_fold").value == ("cv5", 1) and at.selectbox(key="sal_part").value == "test"
    assert at.selectbox(key="sal_ecg_id").value == ecg_id and "never saw it" in texts(at)


def test_record_picked_from_all_records_follows_its_test_fold(app, demo_ds, two_fold_root):
    at = page(app)
    at.selectbox(key="sal_model").set_value("cnn1d").run()
    at.selectbox(key="sal_part").set_value("all").run()
    ecg_id = _record_tested_by(demo_ds, 1)
    at.selectbox(key="sal_ecg_id").set_value(ecg_id).run()
    assert at.selectbox(key="sal_fold").value == ("cv5", 1) and at.selectbox(key="sal_ecg_id").value == ecg_id
    assert "never saw it" in texts(at)


def test_ensemble_part_names_and_statement_agree(app, demo_ds, two_fold_root):
    ecg_id = _record_tested_by(demo_ds, 1)
    app.query_params.update(ecg_id=str(ecg_id), model="cnn1d")
    at = page(app)
    at.radio(key="sal_members").set_value("all").run()
    assert at.selectbox(key="sal_part").value == "test"
    assert not any("never seen" in o for o in at.selectbox(key="sal_part").options)
    warning = " ".join(w.value for w in at.warning)
    assert "Not a test record of the ensemble" in warning and "fold-1 member" in warning
    assert "this model never saw it" not in texts(at)


def test_true_labels_carry_statements_likelihood_report_and_codes(app, demo_ds):
    at = page(app)
    ecg_id = at.selectbox(key="sal_ecg_id").value
    i = int(np.flatnonzero(demo_ds.records["ecg_id"].to_numpy() == ecg_id)[0])
    labels = [n for n, v in zip(demo_ds.label_names, demo_ds.labels[i]) if v]
    shown = next(m.value for m in at.markdown if m.value.startswith("**True labels**"))
    for name in labels:
        assert re.search(rf"badge\[{name}: \w+ (\d+ %|0 \(not given\))", shown), shown
    assert "Report and SCP codes" in [e.label for e in at.expander]
    codes = next(d.value for d in at.dataframe if "likelihood" in d.value.columns)
    assert set(codes["code"]) == set(demo_ds.records["scp_codes"].iloc[i])


def test_run_quality_and_its_flag_stand_next_to_the_prediction(app):
    at = page(app)
    said = texts(at)
    assert re.search(r"How good this model is: cnn\w+: test macro PR-AUC \d\.\d{3} on 1 fold", said), said
    assert "Epochs 1" in said
    flags = [w.value for w in at.warning if "Read this prediction with care" in w.value]
    assert flags and "default trains" in flags[0]  # a 1-epoch run is flagged
    assert re.search(r"predicted: .* — from a flagged run", said)
    assert "not calibrated" in said and "None" not in said


def test_ensemble_spread_is_said_and_drawn(app, two_fold_root):
    fold1 = next(two_fold_root.glob("*/*/cnn1d/fold1")) / "best.pt"
    data = torch.load(fold1, weights_only=False)
    data["meta"]["thresholds"] = [0.0] * len(data["meta"]["label_names"])  # fold 1 calls every class present
    torch.save(data, fold1)
    at = page(app)
    at.selectbox(key="sal_model").set_value("cnn1d").run()
    at.radio(key="sal_members").set_value("all").run()
    split = [w.value for w in at.warning if "both sides of the threshold" in w.value]
    assert split and "of 2 call it present" in split[0]
    assert any("members' probabilities per class" in e.label for e in at.expander)
    assert any(c["layout"].get("xaxis", {}).get("title", {}).get("text") == "probability" for c in charts(at))


def test_similar_cases_only_on_request(app):
    at = page(app)
    ecg_id = at.selectbox(key="sal_ecg_id").value
    assert "never includes" not in texts(at)
    at.toggle(key="sal_similar").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = texts(at)
    assert f"never includes record {ecg_id} itself or other records of the same patient" in said
    thumbs = [
        c
        for c in charts(at)
        if "ecg_id" in c["layout"].get("title", {}).get("text", "") and c["layout"]["height"] <= 140
    ]
    assert len(thumbs) == 5 and f"ecg_id {ecg_id}" not in " ".join(t["layout"]["title"]["text"] for t in thumbs)
    assert "distance" in said and "Report:" in said and "%" in said


def test_time_only_map_says_there_is_no_lead_ranking(app):
    at = page(app)
    at.selectbox(key="sal_model").set_value("cnn1d").run()
    at.selectbox(key="sal_method").set_value("grad_cam").run()
    assert any("No lead ranking" in i.value for i in at.info)
    assert not any(t.strip().startswith("Leads ·") for t in titles(at))


def test_one_d_vs_two_d_only_when_asked(app):
    at = page(app)
    assert not any(t.startswith("cnn1d") for t in titles(at))
    at.toggle(key="sal_pair").set_value(True).run()
    assert not at.exception
    assert any(t.startswith("cnn1d") for t in titles(at)) and any(t.startswith("cnn2d") for t in titles(at))


def test_unlabelled_record_is_shown_without_an_exception(app, demo_root, tmp_path, monkeypatch):
    """A record with no label in the label set (PTB-XL has such, e.g. only a flutter code) was in no
    part of the fold: the page said nothing of it and raised KeyError '—'; now it says so."""
    import pandas as pd

    from ecgcore.sources import load_ptbxl

    ds = load_ptbxl(demo_root)
    unlabelled = np.flatnonzero(~ds.labels.any(axis=1))
    if not len(unlabelled):  # make one: a copy of the demo folder whose first record has only a rhythm code
        import shutil

        root = tmp_path / "demo"
        shutil.copytree(demo_root, root)
        table = pd.read_csv(root / "ptbxl_database.csv")
        table.loc[0, "scp_codes"] = "{'AFLT': 100.0}"
        table.to_csv(root / "ptbxl_database.csv", index=False)
        monkeypatch.setenv("ECGCORE_DATA_ROOT", str(root))
        ecg_id = int(table["ecg_id"].iloc[0])
    else:
        ecg_id = int(ds.records["ecg_id"].iloc[int(unlabelled[0])])
    app.query_params.update(ecg_id=str(ecg_id))
    at = page(app)
    assert not at.exception
    assert "has no label in this label set: it is in no part of any fold" in texts(at)
