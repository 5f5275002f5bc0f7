"""ecgcore.uploads: the one reader of an uploaded record — a WFDB pair or a CSV (good files, every refusal
of an untrusted upload, units, lead order, headerless and semicolon CSVs, flat records) — and resampling."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgcore.errors import UploadError
from ecgcore.records import LEADS
from ecgcore.uploads import MAX_UPLOAD_BYTES, UploadedRecord, at_rate, read_record_file, read_record_upload, resample_to


def read_wfdb(files: dict[str, bytes]) -> tuple[np.ndarray, int]:
    record = read_record_upload(list(files.items()))
    return record.signal, record.fs


def read_csv(content: bytes) -> tuple[np.ndarray, int]:
    record = read_record_upload([("upload.csv", content)])
    return record.signal, record.fs


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
    signal, rate = read_wfdb(files)
    assert rate == fs and signal.shape == (12, 10 * fs) and signal.dtype == np.float32
    expected, _ = wfdb.rdsamp(str(tmp_path / "rec"))
    np.testing.assert_array_equal(signal, expected.T.astype(np.float32))


def test_wfdb_pair_with_folder_names_and_other_record_name(tmp_path):
    files = wfdb_pair(tmp_path, name="00042_lr")
    uploaded = {f"C:/Users/me/ECG/{k}": v for k, v in files.items()}  # browsers may send a path
    signal, rate = read_wfdb(uploaded)
    assert signal.shape == (12, 1000) and rate == 100


def refuse(files: dict[str, bytes], match: str) -> None:
    with pytest.raises(UploadError, match=match):
        read_wfdb(files)


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
    signal, rate = read_csv(csv_bytes(values, header=header))
    assert rate == fs and signal.shape == (12, T) and signal.dtype == np.float32
    np.testing.assert_allclose(signal, values.T, rtol=1e-6, atol=1e-6)


def test_csv_in_scientific_notation_without_header():
    values = ecg(1000)  # mV; the tiny and huge values of row 0 are written as e.g. 1e-05
    values[0, :] = [1e-5, -2e-6, 3e16, 1.5, 0, 2, 3, 4, 5, 6, 7, 8]
    signal, _ = read_csv(csv_bytes(values, header=False))
    np.testing.assert_allclose(signal, values.T, rtol=1e-6)
    buf = io.StringIO()
    np.savetxt(buf, values, delimiter=",")  # numpy's default %.18e
    signal, _ = read_csv(buf.getvalue().encode())
    np.testing.assert_allclose(signal, values.T.astype(np.float32), rtol=1e-6)


def test_csv_refusals():
    with pytest.raises(UploadError, match="12"):
        read_csv(csv_bytes(ecg(1000)[:, :11]))
    thirteen = "\n".join(",".join(f"{v:.4f}" for v in row) for row in np.c_[ecg(1000), np.zeros(1000)])
    with pytest.raises(UploadError, match="13 columns"):
        read_csv(thirteen.encode())
    values = ecg(1000).astype(object)
    values[17, 4] = "abc"
    with pytest.raises(UploadError, match=r"row 18, column 5"):
        read_csv(csv_bytes(values))
    values = ecg(1000)
    values[3, 0] = np.nan  # an empty cell
    with pytest.raises(UploadError, match="empty cell"):
        read_csv(csv_bytes(values))
    for rows in (999, 1001, 2500):
        with pytest.raises(UploadError, match=f"{rows} rows"):
            read_csv(csv_bytes(ecg(rows)))
    for empty in (b"", b"   \n\n"):
        with pytest.raises(UploadError, match="empty"):
            read_csv(empty)
    with pytest.raises(UploadError, match="too large"):
        read_csv(b"1," * (8 * MAX_UPLOAD_BYTES))
    inf = ecg(1000)
    inf[5, 5] = np.inf
    with pytest.raises(UploadError):
        read_csv(csv_bytes(inf))


# ----------------------------------------------------------------------------- resampling


def test_resample_to():
    x = ecg(5000).T.astype(np.float32)
    y = resample_to(x, 500, 100)
    assert y.shape == (12, 1000) and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 100:900], x[:, 500:4500:5], atol=0.08)  # the 1.2 Hz wave survives
    assert resample_to(x, 500, 500) is x
    up = resample_to(y, 100, 500)
    assert up.shape == (12, 5000)


def test_at_rate_resamples_a_500hz_upload_with_a_note():
    record = read_record_upload([("r.csv", csv_bytes(ecg(5000)))])
    assert record.fs == 500 and record.signal.shape == (12, 5000)
    assert any("5000 rows were read as 10 s at 500 Hz" in n for n in record.notes)
    down = at_rate(record, 100)
    assert down.fs == 100 and down.signal.shape == (12, 1000) and down.signal.dtype == np.float32
    np.testing.assert_allclose(down.signal, resample_to(record.signal, 500, 100))
    assert down.notes[-1] == "resampled from 500 Hz to 100 Hz, the checkpoint's sampling rate."
    assert at_rate(record, 500) is record and not any("resampled" in n for n in record.notes)


# ----------------------------------------------------------------------------- units


def upload_csv(values: np.ndarray, columns=LEADS, header: bool = True, **kw) -> UploadedRecord:
    buf = io.StringIO()
    pd.DataFrame(values, columns=list(columns)).to_csv(buf, index=False, header=header, **kw)
    return read_record_upload([("rec.csv", buf.getvalue().encode())])


@pytest.mark.parametrize("unit, factor, how", [("µV", 1000.0, "divided by 1000"), ("V", 1e-3, "multiplied by 1000")])
def test_csv_in_microvolts_or_volts_is_converted_with_a_note(unit, factor, how):
    values = ecg(1000)
    record = upload_csv(values * factor)
    np.testing.assert_allclose(record.signal, values.T, rtol=1e-5, atol=1e-6)
    (note,) = [n for n in record.notes if "looked like" in n]
    assert note.startswith(f"values looked like {unit} (99th percentile of |x| = ") and how in note


def test_csv_in_millivolts_is_unchanged_without_a_unit_note():
    values = ecg(1000)
    record = upload_csv(values)
    np.testing.assert_allclose(record.signal, values.T, rtol=1e-6)
    assert not any("looked like" in n for n in record.notes)


@pytest.mark.parametrize("scale", [35.0, 0.03, 1e6, 1e-6])
def test_ambiguous_or_impossible_amplitude_refused(scale):
    values = ecg(1000)
    values *= scale / np.percentile(np.abs(values), 99)  # 99th percentile of |x| = scale
    with pytest.raises(UploadError, match=r"does not look like an ECG in mV, µV or V.*99th percentile"):
        upload_csv(values)


def test_real_records_are_read_as_millivolts(ptbxl_root):
    """The bands come from the real data: a real record is never converted."""
    for ecg_id in (1, 500, 1999):
        path = next((ptbxl_root / "records100").glob(f"*/{ecg_id:05d}_lr.hea"), None)
        if path is None:
            continue
        record = read_record_file(path)
        assert not any("looked like" in n or "units" in n for n in record.notes), record.notes
        expected, _ = wfdb.rdsamp(str(path)[:-4])
        np.testing.assert_allclose(record.signal, expected.T.astype(np.float32))


def wfdb_units_pair(tmp_path: Path, unit: str, factor: float) -> dict[str, bytes]:
    wfdb.wrsamp(
        "u",
        fs=100,
        units=[unit] * 12,
        sig_name=list(LEADS),
        p_signal=ecg(1000) * factor,
        fmt=["32"] * 12,
        adc_gain=[1e6 / factor] * 12,
        baseline=[0] * 12,
        write_dir=str(tmp_path),
    )
    return {f"u{ext}": (tmp_path / f"u{ext}").read_bytes() for ext in (".hea", ".dat")}


@pytest.mark.parametrize("unit, factor", [("uV", 1000.0), ("V", 1e-3), ("mV", 1.0)])
def test_wfdb_units_from_the_header(tmp_path, unit, factor):
    record = read_record_upload(list(wfdb_units_pair(tmp_path, unit, factor).items()))
    np.testing.assert_allclose(record.signal, ecg(1000).T, atol=1e-5)
    unit_notes = [n for n in record.notes if "units" in n]
    assert unit_notes == ([] if unit == "mV" else [f"u.hea gives the units as {unit}; converted to mV."])
    assert not any("looked like" in n for n in record.notes)  # the header decided, not the amplitude


def test_wfdb_header_saying_mv_with_microvolt_values_is_caught_by_the_amplitude(tmp_path):
    files = wfdb_units_pair(tmp_path, "mV", 1000.0)  # a header that lies: µV values labelled mV
    record = read_record_upload(list(files.items()))
    np.testing.assert_allclose(record.signal, ecg(1000).T, atol=1e-5)
    assert any(n.startswith("values looked like µV") for n in record.notes)


# ----------------------------------------------------------------------------- lead order


def test_shuffled_header_is_reordered_into_the_right_leads():
    values = np.round(ecg(1000), 3)  # 3 decimals: the CSV round trip is exact in float32
    perm = np.random.default_rng(1).permutation(12)
    record = upload_csv(values[:, perm], columns=[LEADS[i] for i in perm])
    np.testing.assert_array_equal(record.signal, values.T.astype(np.float32))
    (note,) = [n for n in record.notes if "reordered" in n]
    assert "standard order" in note and LEADS[perm[0]] in note


@pytest.mark.parametrize(
    "names",
    [
        ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"],
        ["i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"],
        [f"Lead {n}" for n in ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")],
    ],
)
def test_usual_lead_spellings_in_standard_order(names):
    values = ecg(1000)
    record = upload_csv(values, columns=names)
    np.testing.assert_allclose(record.signal, values.T, rtol=1e-6)
    assert not any("reordered" in n or "no header" in n for n in record.notes)


def test_eleven_named_leads_refused_naming_the_missing_one():
    with pytest.raises(UploadError, match=r"missing V4") as info:
        upload_csv(np.delete(ecg(1000), 9, axis=1), columns=[n for n in LEADS if n != "V4"])
    assert "skip_bad" not in str(info.value)


def test_unknown_and_repeated_names_refused():
    with pytest.raises(UploadError, match=r"missing V6; unknown 'V7'"):
        upload_csv(ecg(1000), columns=[*LEADS[:11], "V7"])
    with pytest.raises(
        UploadError, match=r"lead V1 appears twice; missing V6\.$"
    ):  # the file's names, not pandas' V1.1
        upload_csv(ecg(1000), columns=[*LEADS[:11], "V1"])


def test_headerless_csv_read_in_standard_order_with_a_note():
    values = ecg(1000)
    record = upload_csv(values, header=False)
    np.testing.assert_allclose(record.signal, values.T, rtol=1e-6)
    assert f"no header: columns read as {', '.join(LEADS)}." in record.notes


def test_time_column_dropped_with_a_note():
    values = ecg(1000)
    table = pd.DataFrame(values, columns=list(LEADS))
    table.insert(0, "time", np.arange(1000) / 100)
    record = read_record_upload([("r.csv", table.to_csv(index=False).encode())])
    np.testing.assert_allclose(record.signal, values.T, rtol=1e-6)
    assert any("'time' read as time and left out" in n for n in record.notes)


def test_wfdb_leads_in_another_order_are_reordered(tmp_path):
    perm = np.random.default_rng(2).permutation(12)
    sig = ecg(1000)
    wfdb.wrsamp(
        "p", fs=100, units=["mV"] * 12, sig_name=[LEADS[i] for i in perm], p_signal=sig[:, perm],
        fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path),
    )  # fmt: skip
    record = read_record_file(tmp_path / "p.hea")
    np.testing.assert_allclose(record.signal, sig.T, atol=1e-3)
    assert any("reordered" in n for n in record.notes)


# ----------------------------------------------------------------------------- separators, empty, flat


def test_semicolon_csv_with_decimal_commas_is_read_with_a_note():
    values = np.round(ecg(1000), 3)
    buf = io.StringIO()
    pd.DataFrame(values, columns=list(LEADS)).to_csv(buf, index=False, sep=";", decimal=",")
    record = read_record_upload([("r.csv", buf.getvalue().encode())])
    np.testing.assert_array_equal(record.signal, values.T.astype(np.float32))
    assert any("semicolon-separated" in n and "decimal mark" in n for n in record.notes)
    buf = io.StringIO()
    pd.DataFrame(values).to_csv(buf, index=False, header=False, sep=";", decimal=",")  # headerless too
    record = read_record_upload([("r.csv", buf.getvalue().encode())])
    np.testing.assert_array_equal(record.signal, values.T.astype(np.float32))
    assert f"no header: columns read as {', '.join(LEADS)}." in record.notes


def test_csv_with_a_header_and_no_data_rows():
    with pytest.raises(UploadError, match="no data rows"):
        read_record_upload([("r.csv", (",".join(LEADS) + "\n").encode())])


@pytest.mark.parametrize("value", [0.0, 0.25])
def test_flat_record_refused_as_no_signal(tmp_path, value):
    with pytest.raises(UploadError, match="no signal") as info:
        upload_csv(np.full((1000, 12), value))
    assert "skip_bad" not in str(info.value)
    wfdb.wrsamp(
        "flat", fs=100, units=["mV"] * 12, sig_name=list(LEADS), p_signal=np.full((1000, 12), value),
        fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path),
    )  # fmt: skip
    with pytest.raises(UploadError, match="no signal"):
        read_record_file(tmp_path / "flat.hea")


def test_read_record_file_needs_the_pair_beside(tmp_path):
    wfdb_pair(tmp_path)
    assert read_record_file(tmp_path / "rec.dat").signal.shape == (12, 1000)
    (tmp_path / "rec.dat").unlink()
    with pytest.raises(UploadError, match=r"rec.dat does not exist; it must lie beside rec.hea"):
        read_record_file(tmp_path / "rec.hea")
    with pytest.raises(UploadError, match="does not exist"):
        read_record_file(tmp_path / "nothing.csv")
    with pytest.raises(UploadError, match=r"give a \.csv"):
        read_record_file(tmp_path / "rec.txt")


# ----------------------------------------------------------------------------- words about the file


def upload_bytes(content: bytes) -> UploadedRecord:
    return read_record_upload([("rec.csv", content)])


def test_excel_unnamed_columns_are_left_out_with_a_note():
    values = np.round(ecg(1000), 3)
    text = (
        ","
        + ",".join(LEADS)
        + ",\n"
        + "".join(f"{i}," + ",".join(f"{v:.3f}" for v in row) + ",\n" for i, row in enumerate(values))
    )
    record = upload_bytes(text.encode())
    np.testing.assert_allclose(record.signal, values.T, atol=1e-6)
    (note,) = [n for n in record.notes if "no name" in n]
    assert "column 1, 14" in note


def test_utf16_csv_is_decoded_with_a_note():
    values = np.round(ecg(1000), 3)
    for encoding in ("utf-16", "utf-16-le"):
        record = upload_bytes(csv_bytes(values).decode().encode(encoding))
        np.testing.assert_allclose(record.signal, values.T, atol=1e-6)
        assert "the file is UTF-16 text; read as such." in record.notes


@pytest.mark.parametrize("names", [True, False])
def test_transposed_csv_is_turned_around_with_a_note(names):
    values = np.round(ecg(1000), 3)
    rows = [(f"{lead}," if names else "") + ",".join(f"{v:.3f}" for v in values[:, i]) for i, lead in enumerate(LEADS)]
    record = upload_bytes("\n".join(rows).encode())
    np.testing.assert_allclose(record.signal, values.T, atol=1e-6)
    assert any("looks transposed (12 rows of leads, 1,000 samples each)" in n for n in record.notes)


@pytest.mark.parametrize(
    "content, words",
    [
        (b"\x1f\x8b\x08\x00rest", "this is a gzip file, not a CSV"),
        (b"PK\x03\x04rest", "this is a zip file"),
        (b"0       patient x" + b" " * 200, "this is an EDF recording, not a CSV"),
        (b"I,II\x00\x01\x02\xff", "binary file, not a CSV"),
    ],
)
def test_binary_file_renamed_csv_is_named(content, words):
    with pytest.raises(UploadError, match=words) as info:
        upload_bytes(content)
    assert "pandas" not in str(info.value) and "\n" not in str(info.value)


def test_many_unknown_columns_give_one_short_line():
    values = np.round(np.random.default_rng(0).normal(size=(1000, 600)), 2)
    with pytest.raises(UploadError) as info:
        upload_csv(values, columns=[f"column{i}" for i in range(600)])
    message = str(info.value)
    assert len(message) < 400 and "and 596 more" in message


def test_integer_adc_counts_in_a_csv_are_refused_not_taken_as_microvolts():
    counts = np.round(ecg(1000) * 200).astype(int)  # 200 adu/mV
    with pytest.raises(UploadError, match="whole numbers from .*raw ADC counts.*Save the record in mV"):
        upload_csv(counts)


def test_wfdb_adc_gain_gives_millivolts(tmp_path):
    values = np.round(ecg(1000), 3)
    wfdb.wrsamp(
        "gain200",
        fs=100,
        units=["mV"] * 12,
        sig_name=list(LEADS),
        p_signal=values,
        fmt=["16"] * 12,
        adc_gain=[200.0] * 12,
        baseline=[0] * 12,
        write_dir=str(tmp_path),
    )
    files = [(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir())]
    record = read_record_upload(files)
    np.testing.assert_allclose(record.signal, values.T, atol=1 / 200)
    assert not any("µV" in n for n in record.notes)


def test_reorder_note_lists_the_files_order():
    values = np.round(ecg(1000), 3)
    perm = [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]  # V1…V6 first
    record = upload_csv(values[:, perm], columns=[LEADS[i] for i in perm])
    (note,) = [n for n in record.notes if "reordered" in n]
    assert "order V1, V2, V3, V4, V5, V6, I, II" in note
