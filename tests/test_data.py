"""ecgcore.data: the loaded dataset (shapes, units, columns, values equal to wfdb), the signal cache
(memory-mapped reuse, rebuilt when the dataset changes) and every DataError a user can cause."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
from ptbxl_files import small_copy, write_record

import ecgcore.records as records
import ecgcore.signal_cache as signal_cache
import ecgcore.sources as sources
from ecgcore.errors import DataError
from ecgcore.records import LEADS
from ecgcore.sources import load_ptbxl

RECORD_COLUMNS = ["ecg_id", "patient_id", "age", "sex", "strat_fold", "report", "scp_codes"]


def rdsamp(root: Path, filename: str) -> np.ndarray:
    signal, fields = wfdb.rdsamp(str(root / filename))
    assert fields["units"] == ["mV"] * 12
    return signal.T.astype(np.float32)


def cache_files(root: Path) -> list[Path]:
    prefix = signal_cache._cache_paths(root, 100, "key")[2]  # <folder>-<hash of its path>-100hz
    return list((signal_cache.cache_root() / "signals").glob(f"{prefix}-*.npy"))


def filenames(root: Path) -> list[str]:
    return pd.read_csv(root / "ptbxl_database.csv")["filename_lr"].tolist()


# ----------------------------------------------------------------------------- the loaded dataset


def test_demo_dataset_shapes_and_records(demo_ds, demo_root):
    ds = demo_ds
    table = pd.read_csv(demo_root / "ptbxl_database.csv")
    n = len(table)
    assert ds.signals.shape == (n, 12, 1000)
    assert ds.signals.dtype == np.float32
    assert ds.labels.shape == (n, 5)
    assert ds.label_names == ("NORM", "MI", "STTC", "CD", "HYP")
    assert set(RECORD_COLUMNS) <= set(ds.records.columns)
    assert ds.records["ecg_id"].tolist() == table["ecg_id"].tolist()
    assert ds.records["patient_id"].tolist() == table["patient_id"].tolist()
    assert ds.records["strat_fold"].tolist() == table["strat_fold"].tolist()
    assert ds.records["sex"].tolist() == table["sex"].tolist()
    np.testing.assert_array_equal(ds.records["age"].to_numpy(), table["age"].to_numpy())
    assert ds.records["report"].tolist() == table["report"].fillna("").astype(str).tolist()
    assert all(isinstance(c, dict) for c in ds.records["scp_codes"])
    assert ds.records["scp_codes"].iloc[0] == eval_dict(table["scp_codes"].iloc[0])
    assert ds.sampling_rate == 100 and ds.label_set == "superclass"
    assert ds.name == "demo" and ds.is_demo
    assert "DEMO" in ds.description and f"{n:,} records" in ds.description
    assert ds.skipped == []


def eval_dict(text: str) -> dict:
    import ast

    return {k: float(v) for k, v in ast.literal_eval(text).items()}


def test_signals_equal_wfdb_rdsamp_in_mv(demo_ds, demo_root):
    names = filenames(demo_root)
    for i in (0, 1, 137, len(names) - 1):
        np.testing.assert_array_equal(np.asarray(demo_ds.signals[i]), rdsamp(demo_root, names[i]))
    # mV: an ECG's QRS is a fraction of a mV to a few mV, never hundreds (µV) or thousandths (V)
    peak = np.abs(np.asarray(demo_ds.signals[:50])).max(axis=(1, 2))
    assert 0.2 < np.median(peak) < 10


def test_lead_order_from_header(tmp_path, demo_root):
    """Signals are in LEADS order: a record's lead k is the header's lead k."""
    root = small_copy(demo_root, tmp_path / "d", n=3)
    f = filenames(root)[1]
    sig = np.zeros((1000, 12))
    sig[:, 7] = 1.5  # only V2 (with one peak: a record of constant leads is refused as "no signal")
    sig[500, 7] = 2.0
    write_record(root, f, sig)
    ds = load_ptbxl(root)
    row = np.asarray(ds.signals[1])
    assert np.allclose(np.delete(row[7], 500), 1.5) and np.isclose(row[7, 500], 2.0)
    assert np.allclose(np.delete(row, 7, axis=0), 0)


# ----------------------------------------------------------------------------- cache


def test_second_load_is_memory_mapped_cache(tmp_path, demo_root, monkeypatch):
    root = small_copy(demo_root, tmp_path / "d", n=10)
    first = load_ptbxl(root)
    cached = cache_files(root)
    assert cached, "no cache file written under ECGCORE_CACHE_DIR"

    def no_reading(*args, **kwargs):
        raise AssertionError("the records were read again instead of using the cache")

    monkeypatch.setattr(signal_cache, "read_all_records", no_reading)
    second = load_ptbxl(root)
    assert isinstance(second.signals, np.memmap)
    np.testing.assert_array_equal(np.asarray(first.signals), np.asarray(second.signals))
    np.testing.assert_array_equal(first.labels, second.labels)


def test_touched_record_rebuilds_cache(tmp_path, demo_root, monkeypatch):
    root = small_copy(demo_root, tmp_path / "d", n=10)
    load_ptbxl(root)
    calls = []
    real = signal_cache.read_all_records
    monkeypatch.setattr(signal_cache, "read_all_records", lambda *a, **k: calls.append(1) or real(*a, **k))
    dat = root / f"{filenames(root)[4]}.dat"
    st = dat.stat()
    os.utime(dat, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touch: only the mtime changes
    load_ptbxl(root)
    assert calls, "a record with a new mtime did not rebuild the cache"


def test_modified_record_is_read_again_not_stale(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=10)
    names = filenames(root)
    before = np.asarray(load_ptbxl(root).signals[4]).copy()
    new = np.random.default_rng(1).normal(0, 0.5, (1000, 12))
    write_record(root, names[4], new)  # same size and layout, new content and mtime
    ds = load_ptbxl(root)
    np.testing.assert_allclose(np.asarray(ds.signals[4]), new.T, atol=1e-3)
    assert not np.allclose(np.asarray(ds.signals[4]), before)
    np.testing.assert_array_equal(np.asarray(ds.signals[4]), rdsamp(root, names[4]))
    # only one cache file per dataset folder is kept
    assert len(cache_files(root)) == 1


def test_modified_csv_is_detected(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=10)
    assert len(load_ptbxl(root).records) == 10
    table = pd.read_csv(root / "ptbxl_database.csv")
    table.drop(index=[0, 5]).to_csv(root / "ptbxl_database.csv", index=False)
    ds = load_ptbxl(root)
    assert len(ds.records) == 8 and ds.signals.shape[0] == 8
    np.testing.assert_array_equal(np.asarray(ds.signals[0]), rdsamp(root, table["filename_lr"][1]))
    # a label change in the csv alone (no record file changes) shows up too
    table = pd.read_csv(root / "ptbxl_database.csv")
    table["scp_codes"] = "{'NORM': 100.0}"
    table.to_csv(root / "ptbxl_database.csv", index=False)
    ds = load_ptbxl(root)
    assert ds.labels[:, 0].all() and not ds.labels[:, 1:].any()


def test_records_deleted_after_caching_are_detected(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=10)
    load_ptbxl(root)
    f = filenames(root)[2]
    (root / f"{f}.dat").unlink()
    with pytest.raises(DataError, match=f"{f}.dat"):
        load_ptbxl(root)


# ----------------------------------------------------------------------------- errors


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "nope")):
        load_ptbxl(tmp_path / "nope")


def test_missing_database_csv(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=3)
    (root / "ptbxl_database.csv").unlink()
    with pytest.raises(DataError, match="ptbxl_database.csv"):
        load_ptbxl(root)


def test_missing_statements_csv(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=3)
    (root / "scp_statements.csv").unlink()
    with pytest.raises(DataError, match="scp_statements.csv"):
        load_ptbxl(root)
    # prediction on user data needs no labels
    ds = load_ptbxl(root, require_labels=False)
    assert ds.labels.shape == (3, 0) and ds.signals.shape == (3, 12, 1000)


@pytest.mark.parametrize("column", ["ecg_id", "filename_lr"])
def test_missing_columns(tmp_path, demo_root, column):
    root = small_copy(demo_root, tmp_path / "d", n=3)
    table = pd.read_csv(root / "ptbxl_database.csv")
    table.drop(columns=[column]).to_csv(root / "ptbxl_database.csv", index=False)
    with pytest.raises(DataError, match=f"ptbxl_database.csv lacks the column.*{column}"):
        load_ptbxl(root)


def test_missing_statement_columns(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=3)
    st = pd.read_csv(root / "scp_statements.csv", index_col=0)
    st.drop(columns=["diagnostic_class"]).to_csv(root / "scp_statements.csv")
    with pytest.raises(DataError, match="diagnostic_class"):
        load_ptbxl(root)


def test_duplicate_ecg_id(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=3)
    table = pd.read_csv(root / "ptbxl_database.csv")
    table.loc[1, "ecg_id"] = table.loc[0, "ecg_id"]
    table.to_csv(root / "ptbxl_database.csv", index=False)
    with pytest.raises(DataError, match="ecg_id"):
        load_ptbxl(root)


@pytest.mark.parametrize("ext", [".hea", ".dat"])
def test_record_file_missing(tmp_path, demo_root, ext):
    root = small_copy(demo_root, tmp_path / "d", n=6)
    f = filenames(root)[3]
    (root / f"{f}{ext}").unlink()
    with pytest.raises(DataError, match=f"{f}{ext}") as info:
        load_ptbxl(root)
    assert "1 of 6" in str(info.value)


def _broken(tmp_path, demo_root, breaker) -> tuple[Path, str]:
    root = small_copy(demo_root, tmp_path / "d", n=6)
    f = filenames(root)[2]
    breaker(root, f)
    return root, f


def _truncate(root, f):
    dat = root / f"{f}.dat"
    dat.write_bytes(dat.read_bytes()[:10000])


def _wrong_rate(root, f):
    write_record(root, f, np.zeros((1000, 12)), fs=500)


def _eleven_leads(root, f):
    write_record(root, f, np.zeros((1000, 11)), names=LEADS[:11])


def _wrong_length(root, f):
    write_record(root, f, np.zeros((900, 12)))


def _nan_samples(root, f):
    sig = np.random.default_rng(0).normal(0, 0.2, (1000, 12))
    sig[100:120, 5] = np.nan
    write_record(root, f, sig)


def _renamed_leads(root, f):
    write_record(root, f, np.zeros((1000, 12)), names=[*LEADS[1:], "X"])


def _garbage_header(root, f):
    (root / f"{f}.hea").write_text("this is not a header\n")


@pytest.mark.parametrize(
    "breaker, what",
    [
        (_truncate, ""),
        (_wrong_rate, "sampling rate 500 Hz"),
        (_eleven_leads, "11 leads"),
        (_wrong_length, "900 samples"),
        (_nan_samples, "NaN"),
        (_renamed_leads, "leads"),
        (_garbage_header, ""),
    ],
    ids=["truncated", "rate", "leads11", "length", "nan", "lead-names", "garbage-header"],
)
def test_bad_record_raises_data_error_naming_it(tmp_path, demo_root, breaker, what):
    root, f = _broken(tmp_path, demo_root, breaker)
    with pytest.raises(DataError, match=f) as info:
        load_ptbxl(root)
    assert what in str(info.value)
    assert "skip_bad" in str(info.value)  # says what to do


def test_read_record_checks_directly(tmp_path, demo_root):
    root, f = _broken(tmp_path, demo_root, _nan_samples)
    with pytest.raises(DataError, match="NaN"):
        records.read_record(root / f, 100)
    good = filenames(root)[0]
    np.testing.assert_array_equal(records.read_record(root / good, 100), rdsamp(root, good))
    with pytest.raises(DataError, match="sampling rate"):
        records.read_record(root / good, 500)


def test_skip_bad_lists_skipped_records(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "d", n=8)
    names = filenames(root)
    table = pd.read_csv(root / "ptbxl_database.csv")
    full = load_ptbxl(root)
    (root / f"{names[1]}.dat").unlink()
    _nan_samples(root, names[5])
    with pytest.raises(DataError, match=f"1 of 8 .*{names[1]}.dat"):  # missing files are found first
        load_ptbxl(root)
    (root / f"{names[1]}.dat").write_bytes(b"")  # present but empty: both are now unreadable records
    with pytest.raises(DataError, match="2 record") as info:
        load_ptbxl(root)
    assert names[1] in str(info.value) and names[5] in str(info.value)
    (root / f"{names[1]}.dat").unlink()
    ds = load_ptbxl(root, skip_bad=True)
    assert [s.ecg_id for s in ds.skipped] == [int(table.ecg_id[1]), int(table.ecg_id[5])]
    assert ds.skipped[0].path == names[1] and "missing" in ds.skipped[0].reason
    assert "NaN" in ds.skipped[1].reason
    keep = [0, 2, 3, 4, 6, 7]
    assert ds.records["ecg_id"].tolist() == table.ecg_id[keep].tolist()
    assert ds.signals.shape == (6, 12, 1000)
    np.testing.assert_array_equal(ds.labels, full.labels[keep])
    np.testing.assert_array_equal(np.asarray(ds.signals), np.asarray(full.signals)[keep])
    # the cache built with skip_bad does not let a plain load pass
    with pytest.raises(DataError, match="2 record"):
        load_ptbxl(root)
    again = load_ptbxl(root, skip_bad=True)
    assert [s.ecg_id for s in again.skipped] == [s.ecg_id for s in ds.skipped]


def test_bad_arguments(demo_root):
    with pytest.raises(DataError, match="250"):
        load_ptbxl(demo_root, sampling_rate=250)
    with pytest.raises(DataError, match="label set"):
        load_ptbxl(demo_root, label_set="superclasses")


def test_other_label_sets_on_demo(demo_root):
    ds = load_ptbxl(demo_root, label_set="top3")
    assert ds.labels.shape == (len(ds.records), 3)
    counts = ds.labels.sum(axis=0)
    assert list(counts) == sorted(counts, reverse=True) and counts[0] > 0
    ds = load_ptbxl(demo_root, label_set="subclass")
    assert list(ds.label_names) == sorted(ds.label_names)


def test_real_style_name_is_folder_and_fingerprint(tmp_path, demo_root):
    root = small_copy(demo_root, tmp_path / "my data", n=3, marker=False)
    ds = load_ptbxl(root)
    digest = hashlib.sha1((root / "ptbxl_database.csv").read_bytes()).hexdigest()[:8]
    assert ds.fingerprint == digest
    assert ds.name == f"my_data-{digest}"
    assert not ds.is_demo and "PTB-XL" in ds.description


def test_default_root_is_env_then_demo(tmp_path, demo_root, monkeypatch):
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    assert sources.resolve_data_root(None) == (demo_root, True)
    assert sources.resolve_data_root(tmp_path) == (tmp_path, False)  # an explicit root wins
    assert sources.resolve_data_path(None) == demo_root


# ----------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_100hz_load(real_ds, ptbxl_root):
    table = pd.read_csv(ptbxl_root / "ptbxl_database.csv")
    assert real_ds.signals.shape == (1803, 12, 1000) and real_ds.signals.dtype == np.float32
    assert real_ds.records["ecg_id"].tolist() == table.ecg_id.tolist()
    digest = hashlib.sha1((ptbxl_root / "ptbxl_database.csv").read_bytes()).hexdigest()[:8]
    assert real_ds.name == f"{ptbxl_root.resolve().name}-{digest}" and not real_ds.is_demo
    for i in (0, 900, 1802):
        np.testing.assert_array_equal(np.asarray(real_ds.signals[i]), rdsamp(ptbxl_root, table.filename_lr[i]))


@pytest.mark.realdata
def test_real_500hz_partial_download(ptbxl_root):
    with pytest.raises(DataError) as info:
        load_ptbxl(ptbxl_root, sampling_rate=500)
    message = str(info.value)
    assert "1352 of 1803" in message
    assert "records500/00000/00501_hr" in message  # names a few of the missing ones
    assert "skip_bad" in message
    ds = load_ptbxl(ptbxl_root, sampling_rate=500, skip_bad=True)
    assert ds.signals.shape == (451, 12, 5000)
    assert len(ds.skipped) == 1352
    assert {s.ecg_id for s in ds.skipped} == set(range(501, 2000)) & set(
        pd.read_csv(ptbxl_root / "ptbxl_database.csv").ecg_id
    )
    assert ds.records["ecg_id"].max() <= 500
    table = pd.read_csv(ptbxl_root / "ptbxl_database.csv")
    np.testing.assert_array_equal(np.asarray(ds.signals[10]), rdsamp(ptbxl_root, table.filename_hr[10]))


def test_worker_processes_read_what_this_process_reads(tmp_path, demo_root):
    """Large sets are read by spawned workers (SERIAL_BELOW): same arrays and errors as in-process."""
    root = small_copy(demo_root, tmp_path / "d", n=80)
    names = filenames(root)
    (root / f"{names[7]}.dat").write_bytes(b"\0" * 10)  # one unreadable record
    serial, pooled = (np.zeros((len(names), 12, 1000), np.float32) for _ in range(2))
    errors_serial = signal_cache.read_all_records(root, names, list(range(len(names))), 100, serial, workers=1)
    errors_pooled = signal_cache.read_all_records(root, names, list(range(len(names))), 100, pooled, workers=2)
    np.testing.assert_array_equal(serial, pooled)
    assert errors_serial == errors_pooled and list(errors_pooled) == [7]
