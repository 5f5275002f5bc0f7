"""train --seeds: each fold with seeds 0 … N−1 as one run group (seed 0 the run itself, seed s the run
<name>-s<s>), and compare's mean ± sd over seeds, then over folds, paired by fold with seeds averaged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgcore.__main__ import main
from ecgcore.compare import average_seeds, compare_runs
from ecgcore.errors import RunError
from ecgcore.run_paths import RunPaths, group_label, seed_members, seed_of, seed_run_name
from ecgcore.service import TrainRequest, check_request


def test_seed_run_names_and_labels():
    assert seed_run_name("x", 0) == "x" and seed_run_name("x", 2) == "x-s2" and seed_of("x-s2") == ("x", 2)
    assert seed_of("x") == ("x", 0) and seed_of("x-s0") == ("x-s0", 0)  # only s1, s2 … are seeds
    assert group_label("cnn1d", "x-s2") == "cnn1d · run x · seed 2"
    assert group_label("cnn1d", "default-s1") == "cnn1d · seed 1"
    assert group_label("cnn1d", "lr-t3") == "cnn1d · sweep lr · trial 3"


def test_a_request_with_seeds_checks_each_member():
    request = TrainRequest("cnn1d", [0, 1], {"epochs": 1}, run_name="r", seeds=2)
    assert request.members() == [(0, 0, "r"), (0, 1, "r-s1"), (1, 0, "r"), (1, 1, "r-s1")]
    assert {name: c.seed for (_, name), c in check_request(request).items()} == {"r": 0, "r-s1": 1}
    with pytest.raises(RunError, match="leave --seed out"):
        check_request(TrainRequest("cnn1d", [0], {"seed": 4}, seeds=2))
    with pytest.raises(RunError, match="--seeds 0"):
        check_request(TrainRequest("cnn1d", [0], seeds=0))


def test_average_seeds_then_folds():
    r = lambda v: {"macro_pr_auc": v, "label_names": ["A"], "plan": "p", "dataset": {}}  # noqa: E731
    means, spread = average_seeds({0: {0: r(0.5), 1: r(0.7)}, 1: {0: r(0.7)}})
    assert means[0]["macro_pr_auc"] == pytest.approx(0.6) and means[0]["seeds"] == 2
    assert means[1]["macro_pr_auc"] == pytest.approx(0.7) and means[1]["seeds"] == 1
    assert spread[0]["macro_pr_auc"] == pytest.approx(np.std([0.5, 0.7], ddof=1)) and spread[1]["macro_pr_auc"] == 0.0


@pytest.mark.slow
def test_train_seeds_then_compare(demo_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    for model in ("cnn1d", "cnn2d"):
        argv = ["train", "--data_root", str(demo_root), "--runs_dir", str(runs), "--model", model, "--fold", "0",
                "--epochs", "1", "--run_name", "fair", "--seeds", "2"]  # fmt: skip
        assert main(argv) == 0
    members = seed_members("demo", "superclass", "cnn1d", "fair", runs)
    assert members == {0: "cnn1d@fair", 1: "cnn1d@fair-s1"}
    folders = {s: RunPaths.of("demo", "superclass", g, 0, root=runs).folder for s, g in members.items()}
    assert [json.loads(RunPaths(f).status.read_text())["config"]["seed"] for f in folders.values()] == [0, 1]
    capsys.readouterr()
    assert (
        main(
            [
                "compare",
                "--data_root",
                str(demo_root),
                "--runs_dir",
                str(runs),
                "--a",
                "cnn1d:fair",
                "--b",
                "cnn2d:fair",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "cnn1d@fair: each fold is the mean of its 2 seeds" in printed
    out = json.loads((runs / "demo" / "superclass" / "compare.json").read_text())
    seed_scores = [json.loads(RunPaths(f).results.read_text())["macro_pr_auc"] for f in folders.values()]
    fold0 = next(r for r in out["per_fold"] if r["fold"] == 0 and r["model"] == "cnn1d@fair")
    assert fold0["macro_pr_auc"] == pytest.approx(np.mean(seed_scores)) and fold0["seeds"] == 2
    assert out["paired_difference"]["macro_pr_auc"]["per_fold"] == pytest.approx(
        [next(r for r in out["per_fold"] if r["fold"] == k and r["model"] == "cnn1d@fair")["macro_pr_auc"]
         - next(r for r in out["per_fold"] if r["fold"] == k and r["model"] == "cnn2d@fair")["macro_pr_auc"] for k in (0,)]
    )  # fmt: skip
    assert compare_runs("demo", "superclass", (("cnn1d", "fair"), ("cnn2d", "fair")), root=runs)["seeds"][
        "cnn2d@fair"
    ] == {0: 2}
