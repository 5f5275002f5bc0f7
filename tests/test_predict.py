"""ecgcore.predict: reading an uploaded WFDB pair or CSV (good files, and every refusal of an untrusted
upload), resampling, and folder prediction."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgcore.data import LEADS
from ecgcore.errors import UploadError
from ecgcore.predict import MAX_UPLOAD_BYTES, predict_folder, read_uploaded_csv, read_uploaded_wfdb, resample_to


def ecg(T: int, seed: int = 0) -> np.ndarray:
    """(T, 12) mV: a smooth signal with some noise."""
    t = np.arange(T) / (T / 10)
    rng = np.random.default_rng(seed)
    return np.sin(2 * np.pi * 1.2 * t)[:, None] * rng.uniform(0.3, 1.5, 12) + rng.normal(0, 0.02, (T, 12))


def wfdb_pair(
    tmp_path: Path, name: str = "rec", fs: int = 100, T: int | None = None, n_leads: int = 12
) -> dict[str, bytes]:
    T = T or 10 * fs
    sig = ecg(T)[:, :n_leads]
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * n_leads,
        sig_name=list(LEADS[:n_leads]),
        p_signal=sig,
        fmt=["16"] * n_leads,
        adc_gain=[1000.0] * n_leads,
        baseline=[0] * n_leads,
        write_dir=str(tmp_path),
    )
    return {
        f"{name}.hea": (tmp_path / f"{name}.hea").read_bytes(),
        f"{name}.dat": (tmp_path / f"{name}.dat").read_bytes(),
    }


# ----------------------------------------------------------------------------- WFDB uploads


@pytest.mark.parametrize("fs", [100, 500])
def test_wfdb_pair_reads_like_rdsamp(tmp_path, fs):
    files = wfdb_pair(tmp_path, fs=fs)
    signal, rate = read_uploaded_wfdb(files)
    assert rate == fs and signal.shape == (12, 10 * fs) and signal.dtype == np.float32
    expected, _ = wfdb.rdsamp(str(tmp_path / "rec"))
    np.testing.assert_array_equal(signal, expected.T.astype(np.float32))


def test_wfdb_pair_with_folder_names_and_other_record_name(tmp_path):
    files = wfdb_pair(tmp_path, name="00042_lr")
    uploaded = {f"C:/Users/me/ECG/{k}": v for k, v in files.items()}  # browsers may send a path
    signal, rate = read_uploaded_wfdb(uploaded)
    assert signal.shape == (12, 1000) and rate == 100


def refuse(files: dict[str, bytes], match: str) -> None:
    with pytest.raises(UploadError, match=match):
        read_uploaded_wfdb(files)


def test_empty_files(tmp_path):
    files = wfdb_pair(tmp_path)
    refuse({"rec.hea": files["rec.hea"], "rec.dat": b""}, "rec.dat is empty")
    refuse({"rec.hea": b"", "rec.dat": files["rec.dat"]}, "rec.hea is empty")


def test_text_renamed_dat(tmp_path):
    files = wfdb_pair(tmp_path)
    refuse({"rec.hea": files["rec.hea"], "rec.dat": b"ecg_id,value\n1,2\nthis is a text file\n" * 3}, "rec.dat")


def test_truncated_dat(tmp_path):
    files = wfdb_pair(tmp_path)
    refuse({"rec.hea": files["rec.hea"], "rec.dat": files["rec.dat"][:5000]}, "rec.dat")


def test_header_without_dat_and_other_counts(tmp_path):
    files = wfdb_pair(tmp_path)
    refuse({"rec.hea": files["rec.hea"]}, "1 .hea and 0 .dat")
    refuse({"rec.dat": files["rec.dat"]}, "0 .hea and 1 .dat")
    other = wfdb_pair(tmp_path, name="two")
    refuse(files | other, "2 .hea and 2 .dat")
    refuse(
        {"rec.hea": files["rec.hea"], "rec.dat": files["rec.dat"], "notes.txt": b"hi"} | {"x.hea": other["two.hea"]},
        ".hea",
    )


def test_mismatched_pair(tmp_path):
    a = wfdb_pair(tmp_path, name="a")
    b = wfdb_pair(tmp_path, name="b")
    refuse({"a.hea": a["a.hea"], "b.dat": b["b.dat"]}, "matching pair")


@pytest.mark.parametrize("target", ["../x.dat", "../../etc/x.dat", "/tmp/x.dat", "sub/x.dat", ".x.dat"])
def test_header_naming_a_path_outside_the_upload(tmp_path, target):
    files = wfdb_pair(tmp_path, name="x")
    header = files["x.hea"].decode().replace("x.dat ", f"{target} ")
    assert target in header
    outside = tmp_path / "x.dat"  # a real file the path could reach
    outside.write_bytes(files["x.dat"])
    refuse({"x.hea": header.encode(), "x.dat": files["x.dat"]}, "x.hea")


def test_too_large_file(tmp_path):
    files = wfdb_pair(tmp_path)
    refuse({"rec.hea": files["rec.hea"], "rec.dat": files["rec.dat"] + b"\0" * MAX_UPLOAD_BYTES}, "larger than")


@pytest.mark.parametrize("name", ["rec;rm -rf.hea", "réc.hea", "a b.hea", ("x" * 120) + ".hea"])
def test_unsafe_file_names(tmp_path, name):
    files = wfdb_pair(tmp_path)
    refuse({name: files["rec.hea"], "rec.dat": files["rec.dat"]}, "file name")


def test_not_a_header(tmp_path):
    files = wfdb_pair(tmp_path)
    refuse({"rec.hea": b"hello\nworld\n", "rec.dat": files["rec.dat"]}, "rec.hea")
    refuse({"rec.hea": "rec 12 100 1000 ü\n".encode(), "rec.dat": files["rec.dat"]}, "not a text WFDB header")


def test_multi_segment_header_refused(tmp_path):
    files = wfdb_pair(tmp_path)
    header = b"rec/2 12 100 1000\nseg1 500\nseg2 500\n"
    refuse({"rec.hea": header, "rec.dat": files["rec.dat"]}, "rec.hea")


@pytest.mark.parametrize(
    "kwargs, match",
    [({"fs": 250}, "250 Hz"), ({"n_leads": 11}, "11 (leads|signals)"), ({"T": 900}, "900 samples")],
)
def test_wrong_format_records(tmp_path, kwargs, match):
    refuse(wfdb_pair(tmp_path, **kwargs), match)


# ----------------------------------------------------------------------------- CSV uploads


def csv_bytes(values: np.ndarray, header: bool = True, **kw) -> bytes:
    buf = io.StringIO()
    pd.DataFrame(values, columns=list(LEADS[: values.shape[1]])).to_csv(buf, index=False, header=header, **kw)
    return buf.getvalue().encode()


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("T, fs", [(1000, 100), (5000, 500)])
def test_good_csv(header, T, fs):
    values = ecg(T)
    signal, rate = read_uploaded_csv(csv_bytes(values, header=header))
    assert rate == fs and signal.shape == (12, T) and signal.dtype == np.float32
    np.testing.assert_allclose(signal, values.T, rtol=1e-6, atol=1e-6)


def test_csv_in_scientific_notation_without_header():
    values = ecg(1000) * 1e-3  # tiny values: pandas writes e.g. 1.2e-05
    values[0, :] = [1e-5, -2e-6, 3e16, 1.5, 0, 2, 3, 4, 5, 6, 7, 8]
    signal, _ = read_uploaded_csv(csv_bytes(values, header=False))
    np.testing.assert_allclose(signal, values.T, rtol=1e-6)
    buf = io.StringIO()
    np.savetxt(buf, values, delimiter=",")  # numpy's default %.18e
    signal, _ = read_uploaded_csv(buf.getvalue().encode())
    np.testing.assert_allclose(signal, values.T.astype(np.float32), rtol=1e-6)


def test_csv_refusals():
    with pytest.raises(UploadError, match="12"):
        read_uploaded_csv(csv_bytes(ecg(1000)[:, :11]))
    thirteen = "\n".join(",".join(f"{v:.4f}" for v in row) for row in np.c_[ecg(1000), np.zeros(1000)])
    with pytest.raises(UploadError, match="13 columns"):
        read_uploaded_csv(thirteen.encode())
    values = ecg(1000).astype(object)
    values[17, 4] = "abc"
    with pytest.raises(UploadError, match=r"row 18, column 5"):
        read_uploaded_csv(csv_bytes(values))
    values = ecg(1000)
    values[3, 0] = np.nan  # an empty cell
    with pytest.raises(UploadError, match="empty cell"):
        read_uploaded_csv(csv_bytes(values))
    for rows in (999, 1001, 2500):
        with pytest.raises(UploadError, match=f"{rows} rows"):
            read_uploaded_csv(csv_bytes(ecg(rows)))
    for empty in (b"", b"   \n\n"):
        with pytest.raises(UploadError, match="empty"):
            read_uploaded_csv(empty)
    with pytest.raises(UploadError, match="too large"):
        read_uploaded_csv(b"1," * (8 * MAX_UPLOAD_BYTES))
    inf = ecg(1000)
    inf[5, 5] = np.inf
    with pytest.raises(UploadError):
        read_uploaded_csv(csv_bytes(inf))


# ----------------------------------------------------------------------------- resampling and folders


def test_resample_to():
    x = ecg(5000).T.astype(np.float32)
    y = resample_to(x, 500, 100)
    assert y.shape == (12, 1000) and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 100:900], x[:, 500:4500:5], atol=0.08)  # the 1.2 Hz wave survives
    assert resample_to(x, 500, 500) is x
    up = resample_to(y, 100, 500)
    assert up.shape == (12, 5000)


def test_predict_folder(trained_runs, demo_root, demo_ds, tmp_path):
    folder = tmp_path / "user"
    table = pd.read_csv(demo_root / "ptbxl_database.csv").head(5)
    folder.mkdir()
    table[["ecg_id", "filename_lr"]].to_csv(folder / "ptbxl_database.csv", index=False)
    for f in table.filename_lr:
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".hea", ".dat"):
            shutil.copy(demo_root / f"{f}{ext}", folder / f"{f}{ext}")
    predictions, ds = predict_folder(trained_runs["cnn2d"] / "best.pt", folder, device="cpu")
    assert list(predictions.columns) == ["ecg_id", *demo_ds.label_names]
    assert predictions["ecg_id"].tolist() == table.ecg_id.tolist()
    assert ds.labels.shape == (5, 0) and not ds.is_demo
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.inference import predict_proba

    model, _ = load_checkpoint(trained_runs["cnn2d"] / "best.pt")
    np.testing.assert_allclose(
        predictions.iloc[:, 1:].to_numpy(), predict_proba(model, demo_ds.signals[:5], "cpu"), atol=1e-6
    )
