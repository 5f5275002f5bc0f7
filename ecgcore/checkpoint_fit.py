"""Does a checkpoint fit a dataset (layer 2, no torch): the one home of that rule, with one meaning.

* :func:`fit_problem`: can the checkpoint be applied to this data at all — same model, label names,
  label set, sampling rate and (where asked) dataset. A key the checkpoint does not record is not checked.
* :func:`same_dataset`: was the checkpoint trained on *this* dataset, so that its fold split (and so
  which records it saw in training) holds here. The dataset's fingerprint decides; a checkpoint that
  records no fingerprint (older versions) is taken by its dataset's name, and one that records neither
  is not known to be (False). Evaluation, class summaries and the "seen in training" notes all use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def fit_problem(
    meta: dict,
    label_names: Sequence[str] | None,
    label_set: str | None,
    sampling_rate: int | None,
    *,
    model: str | None = None,
    fingerprint: str | None = None,
    dataset_name: str | None = None,
) -> str | None:
    """Does a checkpoint (its ``meta``) fit this dataset? None if it does, else ``"was trained with
    <what> <then>, not <now>"`` for the first mismatch (callers put the file before it and what to do
    after it). An argument left None is not checked; a key the checkpoint lacks is not checked."""
    trained = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
    checks = (
        ("model", "model", meta.get("model"), model),
        ("labels (label_names)", "label_names", meta.get("label_names"), label_names),
        ("label set (label_set)", "label_set", meta.get("label_set"), label_set),
        ("sampling rate (sampling_rate)", "sampling_rate", meta.get("sampling_rate"), sampling_rate),
        ("dataset", "dataset", trained.get("fingerprint"), fingerprint),
    )
    for what, key, then, now in checks:
        if now is None or (key != "dataset" and key not in meta) or (key == "dataset" and then is None):
            continue
        if _plain(then) != _plain(now):
            shown = (trained.get("name"), dataset_name) if key == "dataset" else (then, now)
            return f"was trained with {what} {_plain(shown[0])!r}, not {_plain(shown[1])!r}"
    return None


def _plain(value):
    return list(value) if isinstance(value, tuple | list) else value


def same_dataset(meta: Mapping, fingerprint: str | None, name: str | None) -> bool:
    """True when the checkpoint (its ``meta``) was trained on the dataset with this ``fingerprint``
    (see the module docstring for checkpoints that record none)."""
    trained = meta.get("dataset") if isinstance(meta.get("dataset"), Mapping) else {}
    if trained.get("fingerprint") is not None:
        return trained["fingerprint"] == fingerprint
    return trained.get("name") is not None and trained.get("name") == name
