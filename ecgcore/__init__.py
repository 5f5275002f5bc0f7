"""ecgcore — the library behind the ECG explorer: PTB-XL reading, labels, patient-disjoint folds,
models, training, evaluation and saliency. Research and education only, not for diagnosis.

The small public API::

    ds = load_ptbxl("path/to/ptbxl")                      # or no path: the demo dataset
    model = create_model("cnn1d", n_classes=5)
    train_fold(ds, TrainConfig(model="cnn1d", fold=0), run_dir("…"))
    evaluate_run(ds, run_path)                            # results.json + confusion.png
    model, meta = load_checkpoint(run_path / "best.pt")
    saliency_map(model, ds.signals[i], target=0, method="integrated_gradients")
"""

from ecgcore.checkpoints import load_checkpoint
from ecgcore.data import ECGDataset, load_ptbxl
from ecgcore.errors import ECGCoreError
from ecgcore.evaluate import evaluate_run
from ecgcore.folds import patient_folds
from ecgcore.models import create_model, list_models
from ecgcore.saliency import SaliencyMethod, saliency_map
from ecgcore.train import TrainConfig, train_fold

__all__ = [
    "ECGCoreError",
    "ECGDataset",
    "SaliencyMethod",
    "TrainConfig",
    "create_model",
    "evaluate_run",
    "list_models",
    "load_checkpoint",
    "load_ptbxl",
    "patient_folds",
    "saliency_map",
    "train_fold",
]
