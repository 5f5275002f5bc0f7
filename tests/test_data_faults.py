"""Dataset folders that look right but aren't (issue 12): every one is refused with a one-line DataError
naming the file or the rows and what to do — never read as a wrong answer, never a traceback. Per-record
faults are skipped (and listed) under skip_bad. Plus: the data layers load without torch, scikit-learn
and the demo generator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from ptbxl_files import edit_database, small_copy, write_record

import ecgcore
from ecgcore.demo import make_demo_dataset
from ecgcore.errors import DataError, UploadError
from ecgcore.folds import patient_folds
from ecgcore.records import DEMO_MARKER, check_signal
from ecgcore.sources import load_ptbxl

N = 8


@pytest.fixture
def root(demo_root, tmp_path):
    return small_copy(demo_root, tmp_path / "ptbxl", n=N)


def names(root) -> list[str]:
    return pd.read_csv(root / "ptbxl_database.csv")["filename_lr"].tolist()


def one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert "Traceback" not in text
    return text


# ----------------------------------------------------------------------------- sizes


def test_dat_of_a_500hz_record_under_the_100hz_name(root, tmp_path):
    f = names(root)[3]
    other = tmp_path / "hr"
    other.mkdir()
    write_record(other, "x_hr", np.random.default_rng(0).normal(0, 0.3, (5000, 12)), fs=500)
    shutil.copy(other / "x_hr.dat", root / f"{f}.dat")  # first 2 s of it would read as a 10 s 100 Hz ECG
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"{f}.dat has 120,000 bytes" in one_line(e) and "describes 24,000" in str(e.value)
    ds = load_ptbxl(root, skip_bad=True)
    assert [s.path for s in ds.skipped] == [f] and "bytes" in ds.skipped[0].reason


def test_dat_too_long(root):
    f = names(root)[2]
    dat = root / f"{f}.dat"
    dat.write_bytes(dat.read_bytes() + b"\0" * 2000)
    with pytest.raises(DataError, match=f"{f}.dat has 26,000 bytes"):
        load_ptbxl(root)


def test_upload_uses_the_same_size_check(root):
    """An uploaded .hea + .dat pair goes through the same size check as a folder (records.check_header_shape)."""
    from pathlib import Path

    from ecgcore.uploads import read_record_upload

    f = names(root)[2]
    name = Path(f).name
    hea, dat = (root / f"{f}.hea").read_bytes(), (root / f"{f}.dat").read_bytes()[:1000]
    with pytest.raises(UploadError, match=rf"{name}.dat has 1,000 bytes, but {name}.hea describes 24,000"):
        read_record_upload([(f"{name}.hea", hea), (f"{name}.dat", dat)])


# ----------------------------------------------------------------------------- strat folds


@pytest.mark.parametrize(
    "value, what",
    [
        ("three", "not a number"),
        (np.nan, "empty"),
        (11, "outside 1–10"),
        (0, "outside 1–10"),
        (2.5, "not a whole number"),
    ],
    ids=["text", "empty-cell", "eleven", "zero", "fraction"],
)
def test_malformed_strat_fold_is_refused_naming_the_row(root, value, what):
    def edit(t):
        t["strat_fold"] = t["strat_fold"].astype(object)
        t.loc[5, "strat_fold"] = value

    table = edit_database(root, edit)
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"strat_fold is {what} in ecg_id {table.ecg_id[5]}" in one_line(e)
    assert "ptbxl_database.csv" in str(e.value)


def test_absent_strat_fold_uses_grouped_folds_and_says_so(root):
    edit_database(root, lambda t: t.drop(columns=["strat_fold"]))
    ds = load_ptbxl(root)
    assert "pseudo" in ds.fold_note and "patient" in ds.fold_note
    assert len(patient_folds(ds.records, None, "cv5")) == 5


def test_grouped_plan_only_on_purpose(demo_ds):
    assert demo_ds.fold_note == ""  # PTB-XL's own folds: nothing to say
    cv5 = patient_folds(demo_ds.records, None, "cv5")
    grouped = patient_folds(demo_ds.records, None, "grouped")
    assert [f.strat_folds for f in cv5] == [f.strat_folds for f in grouped]
    assert any(not np.array_equal(a.test, b.test) for a, b in zip(cv5, grouped))


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize("path", ["/etc/records100/00000/00001_lr", "../outside/00001_lr", "records100/../../x"])
def test_record_path_outside_the_folder_is_refused(root, path):
    table = edit_database(root, lambda t: t.assign(filename_lr=t["filename_lr"].where(t.index != 4, path)))
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"ecg_id {table.ecg_id[4]}" in one_line(e) and "outside the dataset folder" in str(e.value)


def test_symlink_escaping_the_folder_is_refused(root, tmp_path):
    f = names(root)[1]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.move(root / f"{f}.dat", outside / "x.dat")
    os.symlink(outside / "x.dat", root / f"{f}.dat")
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"{f}.dat is a symlink to" in one_line(e) and "outside the dataset folder" in str(e.value)


def test_record_folder_symlinked_outside_is_refused(root, tmp_path):
    folder = root / "records100" / "00000"
    shutil.move(folder, tmp_path / "moved")
    os.symlink(tmp_path / "moved", folder)
    with pytest.raises(DataError, match="outside the dataset folder"):
        load_ptbxl(root)


def test_symlink_inside_the_folder_is_fine(root):
    f = names(root)[1]
    (root / "spare").mkdir()
    shutil.move(root / f"{f}.dat", root / "spare" / "x.dat")
    os.symlink(root / "spare" / "x.dat", root / f"{f}.dat")
    assert load_ptbxl(root).signals.shape == (N, 12, 1000)


# ----------------------------------------------------------------------------- flat records


@pytest.mark.parametrize("level", [0.0, 0.7], ids=["zero", "constant"])
def test_flat_record_is_no_signal(root, level):
    f = names(root)[6]
    write_record(root, f, np.full((1000, 12), level))
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f in one_line(e) and "no signal" in str(e.value)
    ds = load_ptbxl(root, skip_bad=True)
    assert [s.path for s in ds.skipped] == [f] and "no signal" in ds.skipped[0].reason


def test_flat_signal_check_is_the_one_uploads_use():
    fields = {"fs": 100, "sig_name": ["I", "II", "III", "aVR", "aVL", "aVF", *[f"V{i}" for i in range(1, 7)]]}
    with pytest.raises(DataError, match="upload.csv: no signal"):
        check_signal(np.zeros((12, 1000)), fields, 100, "upload.csv")
    one_lead = np.zeros((12, 1000))
    one_lead[3, 100] = 0.5
    assert check_signal(one_lead, fields, 100, "upload.csv").dtype == np.float32  # one live lead is a signal


# ----------------------------------------------------------------------------- stale cache


def test_dangling_symlink_does_not_hide_a_changed_record(root):
    f = names(root)[4]
    load_ptbxl(root)
    os.symlink(root / "no-such-file", root / "records100" / "00000" / ".#00001_lr.hea")  # an editor's lock file
    new = np.random.default_rng(1).normal(0, 0.4, (1000, 12))
    write_record(root, f, new)
    np.testing.assert_allclose(np.asarray(load_ptbxl(root).signals[4]), new.T, atol=1e-3)


def test_symlink_loop_is_a_clear_error(root):
    f = names(root)[2]
    (root / f"{f}.hea").unlink()
    os.symlink(root / f"{f}.hea", root / f"{f}.hea")
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"{f}.hea is a symlink loop" in one_line(e)


def test_file_where_a_folder_should_be(root):
    folder = root / "records100" / "00000"
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert "file where a folder should be" in one_line(e) and "records100/00000" in str(e.value)


# ----------------------------------------------------------------------------- tracebacks → one line


def test_scp_codes_nested_too_deep(root):
    table = edit_database(root, lambda t: t.assign(scp_codes=t["scp_codes"].where(t.index != 2, "{'A': " + "[" * 5000)))
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"ecg_id {table.ecg_id[2]}" in one_line(e) and len(str(e.value)) < 400


def test_empty_patient_id_without_strat_fold(root):
    def edit(t):
        t.loc[[1, 3], "patient_id"] = np.nan
        return t.drop(columns=["strat_fold"])

    table = edit_database(root, edit)
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"patient_id is empty in ecg_id {table.ecg_id[1]}, {table.ecg_id[3]}" in one_line(e)


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00\x81binary\x00" * 50], ids=["empty", "binary"])
def test_statements_empty_or_not_text(root, content):
    (root / "scp_statements.csv").write_bytes(content)
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert "scp_statements.csv" in one_line(e)


def test_ecg_id_too_large_for_int64(root):
    csv = root / "ptbxl_database.csv"
    lines = csv.read_text().splitlines()
    lines[3] = "99999999999999999999" + lines[3][lines[3].index(",") :]
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert "ecg_id 99999999999999999999 is too large" in one_line(e)


def test_csv_without_data_rows(root):
    csv = root / "ptbxl_database.csv"
    csv.write_text(csv.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match="has a header but no data rows"):
        load_ptbxl(root)
    with pytest.raises(DataError, match="no data rows"):
        load_ptbxl(root, require_labels=False)  # the predict path too


def test_semicolon_separated_csv_gets_a_hint(root):
    table = pd.read_csv(root / "ptbxl_database.csv")
    table.to_csv(root / "ptbxl_database.csv", sep=";", index=False)
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert "separated by ';'" in one_line(e) and "comma" in str(e.value)


def test_a_file_given_as_the_folder_is_not_a_folder(root):
    with pytest.raises(DataError) as e:
        load_ptbxl(root / "ptbxl_database.csv")
    assert "is not a folder" in one_line(e) and "does not exist" not in str(e.value)


# ----------------------------------------------------------------------------- demo-data


def test_demo_data_never_overwrites_a_real_copy(demo_root, tmp_path):
    real = small_copy(demo_root, tmp_path / "real", n=3, marker=False)
    before = {p: p.read_bytes() for p in real.rglob("*") if p.is_file()}
    with pytest.raises(DataError) as e:
        make_demo_dataset(real, n_records=2)
    assert "not a demo set written by ecgcore" in one_line(e) and DEMO_MARKER in str(e.value)
    assert {p: p.read_bytes() for p in real.rglob("*") if p.is_file()} == before
    assert not (real / DEMO_MARKER).exists()


def test_demo_data_refuses_zero_records_and_a_file(tmp_path):
    with pytest.raises(DataError, match="at least 1"):
        make_demo_dataset(tmp_path / "d", n_records=0)
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DataError, match="is an existing file"):
        make_demo_dataset(tmp_path / "f.txt", n_records=2)
    assert (tmp_path / "f.txt").read_text() == "x" and not (tmp_path / "d").exists()


def test_demo_data_rewrites_its_own_set(tmp_path):
    out = make_demo_dataset(tmp_path / "d", n_records=2)
    assert make_demo_dataset(out, n_records=3) == out  # a demo set (or an interrupted one) is rewritten
    assert len(pd.read_csv(out / "ptbxl_database.csv")) == 3


# ----------------------------------------------------------------------------- layers


def test_data_layers_load_without_torch_sklearn_or_demo(root):
    code = (
        "import sys, ecgcore.data, ecgcore.labels, ecgcore.folds, ecgcore.sources\n"
        f"ds = ecgcore.sources.load_ptbxl({str(root)!r})\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'ecgcore.demo', 'ecgcore.demo_ecg') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_public_load_resolves_no_root(demo_root, monkeypatch):
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    assert ecgcore.load_ptbxl.__module__ == "ecgcore.sources"
    assert ecgcore.load_ptbxl().name == "demo"


# ----------------------------------------------------------------------------- a header naming another record


def test_header_naming_another_records_dat_is_refused(root):
    """ecg_id 4's header pointing at record 7's .dat (same size: the size check cannot see it) would
    read record 7's samples under record 4's labels; it is refused naming the record and the file."""
    f, other = names(root)[3], names(root)[6]
    hea = root / f"{f}.hea"
    own, theirs = os.path.basename(f), os.path.basename(other)
    hea.write_text(hea.read_text().replace(f"{own}.dat", f"{theirs}.dat"))
    with pytest.raises(DataError) as e:
        load_ptbxl(root)
    assert f"{f}.hea reads its samples from {theirs}.dat, not {own}.dat" in one_line(e)
    ds = load_ptbxl(root, skip_bad=True)
    assert [s.path for s in ds.skipped] == [f]


def test_header_with_another_record_name_is_refused(root):
    f, other = names(root)[3], names(root)[6]
    hea = root / f"{f}.hea"
    own, theirs = os.path.basename(f), os.path.basename(other)
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join([lines[0].replace(own, theirs, 1), *lines[1:]]) + "\n")
    with pytest.raises(DataError, match=f"describes record '{theirs}', not '{own}'"):
        load_ptbxl(root)


def test_all_500hz_files_missing_says_download_them_not_skip_bad(root):
    """``--sampling_rate 500`` against a folder without records500: no advice to use "the 0 records present"."""
    with pytest.raises(DataError) as e:
        load_ptbxl(root, sampling_rate=500)
    text = one_line(e)
    assert "records500 holds none of the" in text and "--sampling_rate 500, or use --sampling_rate 100" in text
    assert "skip_bad" not in text
    with pytest.raises(DataError, match="records500 holds none"):
        load_ptbxl(root, sampling_rate=500, skip_bad=True)
