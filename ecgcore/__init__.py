"""ecgcore — the library behind the ECG explorer: PTB-XL reading, labels, patient-disjoint folds,
models, training, evaluation and saliency. Research and education only, not for diagnosis.

The small public API::

    ds = load_ptbxl("path/to/ptbxl")                      # or no path: the demo dataset
    model = create_model("cnn1d", n_classes=5)
    path = RunPaths.of(ds.name, ds.label_set, "cnn1d", 0, run_name="default").folder
    run_fold(ds, TrainConfig(model="cnn1d", fold=0), path)  # lock, train, evaluate, status (the CLI's way)
    train_fold(ds, TrainConfig(model="cnn1d", fold=0), path)  # the training alone
    evaluate_run(ds, path)                                # results.json + confusion.png
    run_state(path)                                       # TaskState.DONE, …
    model, meta = load_checkpoint(RunPaths(path).best)
    saliency_map(model, ds.signals[i], target=0, method="integrated_gradients")
"""

import importlib

# name -> module; imported on first use, so `import ecgcore.data` (the cache workers, `info`) does not
# pay for torch and captum
_API = {
    "ECGCoreError": "ecgcore.errors",
    "ECGDataset": "ecgcore.data",
    "load_ptbxl": "ecgcore.sources",  # resolves no root to $ECGCORE_DATA_ROOT, else the demo set
    "patient_folds": "ecgcore.folds",
    "create_model": "ecgcore.models",
    "list_models": "ecgcore.models",
    "TrainConfig": "ecgcore.recipes",
    "check_config": "ecgcore.recipes",
    "run_fold": "ecgcore.service",
    "TaskState": "ecgcore.background",
    "RunPaths": "ecgcore.run_paths",
    "run_state": "ecgcore.runs",
    "list_runs": "ecgcore.runs",
    "train_fold": "ecgcore.train",
    "evaluate_run": "ecgcore.evaluate",
    "load_checkpoint": "ecgcore.checkpoints",
    "SaliencyMethod": "ecgcore.saliency",
    "saliency_map": "ecgcore.saliency",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'ecgcore' has no attribute {name!r}")
