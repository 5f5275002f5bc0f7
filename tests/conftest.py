"""Shared fixtures: one small demo dataset per test session, isolated cache and runs folders, the real
PTB-XL part at ../shared/ptbxl (skipped when absent — a failure under CI=true), and 1-epoch trained
runs of cnn1d and cnn2d on demo fold 0."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One torch thread per process: tests start training subprocesses and an app server beside pytest,
# and oversubscribed OpenMP threads on a 2-core machine slow everything down many-fold.
os.environ.setdefault("OMP_NUM_THREADS", "1")

PROJECT = Path(__file__).resolve().parent.parent
REAL_PTBXL = PROJECT.parent / "shared" / "ptbxl"
DEMO_RECORDS = 300


@pytest.fixture(scope="session", autouse=True)
def isolated_dirs(tmp_path_factory):
    """Cache and runs go to temporary folders; ECGCORE_DATA_ROOT is unset."""
    base = tmp_path_factory.mktemp("ecgcore")
    old = {k: os.environ.get(k) for k in ("ECGCORE_CACHE_DIR", "ECGCORE_RUNS_DIR", "ECGCORE_DATA_ROOT")}
    os.environ["ECGCORE_CACHE_DIR"] = str(base / "cache")
    os.environ["ECGCORE_RUNS_DIR"] = str(base / "runs")
    os.environ.pop("ECGCORE_DATA_ROOT", None)
    yield base
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """A small demo dataset (300 records, 100 Hz) in PTB-XL layout, shared by the session."""
    from ecgcore.demo import make_demo_dataset

    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo", n_records=DEMO_RECORDS, seed=0)


@pytest.fixture(scope="session")
def demo_ds(demo_root):
    from ecgcore.sources import load_ptbxl

    return load_ptbxl(demo_root)


@pytest.fixture(scope="session")
def ptbxl_root() -> Path:
    """The real PTB-XL part; absent → skip, except under CI=true where it must be there."""
    if not (REAL_PTBXL / "ptbxl_database.csv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REAL_PTBXL} is missing; CI must run the real-data tests")
        pytest.skip(f"real PTB-XL part not found at {REAL_PTBXL}")
    return REAL_PTBXL


@pytest.fixture(scope="session")
def real_ds(ptbxl_root):
    from ecgcore.sources import load_ptbxl

    return load_ptbxl(ptbxl_root)


@pytest.fixture(scope="session")
def trained_runs(demo_ds, tmp_path_factory) -> dict[str, Path]:
    """1-epoch runs of cnn1d and cnn2d on demo fold 0, evaluated: {model: run_dir}."""
    from ecgcore.recipes import TrainConfig
    from ecgcore.run_paths import RunPaths
    from ecgcore.service import run_fold

    root = tmp_path_factory.mktemp("trained")
    runs = {}
    for model in ("cnn1d", "cnn2d"):
        path = RunPaths.of(demo_ds.name, demo_ds.label_set, model, 0, root=root).folder
        run_fold(demo_ds, TrainConfig(model=model, epochs=1), path, n_bootstrap=20, pump=False)
        runs[model] = path
    return runs
