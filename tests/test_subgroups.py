"""Subgroups (issue "where the model fails"): bands and groups from PTB-XL's own columns, per-group
metrics equal to scikit-learn's, intervals only where a group is large enough, and ``eval --by``."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ecgcore.__main__ import main
from ecgcore.errors import DataError
from ecgcore.subgroups import (
    MIN_CASES,
    check_by,
    class_likelihoods,
    group_metrics,
    membership,
    run_subgroups,
    subgroup_frame,
    subgroup_rows,
)

NAMES = ("A", "B")


def _data(n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.3).astype(int)
    p = np.clip(0.35 * y + 0.65 * rng.random((n, 2)), 0, 1)
    return y, p


def test_age_bands_sex_and_validated_by_human():
    table = pd.DataFrame(
        {
            "age": [12, 40, 59, 60, 79.9, 80, 300, np.nan],
            "sex": [0, 1, 0, 1, 0, 1, np.nan, 0],
            "validated_by_human": [True, False, "True", "False", True, True, None, False],
        }
    )
    y = np.zeros((8, 2), int)
    age = membership("age", table, y)
    assert list(age) == ["<40", "40–59", "60–79", "≥80", "unknown"]  # 300 (PTB-XL's >89) is ≥80
    assert age["≥80"][:, 0].tolist() == [False] * 5 + [True, True, False]
    assert age["unknown"][:, 1].tolist() == [False] * 7 + [True]
    sex = membership("sex", table, y)
    assert sex["male"][:, 0].sum() == 4 and sex["female"][:, 0].sum() == 3 and sex["unknown"][:, 0].sum() == 1
    human = membership("validated_by_human", table, y)
    assert human["yes"][:, 0].sum() == 4 and human["no"][:, 0].sum() == 3


def test_likelihood_group_is_its_band_positives_and_every_negative():
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    lik = np.array([[35, np.nan], [100, np.nan], [np.nan, 50], [np.nan, np.nan]])
    groups = membership("likelihood", pd.DataFrame(index=range(4)), y, lik)
    assert groups["<50"][:, 0].tolist() == [True, False, True, True]
    assert groups["100"][:, 0].tolist() == [False, True, True, True]
    assert groups["50–99"][:, 1].tolist() == [True, True, True, True]
    assert groups["<50"][:, 1].tolist() == [True, True, False, True]


def test_class_likelihoods_take_the_largest_statement_of_the_class():
    statements = pd.DataFrame(
        {
            "diagnostic": [1, 1, 1, 0],
            "diagnostic_class": ["MI", "MI", "NORM", None],
            "diagnostic_subclass": ["IMI", "AMI", "NORM", None],
        },
        index=["IMI", "ASMI", "NORM", "SR"],
    )
    out = class_likelihoods(
        [{"IMI": 15.0, "ASMI": 50.0, "SR": 0.0}, {"NORM": 100.0}], statements, "superclass", ("NORM", "MI")
    )
    assert np.isnan(out[0, 0]) and out[0, 1] == 50 and out[1, 0] == 100 and np.isnan(out[1, 1])


def test_group_figures_equal_scikit_learn_and_large_groups_get_intervals():
    y, p = _data()
    rows = group_metrics(y, p, np.ones(y.shape, bool), NAMES, n_bootstrap=100)
    macro, a, b = rows
    assert macro["class"] == "macro" and a["class"] == "A"
    assert a["pr_auc"] == pytest.approx(average_precision_score(y[:, 0], p[:, 0]))
    assert b["roc_auc"] == pytest.approx(roc_auc_score(y[:, 1], p[:, 1]))
    assert macro["pr_auc"] == pytest.approx((a["pr_auc"] + b["pr_auc"]) / 2)
    for r in rows:
        assert not r["small"] and r["note"] is None
        assert r["pr_auc_lo"] <= r["pr_auc"] <= r["pr_auc_hi"]


def test_a_small_group_says_so_and_gets_no_interval():
    y, p = _data()
    member = np.zeros(y.shape, bool)
    member[:25] = True
    rows = group_metrics(y, p, member, NAMES, n_bootstrap=100)
    for r in rows[1:]:
        if r["positives"] < MIN_CASES:
            assert r["small"] and r["pr_auc_lo"] is None and "too few" in r["note"]
    assert rows[0]["small"] and rows[0]["pr_auc_lo"] is None and "too few" in rows[0]["note"]
    assert rows[0]["pr_auc"] is not None  # the point figure stays, marked small


def test_a_group_without_both_outcomes_has_no_figure():
    y, p = _data()
    member = np.repeat((y[:, 0] == 0)[:, None], 2, axis=1)  # only negatives of A
    a = group_metrics(y, p, member, NAMES, n_bootstrap=50)[1]
    assert a["pr_auc"] is None and a["roc_auc"] is None and "no figure" in a["note"]


def test_rows_start_with_the_whole_test_part():
    y, p = _data()
    table = pd.DataFrame({"sex": np.arange(len(y)) % 2})
    frame = subgroup_frame(subgroup_rows("sex", table, y, p, NAMES, n_bootstrap=20))
    assert frame["group"].tolist()[:3] == ["all"] * 3 and set(frame["group"]) == {"all", "male", "female"}


def test_unknown_by_is_refused():
    with pytest.raises(DataError, match="not a subgroup column"):
        check_by("nurse")


def test_eval_writes_subgroups_and_prints_by(trained_runs, demo_root, capsys):
    folder = trained_runs["cnn1d"]
    root = folder.parents[3]
    argv = ["eval", "--data_root", str(demo_root), "--runs_dir", str(root), "--fold", "0", "--n_bootstrap", "20"]
    assert main([*argv, "--by", "age"]) == 0
    out = capsys.readouterr().out
    assert "by age" in out and "60–79" in out
    frame = run_subgroups(folder, "likelihood")
    assert {"all", "<50", "50–99", "100"} >= set(frame["group"]) and frame["n"].gt(0).all()


@pytest.mark.parametrize(("by", "message"), [("nurse", "not a subgroup column"), ("device", "has no 'device' values")])
def test_eval_by_a_column_the_data_lacks_is_one_line_exit_2(by, message, demo_root, tmp_path, capsys):
    root = tmp_path / "nodevice"
    root.mkdir()
    table = pd.read_csv(demo_root / "ptbxl_database.csv").drop(columns=["device"])
    table.to_csv(root / "ptbxl_database.csv", index=False)
    shutil.copy(demo_root / "scp_statements.csv", root)
    shutil.copytree(demo_root / "records100", root / "records100")
    assert (
        main(["eval", "--data_root", str(root), "--runs_dir", str(tmp_path / "runs"), "--fold", "0", "--by", by]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1 and message in err, err
