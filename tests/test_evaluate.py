"""ecgcore.evaluate: results.json of a trained run (keys, thresholds from validation, test
predictions), the guard against the wrong dataset, the fold summary and the paired model comparison."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ecgcore import thresholds
from ecgcore.checkpoints import load_checkpoint
from ecgcore.compare import compare_runs
from ecgcore.errors import CheckpointError, ResultsError
from ecgcore.evaluate import comparison_table, evaluate_run, read_results, summarize_model
from ecgcore.fileio import write_json
from ecgcore.folds import get_fold
from ecgcore.inference import predict_proba
from ecgcore.metrics import MACRO_METRICS, evaluate_predictions, read_json
from ecgcore.run_paths import RunPaths
from ecgcore.thresholds import choose_thresholds

RESULT_KEYS = {
    "macro_pr_auc",
    "micro_pr_auc",
    "macro_roc_auc",
    "f1_macro",
    "f1_micro",
    "f1_macro_at_0.5",
    "f1_micro_at_0.5",
    "n_records",
    "n_classes_scored",
    "per_class",
    "ci95",
    "model",
    "model_config",
    "fold",
    "plan",
    "label_names",
    "thresholds",
    "checkpoint",
    "best_epoch",
    "dataset",
    "counts",
    "test_ecg_ids",
    "test_true",
    "test_prob",
    "evaluated",
}


def fold0(ds):
    return get_fold(ds.records, ds.labels.any(axis=1), "cv5", 0)


@pytest.mark.parametrize("model", ["cnn1d", "cnn2d"])
def test_results_json(trained_runs, demo_ds, model):
    path = trained_runs[model]
    results = read_results(path)
    assert RESULT_KEYS <= set(results)
    assert results["model"] == model and results["fold"] == 0 and results["plan"] == "cv5"
    assert results["label_names"] == list(demo_ds.label_names)
    assert set(results["per_class"]) == set(demo_ds.label_names)
    assert results["dataset"]["name"] == "demo" and "DEMO" in results["dataset"]["description"]
    fold = fold0(demo_ds)
    assert results["counts"] == {"train": len(fold.train), "val": len(fold.val), "test": len(fold.test)}
    assert results["test_ecg_ids"] == demo_ds.records["ecg_id"].iloc[fold.test].tolist()
    assert results["test_true"] == demo_ds.labels[fold.test].astype(int).tolist()
    # the stored probabilities are best.pt's on the test part
    best, _ = load_checkpoint(path / "best.pt")
    prob = predict_proba(best, demo_ds.signals[fold.test], "cpu")
    np.testing.assert_allclose(results["test_prob"], prob, atol=1e-5)
    # thresholds = the F1-maximising ones on the validation part
    val_prob = predict_proba(best, demo_ds.signals[fold.val], "cpu")
    expected_thr = choose_thresholds(demo_ds.labels[fold.val], val_prob)
    np.testing.assert_allclose(results["thresholds"], expected_thr, rtol=1e-5)
    assert [results["per_class"][n]["threshold"] for n in demo_ds.label_names] == pytest.approx(results["thresholds"])
    # the metrics are those of the stored predictions at those thresholds
    again = evaluate_predictions(
        np.array(results["test_true"]),
        np.array(results["test_prob"]),
        demo_ds.label_names,
        np.array(results["thresholds"]),
        n_bootstrap=0,
    )
    for k in ("macro_pr_auc", "macro_roc_auc", "f1_macro", "f1_micro"):
        assert results[k] == pytest.approx(again[k], abs=1e-3)
    lo, hi = results["ci95"]["macro_pr_auc"]
    assert lo <= hi
    png = (path / "confusion.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_thresholds_come_from_the_checkpoint(trained_runs, demo_ds, monkeypatch, tmp_path):
    """One source: evaluate uses the thresholds training chose on validation and stored in best.pt;
    nothing is recomputed (choose_thresholds is not called)."""
    import shutil

    path = tmp_path / "run"
    shutil.copytree(trained_runs["cnn1d"], path)
    monkeypatch.setattr(thresholds, "choose_thresholds", lambda *a: pytest.fail("recomputed"))
    results = evaluate_run(demo_ds, path, "cpu", n_bootstrap=0)
    _, meta = load_checkpoint(path / "best.pt")
    assert results["thresholds"] == meta["thresholds"] and results["threshold_source"] == "checkpoint"
    chosen, source = thresholds.decision_thresholds(meta)
    assert chosen.tolist() == meta["thresholds"] and source == "checkpoint"


def test_old_checkpoint_without_thresholds_recomputes_them_on_validation(trained_runs, demo_ds, monkeypatch, tmp_path):
    """Spy on choose_thresholds: for a checkpoint without stored thresholds, evaluate_run gives it the
    validation labels and probabilities only — and gets the numbers training stored."""
    import shutil

    import torch

    path = tmp_path / "run"
    shutil.copytree(trained_runs["cnn1d"], path)
    data = torch.load(path / "best.pt", weights_only=True)
    stored = data["meta"].pop("thresholds")
    torch.save(data, path / "best.pt")
    seen = []
    real = thresholds.choose_thresholds

    def spy(y, p):
        seen.append((np.asarray(y).copy(), np.asarray(p).copy()))
        return real(y, p)

    monkeypatch.setattr(thresholds, "choose_thresholds", spy)
    results = evaluate_run(demo_ds, path, "cpu", n_bootstrap=0)
    fold = fold0(demo_ds)
    assert len(seen) == 1 and results["threshold_source"] == "validation"
    y, p = seen[0]
    np.testing.assert_array_equal(y, demo_ds.labels[fold.val])
    assert len(p) == len(fold.val)
    np.testing.assert_allclose(results["thresholds"], real(y, p))
    np.testing.assert_allclose(results["thresholds"], stored, atol=1e-4)  # what training chose on validation
    # and they are not the thresholds the test part would pick (which would be a leak)
    test_thr = real(np.array(results["test_true"]), np.array(results["test_prob"]))
    assert not np.allclose(results["thresholds"], test_thr)
    # without a dataset (one uploaded record) an old checkpoint falls back to 0.5, and says so
    meta = data["meta"]
    assert thresholds.decision_thresholds(meta)[1] == "default 0.5"
    assert thresholds.decision_thresholds(meta)[0].tolist() == [0.5] * len(demo_ds.label_names)


def test_wrong_dataset_or_labels_refused(trained_runs, demo_ds):
    path = trained_runs["cnn1d"]
    other = dataclasses.replace(demo_ds, fingerprint="0badf00d", name="other-0badf00d")
    with pytest.raises(CheckpointError, match="trained on dataset demo"):
        evaluate_run(other, path, "cpu", n_bootstrap=0)
    relabelled = dataclasses.replace(demo_ds, label_names=("A", "B", "C", "D", "E"))
    with pytest.raises(CheckpointError, match="label_names"):
        evaluate_run(relabelled, path, "cpu", n_bootstrap=0)
    with pytest.raises(CheckpointError, match="does not exist"):
        evaluate_run(demo_ds, path.parent / "fold3", "cpu")


def fake_results(root, ds, model, fold, values):
    path = RunPaths.of(ds.name, ds.label_set, model, fold, root=root).folder
    write_json(path / "results.json", dict(zip(MACRO_METRICS, values)))


def test_summarize_model_mean_std(tmp_path, demo_ds):
    rng = np.random.default_rng(0)
    table = rng.random((3, len(MACRO_METRICS)))
    for k in range(3):
        fake_results(tmp_path, demo_ds, "cnn1d", k, table[k].tolist())
    summary = summarize_model(demo_ds, "cnn1d", [0, 1, 2], root=tmp_path)
    for j, m in enumerate(MACRO_METRICS):
        assert summary["summary"][m]["mean"] == pytest.approx(table[:, j].mean())
        assert summary["summary"][m]["std"] == pytest.approx(table[:, j].std(ddof=1))
        assert summary["summary"][m]["n_folds"] == 3
        assert summary["folds"][1][m] == pytest.approx(table[1, j])
    on_disk = read_json(tmp_path / "demo" / "superclass" / "cnn1d" / "summary.json")
    assert on_disk["summary"]["macro_pr_auc"]["mean"] == pytest.approx(table[:, 0].mean())
    with pytest.raises(ResultsError, match="fold4"):
        summarize_model(demo_ds, "cnn1d", [0, 4], root=tmp_path)


def test_compare_runs_paired_differences(tmp_path, demo_ds):
    a = {0: [0.70, 0.72, 0.88, 0.60, 0.65], 1: [0.68, 0.70, 0.86, 0.58, 0.63], 2: [0.74, 0.75, 0.90, 0.62, 0.66]}
    b = {0: [0.60, 0.62, 0.83, 0.50, 0.55], 1: [0.61, 0.60, 0.80, 0.49, 0.57], 2: [0.59, 0.66, 0.84, 0.52, 0.58]}
    for k in a:
        fake_results(tmp_path, demo_ds, "cnn1d", k, a[k])
        fake_results(tmp_path, demo_ds, "cnn2d", k, b[k])
    fake_results(tmp_path, demo_ds, "cnn1d", 3, [0.9] * 5)  # fold 3 only for one model: left out
    pair = (("cnn1d", "default"), ("cnn2d", "default"))
    out = compare_runs(demo_ds.name, demo_ds.label_set, pair, root=tmp_path)
    assert sorted({r["fold"] for r in out["per_fold"]}) == [0, 1, 2]
    for j, m in enumerate(MACRO_METRICS):
        diff = np.array([a[k][j] - b[k][j] for k in (0, 1, 2)])
        pd_ = out["paired_difference"][m]
        assert pd_["per_fold"] == pytest.approx(diff.tolist())
        assert pd_["mean"] == pytest.approx(diff.mean())
        assert pd_["std"] == pytest.approx(diff.std(ddof=1))
        assert out["summary"]["cnn1d"][m]["mean"] == pytest.approx(np.mean([a[k][j] for k in (0, 1, 2)]))
        assert out["summary"]["cnn2d"][m]["std"] == pytest.approx(np.std([b[k][j] for k in (0, 1, 2)], ddof=1))
    assert read_json(tmp_path / "demo" / "superclass" / "compare.json")["models"] == ["cnn1d", "cnn2d"]
    table = comparison_table(demo_ds, ("cnn1d", "cnn2d"), root=tmp_path)
    assert list(table.columns) == ["fold", "model", *MACRO_METRICS] and len(table) == 6
    # reversed order: the differences change sign
    rev = compare_runs(demo_ds.name, demo_ds.label_set, pair[::-1], root=tmp_path)
    assert rev["paired_difference"]["macro_pr_auc"]["mean"] == pytest.approx(
        -out["paired_difference"]["macro_pr_auc"]["mean"]
    )


def test_compare_runs_without_common_folds(tmp_path, demo_ds):
    fake_results(tmp_path, demo_ds, "cnn1d", 0, [0.5] * 5)
    with pytest.raises(ResultsError, match="train and evaluate the same folds of both"):
        compare_runs(demo_ds.name, demo_ds.label_set, (("cnn1d", "default"), ("cnn2d", "default")), root=tmp_path)


def test_compare_trained_runs(trained_runs, demo_ds):
    root = trained_runs["cnn1d"].parents[3]
    out = compare_runs(demo_ds.name, demo_ds.label_set, (("cnn1d", "default"), ("cnn2d", "default")), root=root)
    r1, r2 = read_results(trained_runs["cnn1d"]), read_results(trained_runs["cnn2d"])
    d = out["paired_difference"]["macro_pr_auc"]
    assert d["per_fold"] == pytest.approx([r1["macro_pr_auc"] - r2["macro_pr_auc"]])
    assert d["std"] is None  # no spread from one paired fold


def test_predict_proba_shapes(trained_runs, demo_ds):
    model, _ = load_checkpoint(trained_runs["cnn2d"] / "best.pt")
    p = predict_proba(model, demo_ds.signals[:7], "cpu", batch_size=3)
    assert p.shape == (7, 5) and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p[2:4], predict_proba(model, demo_ds.signals[2:4], "cpu"), atol=1e-6)
