"""The fault matrix (docs/faults.md): each fault a user can cause — a half-downloaded or damaged
dataset, an odd upload, a hostile or damaged checkpoint, a killed or doubly started training, a full
disk, a corrupt results file — tried against the real code paths, checking the three promises:

* a clear message naming the problem (a :class:`~ecgcore.errors.ECGCoreError`, which the CLI prints as
  one ``error: …`` line with exit status 2 and the app shows with ``st.error``), never a traceback;
* nothing lost (the previous checkpoint, results and cache stay usable);
* the app keeps working (the next good request succeeds).

Rows already covered by a module's unit tests are referenced from docs/faults.md rather than repeated
here; the tests below add the end-to-end view (what the CLI/app user sees) and the faults no unit test
tries. Training faults use real ``python -m ecgcore train`` processes on the 300-record demo data; every
wait is bounded and every process started is killed at the end.
"""

from __future__ import annotations

import ast
import builtins
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from ptbxl_files import small_copy, write_record

from ecgcore import background, jobs
from ecgcore.background import FINAL
from ecgcore.checkpoints import FORMAT, load_checkpoint, read_checkpoint, save_checkpoint
from ecgcore.errors import CheckpointError, DataError, ECGCoreError, ResultsError, RunError, UploadError
from ecgcore.metrics import read_json
from ecgcore.recipes import TrainConfig
from ecgcore.records import DEMO_MARKER, LEADS
from ecgcore.run_paths import RunPaths
from ecgcore.runs import RunLock, is_locked, list_runs, read_events, read_status, run_state, write_status
from ecgcore.sources import load_ptbxl
from ecgcore.train import train_fold

PROJECT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds for any one wait on a process (a cold start imports torch; the machine is shared)


# ============================================================================= helpers


def record_names(root: Path) -> list[str]:
    return pd.read_csv(root / "ptbxl_database.csv")["filename_lr"].tolist()


def edit_header(root: Path, filename: str, edit) -> None:
    hea = root / f"{filename}.hea"
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join(edit(lines)) + "\n")


def cli(argv: list[str], capsys) -> tuple[int, str]:
    """``python -m ecgcore …`` in this process: (exit status, stderr)."""
    from ecgcore.__main__ import main

    capsys.readouterr()
    rc = main(argv)
    return rc, capsys.readouterr().err


def assert_user_error(rc: int, err: str, *needles: str) -> None:
    """What a CLI user sees for a fault: exit status 2 and one ``error: …`` message naming it."""
    assert rc == 2, err
    assert "error: " in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


def child_env(**extra) -> dict[str, str]:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    return env | {k: str(v) for k, v in extra.items()}


def wait_until(predicate, what: str, timeout: float = TIMEOUT, interval: float = 0.02, log: Path | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        background.reap()
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def same_weights(a: Path, b: Path) -> None:
    x, y = read_checkpoint(a), read_checkpoint(b)
    assert x["state_dict"].keys() == y["state_dict"].keys()
    for key in x["state_dict"]:
        assert torch.equal(x["state_dict"][key], y["state_dict"][key]), f"{a.name}: {key} differs"
    assert x["meta"]["epoch"] == y["meta"]["epoch"]
    assert x["meta"]["val_metrics"] == y["meta"]["val_metrics"]
    assert x["meta"]["thresholds"] == y["meta"]["thresholds"]


@pytest.fixture
def runs_root(tmp_path, monkeypatch, demo_ds):
    """A fresh ECGCORE_RUNS_DIR (demo_ds: the signal cache the training processes reuse is built).
    Every training process of a run anywhere under tmp_path is SIGKILLed at the end."""
    root = tmp_path / "runs"
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    monkeypatch.setenv("ECGCORE_MAX_TRAININGS", "1")
    yield root
    for status in tmp_path.glob("**/status.json"):
        pid = (read_status(status.parent, live=False) or {}).get("pid")
        if background.pid_alive(pid) and pid != os.getpid():
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    deadline = time.time() + 10
    while background._children and time.time() < deadline:
        background.reap()
        time.sleep(0.05)


@pytest.fixture
def keep_sigterm():
    """The CLI's train command installs a SIGTERM handler (its cancel path); restore pytest's."""
    old = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, old)


# ============================================================================= data


def _no_folder(root, names):
    shutil.rmtree(root)


def _no_csv(root, names):
    (root / "ptbxl_database.csv").unlink()


def _csv_column(column, renamed=None):
    def breaker(root, names):
        table = pd.read_csv(root / "ptbxl_database.csv")
        table = table.rename(columns={column: renamed}) if renamed else table.drop(columns=[column])
        table.to_csv(root / "ptbxl_database.csv", index=False)

    return breaker


def _csv_cut_short(root, names):  # an interrupted download: the last row stops after its ecg_id
    text = (root / "ptbxl_database.csv").read_text().rstrip("\n")
    start = text.rindex("\n") + 1
    (root / "ptbxl_database.csv").write_text(text[: text.index(",", start) + 1])


def _csv_garbage(root, names):
    (root / "ptbxl_database.csv").write_bytes(bytes(range(256)) * 8)


def _csv_text_ecg_id(root, names):
    table = pd.read_csv(root / "ptbxl_database.csv").astype({"ecg_id": object})
    table.loc[3, "ecg_id"] = "12a"
    table.to_csv(root / "ptbxl_database.csv", index=False)


def _scp_unparsable(root, names):
    table = pd.read_csv(root / "ptbxl_database.csv")
    table.loc[2, "scp_codes"] = "{'NORM': 100.0, __import__('os').system('touch pwned'): 1}"
    table.to_csv(root / "ptbxl_database.csv", index=False)


def _no_scp_codes(root, names):
    _csv_column("scp_codes")(root, names)


def _no_statements(root, names):
    (root / "scp_statements.csv").unlink()


def _missing(ext):
    def breaker(root, names):
        (root / f"{names[3]}{ext}").unlink()

    return breaker


def _truncated_dat(root, names):
    dat = root / f"{names[3]}.dat"
    dat.write_bytes(dat.read_bytes()[: 24000 // 3])


def _header_rate(root, names):  # the header says 500 Hz, the file holds 1000 samples
    edit_header(root, names[3], lambda lines: [lines[0].replace(" 100 1000", " 500 1000"), *lines[1:]])


def _header_leads(root, names):  # the header lists 11 signals of the 12 in the file
    edit_header(root, names[3], lambda lines: [lines[0].replace(" 12 ", " 11 ", 1), *lines[1:12]])


def _header_length(root, names):  # the header says 900 samples
    edit_header(root, names[3], lambda lines: [lines[0].replace(" 100 1000", " 100 900"), *lines[1:]])


def _header_garbage(root, names):
    (root / f"{names[3]}.hea").write_text("<html>404 Not Found</html>\n")


def _nan_samples(root, names):
    sig = np.random.default_rng(0).normal(0, 0.2, (1000, 12))
    sig[100:130, 4] = np.nan
    write_record(root, names[3], sig)


def _inf_samples(root, names):  # a gain so small that a sample divided by it overflows to inf
    edit_header(
        root,
        names[3],
        lambda lines: [
            lines[0],
            *[re.sub(r" 1000(\.0)?\(0\)/mV", " 1e-320(0)/mV", ln) if i == 4 else ln for i, ln in enumerate(lines[1:])],
        ],
    )


DATA_FAULTS = {
    # id: (breaker, text the message must hold ("{f}" = the broken record's name), skip_bad recovers)
    "folder-missing": (_no_folder, "does not exist", False),
    "csv-missing": (_no_csv, "ptbxl_database.csv is missing", False),
    "csv-column-missing": (_csv_column("filename_lr"), "lacks the column(s) filename_lr", False),
    "csv-column-renamed": (_csv_column("ecg_id", "ECG ID"), "lacks the column(s) ecg_id", False),
    "csv-cut-short": (_csv_cut_short, "cut short", False),
    "csv-not-text": (_csv_garbage, "cannot be read as CSV", False),
    "csv-ecg-id-text": (_csv_text_ecg_id, "ecg_id must be whole numbers", False),
    "scp-codes-unparsable": (_scp_unparsable, "is not a dict literal", False),
    "scp-codes-column-missing": (_no_scp_codes, "has no scp_codes", False),
    "statements-missing": (_no_statements, "scp_statements.csv is missing", False),
    "hea-missing": (_missing(".hea"), "{f}.hea", True),
    "dat-missing": (_missing(".dat"), "{f}.dat", True),
    "dat-truncated": (_truncated_dat, "{f}", True),
    "header-rate": (_header_rate, "sampling rate 500 Hz, expected 100 Hz", True),
    "header-leads": (_header_leads, "11 leads", True),
    "header-length": (_header_length, "900 samples, expected 1000", True),
    "header-garbage": (_header_garbage, "{f}", True),
    "nan-samples": (_nan_samples, "NaN or infinite", True),
    "inf-samples": (_inf_samples, "NaN or infinite", True),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wfdb's overflow warning of the inf fault
@pytest.mark.parametrize("fault", list(DATA_FAULTS))
def test_data_fault(fault, demo_root, tmp_path, capsys):
    """Each broken dataset: DataError naming the problem (library), one ``error:`` line and exit 2
    (CLI); records that cannot be read can be left out with skip_bad; the folder works once repaired."""
    breaker, needle, recoverable = DATA_FAULTS[fault]
    root = small_copy(demo_root, tmp_path / "ptbxl", n=8)
    names = record_names(root)
    good = np.asarray(load_ptbxl(root).signals).copy()
    shutil.copytree(root, tmp_path / "pristine")
    breaker(root, names)
    needle = needle.format(f=names[3])

    with pytest.raises(DataError) as info:
        load_ptbxl(root)
    assert needle in str(info.value)
    assert not (tmp_path / "pwned").exists() and not (PROJECT / "pwned").exists()

    rc, err = cli(["info", "--data_root", str(root)], capsys)
    assert_user_error(rc, err, needle)

    if recoverable:  # the rest of a partial download is usable, the bad record is listed
        ds = load_ptbxl(root, skip_bad=True)
        assert [s.path for s in ds.skipped] == [names[3]]
        np.testing.assert_array_equal(np.asarray(ds.signals), np.delete(good, 3, axis=0))
    # repaired (re-downloaded), the same folder loads again: the fault left nothing behind
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(tmp_path / "pristine", root)
    np.testing.assert_array_equal(np.asarray(load_ptbxl(root).signals), good)


def test_unknown_scp_codes_are_ignored(demo_root, tmp_path):
    """Codes missing from scp_statements.csv are ignored, as in the PTB-XL benchmark: no error, the
    known codes still count, a record with only unknown codes has no label (but stays browsable)."""
    root = small_copy(demo_root, tmp_path / "ptbxl", n=8)
    before = load_ptbxl(root)
    table = pd.read_csv(root / "ptbxl_database.csv")
    first = ast.literal_eval(table["scp_codes"][0])
    table.loc[0, "scp_codes"] = str(first | {"XYZZY": 100.0, "NOT_A_CODE": 0.0})
    table.loc[1, "scp_codes"] = "{'XYZZY': 100.0}"
    table.to_csv(root / "ptbxl_database.csv", index=False)
    ds = load_ptbxl(root)
    np.testing.assert_array_equal(ds.labels[0], before.labels[0])
    assert not ds.labels[1].any() and not ds.records["has_label"][1]
    np.testing.assert_array_equal(ds.labels[2:], before.labels[2:])
    assert len(ds.records) == len(before.records)


def test_stale_cache_same_size_and_mtime_is_rebuilt(demo_root, tmp_path):
    """A record rewritten with the same size and its old mtime put back (``cp -p``, ``rsync -t``,
    unpacking an archive) must not be served from the old cache."""
    root = small_copy(demo_root, tmp_path / "ptbxl", n=8)
    name = record_names(root)[4]
    before = np.asarray(load_ptbxl(root).signals[4]).copy()
    dat, hea = root / f"{name}.dat", root / f"{name}.hea"
    st_dat, st_hea, header = dat.stat(), hea.stat(), hea.read_bytes()
    new = np.random.default_rng(7).normal(0, 0.5, (1000, 12))
    write_record(root, name, new)
    hea.write_bytes(header)  # the same header: only the samples changed
    os.utime(dat, ns=(st_dat.st_atime_ns, st_dat.st_mtime_ns))
    os.utime(hea, ns=(st_hea.st_atime_ns, st_hea.st_mtime_ns))
    assert (dat.stat().st_size, dat.stat().st_mtime_ns) == (st_dat.st_size, st_dat.st_mtime_ns)
    after = np.asarray(load_ptbxl(root).signals[4])
    assert not np.allclose(after, before), "the stale cache was used"
    np.testing.assert_allclose(after, new.T, atol=1e-3)


@pytest.mark.parametrize("damage", ["npy-truncated", "npy-garbage", "json-corrupt", "json-wrong-shape"])
def test_damaged_cache_is_rebuilt_not_used(demo_root, tmp_path, damage):
    """A signal cache file that is truncated or corrupt (disk full while it was written by an older
    version, a copied cache folder…) is rebuilt from the records, never used, never an error."""
    import ecgcore.signal_cache as signal_cache

    root = small_copy(demo_root, tmp_path / "ptbxl", n=8)
    good = np.asarray(load_ptbxl(root).signals).copy()
    prefix = signal_cache._cache_paths(root, 100, "x")[2]
    npy = next((signal_cache.cache_root() / "signals").glob(f"{prefix}-*.npy"))
    meta = npy.with_suffix(".json")
    if damage == "npy-truncated":
        npy.write_bytes(npy.read_bytes()[:5000])
    elif damage == "npy-garbage":
        npy.write_bytes(b"\x00" * npy.stat().st_size)
    elif damage == "json-corrupt":
        meta.write_text('{"errors": ')
    else:  # a cache of another shape under this key (e.g. written by another version)
        np.save(npy, np.zeros((3, 12, 1000), np.float32))
    ds = load_ptbxl(root)
    np.testing.assert_array_equal(np.asarray(ds.signals), good)
    assert load_ptbxl(root).signals.shape == good.shape  # and the rebuilt cache is used next time


# ============================================================================= uploads


@pytest.fixture
def upload_tmp(tmp_path, monkeypatch):
    """Uploads are unpacked under this folder (tempfile's default); it must be empty after each."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


@pytest.fixture
def pair(demo_root) -> dict[str, bytes]:
    name = record_names(demo_root)[0]
    return {f"{Path(name).name}.{ext}": (demo_root / f"{name}.{ext}").read_bytes() for ext in ("hea", "dat")}


def upload(files: dict[str, bytes]):
    """What the Predict page does with the uploaded files."""
    from ecgcore.uploads import read_record_upload

    record = read_record_upload(list(files.items()))
    return record.signal, record.fs, record.name


def test_upload_faults_end_to_end(pair, upload_tmp, tmp_path):
    """Each odd upload through the Predict page's reader: UploadError saying what to fix, nothing
    written outside its own temporary folder (removed afterwards), and a good upload still works."""
    hea_name = next(k for k in pair if k.endswith(".hea"))
    dat_name = next(k for k in pair if k.endswith(".dat"))
    hea, dat = pair[hea_name], pair[dat_name]
    header = hea.decode()
    victim = upload_tmp / "victim.dat"  # a readable, valid signal file just outside the upload folder
    victim.write_bytes(dat)
    big_header = header.replace(" 100 1000", " 100 200000000", 1)  # 200 M samples a lead: 19 GB of float64
    cases = {
        "empty .dat": ({hea_name: hea, dat_name: b""}, f"{dat_name} is empty"),
        "empty .hea": ({hea_name: b"", dat_name: dat}, f"{hea_name} is empty"),
        "empty csv": ({"ecg.csv": b"  \n"}, "CSV file is empty"),
        "text renamed .dat": (
            {hea_name: hea, dat_name: b"patient notes, not a signal\n" * 40},
            "matching .hea and .dat",
        ),
        "large text renamed .dat": (
            {hea_name: hea, dat_name: b"patient notes, not a signal\n" * 4000},
            "matching .hea and .dat",
        ),
        ".hea without .dat": ({hea_name: hea}, "1 .hea and 0 .dat"),
        ".dat without .hea": ({dat_name: dat}, "0 .hea and 1 .dat"),
        "mismatched names": ({hea_name: hea, "other.dat": dat}, "matching pair"),
        "mismatched pair, 500 Hz .dat": ({hea_name: hea, dat_name: dat * 5}, "matching .hea and .dat"),
        "traversal ../": ({hea_name: header.replace(dat_name, "../victim.dat").encode(), dat_name: dat}, hea_name),
        "traversal absolute": ({hea_name: header.replace(dat_name, str(victim)).encode(), dat_name: dat}, hea_name),
        "traversal bare name": (
            {hea_name: header.replace(dat_name, "victim.dat").encode(), dat_name: dat},
            "victim.dat",
        ),
        "multi-segment header": (
            {hea_name: b"rec/2 12 100 1000\nvictim 500\nother 500\n", dat_name: dat},
            "multi-segment",
        ),
        "header declaring 200 M samples": ({hea_name: big_header.encode(), dat_name: dat}, "200000000 samples"),
        "over the size limit": ({hea_name: hea, dat_name: dat + b"\0" * (3 * 1024 * 1024)}, "larger than"),
        "other file type": ({"ecg.xml": b"<ecg/>"}, "only .hea + .dat"),
        "csv with 11 columns": ({"ecg.csv": ("\n".join([",".join(["0.1"] * 11)] * 1000)).encode()}, "11 columns"),
        "csv with a text cell": (
            {
                "ecg.csv": (
                    "I,II,III,AVR,AVL,AVF,V1,V2,V3,V4,V5,V6\n"
                    + "\n".join(
                        [",".join(["0.1"] * 12)] * 500
                        + [",".join(["0.1"] * 5 + ["abc"] + ["0.1"] * 6)]
                        + [",".join(["0.1"] * 12)] * 499
                    )
                ).encode()
            },
            "non-numeric or empty cell (row 501, column 6)",
        ),
        "csv with inf": (
            {"ecg.csv": (",".join(LEADS) + "\n" + "\n".join(["1e999," + ",".join(["0.1"] * 11)] * 1000)).encode()},
            "infinite",
        ),
        "csv of 7 s": ({"ecg.csv": ("\n".join([",".join(["0.1"] * 12)] * 700)).encode()}, "700 rows"),
        "csv over the size limit": ({"ecg.csv": b"0.1," * (5 * 1024 * 1024)}, "too large"),
        "csv and wfdb together": ({"ecg.csv": b"1", hea_name: hea, dat_name: dat}, "one CSV file alone"),
    }
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    for what, (files, needle) in cases.items():
        t0 = time.perf_counter()
        with pytest.raises(UploadError) as info:
            upload(files)
        assert needle in str(info.value), f"{what}: {info.value}"
        assert time.perf_counter() - t0 < 10, f"{what} took {time.perf_counter() - t0:.1f} s"
        assert sorted(p.name for p in upload_tmp.iterdir()) == ["victim.dat"], f"{what} left files behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    # the page keeps working: the good pair (sent with a browser's folder path) and a good CSV
    signal_, fs, name = upload({f"../../{k}" if k == hea_name else k: v for k, v in pair.items()})
    assert signal_.shape == (12, 1000) and fs == 100 and name == hea_name[:-4]
    from ecgcore.uploads import signal_csv

    again, fs2, _ = upload({"ecg.csv": signal_csv(signal_)})
    assert fs2 == 100 and np.allclose(again, signal_, atol=1e-4)
    assert sorted(p.name for p in upload_tmp.iterdir()) == ["victim.dat"]


def test_upload_size_limit_is_set_for_the_app():
    """Streamlit refuses bigger uploads before the app sees them (``server.maxUploadSize``, MB): a few
    MB — enough for a 500 Hz CSV (about 1 MB), far from Streamlit's default 200 MB."""
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text())
    limit = config["server"]["maxUploadSize"]
    assert 1 <= limit <= 10, limit
    from ecgcore.uploads import MAX_UPLOAD_BYTES

    assert MAX_UPLOAD_BYTES <= limit * 1024 * 1024  # the reader's own limit is not looser than the server's


# ============================================================================= checkpoints


class Payload:
    """Unpickling this creates ``marker`` — code that runs when the file is loaded."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def test_torch_load_is_weights_only_everywhere():
    """Every torch.load in the library and the app passes weights_only=True (a regression guard for
    code added later: the loaders of the app, CLI and training all go through read_checkpoint)."""
    calls = []
    for path in [*PROJECT.glob("ecgcore/**/*.py"), *PROJECT.glob("app_pages/*.py"), PROJECT / "streamlit_app.py"]:
        text = path.read_text()
        for m in re.finditer(r"torch\.load\(", text):
            depth, i = 1, m.end()
            while depth and i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            calls.append((path.name, text[m.start() : i]))
    assert calls, "no torch.load found: the scan is broken"
    for name, call in calls:
        assert "weights_only=True" in call, f"{name}: {call}"


def test_pickle_that_runs_code_is_refused_on_every_path(trained_runs, demo_ds, demo_root, tmp_path):
    """A crafted best.pt/last.pt in a run folder (a downloaded "pretrained model") is refused by
    evaluation, prediction (CLI and the Predict page's loader) and resume — and its code never runs."""
    from ecgcore.evaluate import evaluate_run
    from ecgcore.predict import predict_folder

    marker = tmp_path / "pwned"
    run = tmp_path / "demo" / "superclass" / "cnn1d" / "fold0"
    shutil.copytree(trained_runs["cnn1d"], run)
    good = torch.load(run / "last.pt", weights_only=True)
    for name in ("best.pt", "last.pt"):
        torch.save(good | {"extra": Payload(marker)}, run / name)
    # the crafted file is live: a plain torch.load would run its code
    torch.load(run / "best.pt", weights_only=False)
    assert marker.exists()
    marker.unlink()

    attempts = {
        "evaluate": lambda: evaluate_run(demo_ds, run, n_bootstrap=5),
        "predict folder": lambda: predict_folder(run / "best.pt", demo_root),
        "load for the app": lambda: load_checkpoint(run / "best.pt"),
        "resume": lambda: train_fold(demo_ds, TrainConfig(epochs=2), run, resume=True),
    }
    for what, attempt in attempts.items():
        with pytest.raises(CheckpointError, match="refused") as info:
            attempt()
        assert "it may contain code" in str(info.value), what
        assert not marker.exists(), f"{what}: loading the checkpoint ran its code"


@pytest.mark.parametrize("cut", [0.0, 0.3, 0.97])
def test_truncated_checkpoint_on_evaluate_and_resume(trained_runs, demo_ds, tmp_path, cut):
    from ecgcore.evaluate import evaluate_run

    run = tmp_path / "run"
    shutil.copytree(trained_runs["cnn1d"], run)
    for name in ("best.pt", "last.pt"):
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CheckpointError, match="best.pt is corrupt or truncated"):
        evaluate_run(demo_ds, run, n_bootstrap=5)
    with pytest.raises(CheckpointError, match="last.pt is corrupt or truncated"):
        train_fold(demo_ds, TrainConfig(epochs=2), run, resume=True)
    assert (run / "results.json").is_file()  # the previous results are kept


def test_resume_refuses_a_checkpoint_of_another_label_set_or_dataset(trained_runs, demo_ds, demo_root, tmp_path):
    """last.pt trained on other labels or another dataset is refused on resume, with a message, not a
    size-mismatch crash or a silent mix of two datasets; the run folder is left as it was."""
    run = tmp_path / "run"
    shutil.copytree(trained_runs["cnn1d"], run)
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != "lock"}
    subclass = load_ptbxl(demo_root, label_set="subclass")
    with pytest.raises(CheckpointError, match="trained with labels"):
        train_fold(subclass, TrainConfig(epochs=2), run, resume=True)
    other = small_copy(demo_root, tmp_path / "other", n=60)
    (other / DEMO_MARKER).unlink()  # another (real-looking) dataset
    with pytest.raises(CheckpointError, match="trained with dataset 'demo'"):
        train_fold(load_ptbxl(other), TrainConfig(epochs=2), run, resume=True)
    with pytest.raises(CheckpointError, match="trained with model 'cnn1d', not 'cnn2d'"):
        train_fold(demo_ds, TrainConfig(model="cnn2d", epochs=2), run, resume=True)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != "lock"} == files


def test_checkpoint_write_never_completed_keeps_the_previous(tmp_path, monkeypatch):
    """os.replace never reached (the disk failed, or the process died right before it): the previous
    checkpoint is untouched and loads, no temp file is left, and the error is a CheckpointError."""
    import ecgcore.checkpoints as checkpoints
    from ecgcore.models import ECGClassifier, create_model

    path = tmp_path / "last.pt"
    model = ECGClassifier(create_model("cnn1d", n_classes=5), torch.zeros(12), torch.ones(12))
    meta = {
        "model": "cnn1d",
        "model_config": {},
        "label_names": ["NORM", "MI", "STTC", "CD", "HYP"],
        "sampling_rate": 100,
    }
    save_checkpoint(path, model, meta | {"epoch": 1})

    def no_rename(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(checkpoints.os, "replace", no_rename)
    with pytest.raises(CheckpointError, match="the previous last.pt is kept"):
        save_checkpoint(path, model, meta | {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)[1]["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


SAVE_LOOP = """
import itertools, sys, torch
from pathlib import Path
from ecgcore.checkpoints import save_checkpoint
from ecgcore.fileio import write_json
from ecgcore.models import ECGClassifier, create_model

folder, what = Path(sys.argv[1]), sys.argv[2]
model = ECGClassifier(create_model("cnn1d", n_classes=5), torch.zeros(12), torch.ones(12))
meta = {"model": "cnn1d", "model_config": {}, "label_names": ["NORM", "MI", "STTC", "CD", "HYP"], "sampling_rate": 100}
for i in itertools.count():
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(i))
    if what == "checkpoint":
        save_checkpoint(folder / "last.pt", model, meta | {"epoch": i}, {"bulk": torch.full((4_000_000,), float(i)), "epoch": i})
    else:
        write_json(folder / "results.json", {"epoch": i, "test_prob": [float(i)] * 400_000})
    print(i, flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("what", ["checkpoint", "results"])
def test_sigkill_during_a_save_leaves_the_previous_file(tmp_path, what):
    """A process killed (SIGKILL: no cleanup at all) in the middle of writing a checkpoint or a results
    file: the file on disk is a complete earlier (or the new) version, never a torn one."""
    target = tmp_path / ("last.pt" if what == "checkpoint" else "results.json")
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVE_LOOP, str(tmp_path), what],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=PROJECT,
    )
    try:
        for line in proc.stdout:  # a few complete saves first
            if int(line) >= 2:
                break
        tmp = wait_until(
            lambda: [p for p in tmp_path.iterdir() if ".tmp" in p.name], "a save in progress", interval=0.0005
        )
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert tmp, "not killed during a save"
    if what == "checkpoint":
        data = read_checkpoint(target)
        epoch = data["meta"]["epoch"]
        assert data["train_state"]["epoch"] == epoch >= 2
        assert bool((data["train_state"]["bulk"] == float(epoch)).all())  # 16 MB, so that a save takes a while
        assert all(
            bool((v == float(epoch)).all())
            for k, v in data["state_dict"].items()
            if k.startswith("net.") and v.is_floating_point() and "running" not in k
        ), "weights of one version, metadata of another"
    else:
        results = read_json(target)
        assert results["epoch"] >= 2 and set(results["test_prob"]) == {float(results["epoch"])}


# ============================================================================= training runs


def _argv(demo_root: Path, epochs: int = 3, fold: int = 0) -> dict:
    """One fold's background job (the request document the run service reads)."""
    given = {"epochs": epochs, "batch_size": 8, "seed": 5}
    return jobs.train_job(str(demo_root), "cnn1d", fold, given=given, evaluate=False)


FRESH_APP = """
import json, sys
from pathlib import Path
from ecgcore import jobs
from ecgcore.errors import RunError
from ecgcore.runs import list_runs, run_state

states = {str(r.path): run_state(r.path) for r in list_runs()}
try:
    jobs.submit(Path(sys.argv[1]), json.loads(sys.argv[2]))
    again = "submitted"
except RunError as e:
    again = "RunError: " + str(e)
print(json.dumps({"states": states, "again": again}))
"""


def _race(n: int, action) -> list[str]:
    """Call ``action`` from ``n`` threads released at once: ["ok" | "RunError: …"]."""
    barrier = threading.Barrier(n)
    out: list[str] = []

    def click():
        barrier.wait(timeout=30)
        try:
            action()
            out.append("ok")
        except RunError as e:
            out.append(f"RunError: {e}")

    threads = [threading.Thread(target=click) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


@pytest.mark.slow
def test_killed_training_is_interrupted_found_again_and_resumes_exactly(runs_root, demo_root, tmp_path):
    """Four clicks on Start at once → one run. The app restarts while it trains → a fresh process finds
    it running (and a click there is refused). SIGKILL mid-epoch → interrupted; resume continues from
    the last completed epoch and ends with the weights and metrics of a run never interrupted."""
    path = RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs_root).folder
    argv = _argv(demo_root)
    # the uninterrupted twin, launched the same way (the launcher sets the trainer's threads, and
    # another thread count sums in another order): a second runs folder, training alongside
    twin_root = tmp_path / "uninterrupted"
    twin = RunPaths.of("demo", "superclass", "cnn1d", 0, root=twin_root).folder
    jobs.submit(twin, argv, twin_root)
    outcomes = _race(4, lambda: jobs.submit(path, argv))
    assert sorted(o.split(":")[0] for o in outcomes) == ["RunError", "RunError", "RunError", "ok"], outcomes
    assert all("already" in o for o in outcomes if o != "ok")
    assert [r.path for r in list_runs(runs_root)] == [path]

    log = path / "train.log"
    wait_until(lambda: any(e["event"] == "batch" and e["epoch"] >= 1 for e in read_events(path)), "epoch 1", log=log)
    pid = read_status(path)["pid"]
    os.killpg(pid, signal.SIGSTOP)  # frozen mid-epoch while the "restarted app" looks
    try:
        fresh = subprocess.run(
            [sys.executable, "-c", FRESH_APP, str(path), json.dumps(argv)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=child_env(ECGCORE_RUNS_DIR=runs_root),
            cwd=PROJECT,
        )
        assert fresh.returncode == 0, fresh.stderr
        seen = json.loads(fresh.stdout.strip().splitlines()[-1])
        assert seen["states"] == {str(path): "running"}
        assert seen["again"].startswith("RunError") and "already running" in seen["again"]
    finally:
        os.killpg(pid, signal.SIGKILL)
    wait_until(lambda: not background.pid_alive(pid), "the killed process to end")
    wait_until(lambda: not is_locked(path), "the lock to be released", timeout=10)
    assert read_status(path, live=False)["state"] == "running"  # what the dead process left behind…
    assert run_state(path) == "interrupted"  # …is shown as interrupted
    completed = read_checkpoint(path / "last.pt")["meta"]["epoch"]
    events = read_events(path)
    assert any(e["event"] == "batch" and e["epoch"] == completed + 1 for e in events), "not killed mid-epoch"
    assert completed + 1 < 3, "the run ended before the kill"

    assert jobs.resume(path) in ("starting", "running")
    wait_until(lambda: run_state(path) in FINAL, "the resumed run to end", log=log)
    assert run_state(path) == "done", log.read_text()[-3000:]
    events = read_events(path)
    starts = [e for e in events if e["event"] == "start"]
    assert [s["resumed_from"] for s in starts] == [None, completed + 1]

    wait_until(lambda: run_state(twin) in FINAL, "the uninterrupted run to end", log=twin / "train.log")
    assert run_state(twin) == "done"
    assert [e["event"] for e in read_events(twin)].count("start") == 1
    same_weights(twin / "last.pt", path / "last.pt")
    same_weights(twin / "best.pt", path / "best.pt")
    a, b = read_checkpoint(twin / "last.pt")["train_state"], read_checkpoint(path / "last.pt")["train_state"]
    assert (a["best_epoch"], a["best_score"]) == (b["best_epoch"], b["best_score"])


RACER = """
import json, sys, time
from pathlib import Path
from ecgcore import jobs
from ecgcore.errors import RunError

path, argv, ready, go = Path(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
ready.touch()
deadline = time.time() + 60
while not go.exists() and time.time() < deadline:
    time.sleep(0.001)
try:
    print(json.dumps({"state": jobs.submit(path, argv)}))
except RunError as e:
    print(json.dumps({"error": str(e)}))
"""


@pytest.mark.slow
def test_two_processes_starting_the_same_run_at_once(runs_root, demo_root, tmp_path):
    """Two app processes (or an app and a CLI) submit the same model/fold at the same instant: exactly
    one run is queued, the other gets RunError. (The one training slot is taken by another run, so
    nothing is launched.)"""
    busy = RunPaths.of("demo", "superclass", "cnn2d", 4, root=runs_root).folder
    write_status(busy, state="running", pid=os.getpid())
    slot = RunLock(busy).acquire()
    path = RunPaths.of("demo", "superclass", "cnn1d", 1, root=runs_root).folder
    argv = _argv(demo_root, fold=1)
    go = tmp_path / "go"
    procs = []
    try:
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", RACER, str(path), json.dumps(argv), str(tmp_path / f"ready{i}"), str(go)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    cwd=PROJECT,
                    env=child_env(ECGCORE_RUNS_DIR=runs_root, ECGCORE_MAX_TRAININGS=1),
                )
            )
        wait_until(lambda: all((tmp_path / f"ready{i}").exists() for i in range(2)), "both processes ready")
        go.touch()
        outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=30)
        slot.release()
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert [r for r in results if "state" in r] == [{"state": "queued"}], results
    [refused] = [r["error"] for r in results if "error" in r]
    assert "already queued" in refused
    assert run_state(path) == "queued" and read_status(path)["request"] == argv["request"]
    assert not (path / "train.log").exists()  # nothing launched behind the busy slot
    assert jobs.cancel(path) == "cancelled"


def test_cancel_flag_stops_within_one_batch(demo_ds, tmp_path, keep_sigterm):
    """The app's Cancel (jobs.cancel touches the run's cancel flag) stops the trainer (the run service's
    should_stop) after the current batch — not one more — and keeps what the last epoch saved."""
    from ecgcore.run_paths import RunPaths
    from ecgcore.service import _stop_for

    path = tmp_path / "run"
    flag = RunPaths(path).cancel_flag
    stop = _stop_for(RunPaths(path), None)
    events: list[dict] = []

    def click_cancel(event):
        events.append(event)
        if event["event"] == "batch" and event["epoch"] == 1 and not flag.exists():
            flag.touch()

    result = train_fold(
        demo_ds, TrainConfig(epochs=3, batch_size=32, log_every=1), path, [click_cancel], should_stop=stop
    )
    clicked = next(i for i, e in enumerate(events) if e["event"] == "batch" and e["epoch"] == 1)
    assert [e["event"] for e in events[clicked + 1 :]] == ["cancelled"]
    assert result["event"] == "cancelled" and result["step"] == events[clicked]["step"]
    assert load_checkpoint(path / "last.pt")[1]["epoch"] == 0


def test_disk_full_during_checkpoint_save(demo_root, demo_ds, tmp_path, monkeypatch, capsys, keep_sigterm):
    """ENOSPC while ``train`` writes a checkpoint (real kernel error: the write goes to /dev/full):
    one ``error: cannot write checkpoint … No space left on device`` line, exit 2, the run marked failed
    with that message, the previous best.pt/last.pt still load, no temp file; once space is freed the
    run resumes to the end."""
    import ecgcore.checkpoints as checkpoints

    if not os.path.exists("/dev/full"):
        pytest.skip("/dev/full is not available")
    saves = {"n": 0}
    real_open = builtins.open

    def full_disk_open(file, mode="r", *args, **kwargs):
        if "w" in mode and ".tmp" in str(file):
            saves["n"] += 1
            if saves["n"] > 2:  # epoch 0 writes best.pt and last.pt; the disk fills up in epoch 1
                real_open(file, mode).close()  # the temp file is created as a real one would be
                return real_open("/dev/full", mode, *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "open", full_disk_open, raising=False)
    runs = tmp_path / "runs"
    argv = [
        "train",
        "--data_root",
        str(demo_root),
        "--model",
        "cnn1d",
        "--fold",
        "0",
        "--epochs",
        "2",
        "--batch_size",
        "64",
        "--no_eval",
        "--runs_dir",
        str(runs),
    ]
    rc, err = cli([*argv, "--seed", "1"], capsys)  # the resumes below give no --seed: the run's own is kept
    assert_user_error(rc, err, "cannot write checkpoint", "No space left on device", "is kept")
    path = RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs).folder
    status = read_status(path)
    assert status["state"] == "failed" and "No space left on device" in status["error"]
    assert run_state(path) == "failed"
    assert load_checkpoint(path / "last.pt")[1]["epoch"] == 0
    assert load_checkpoint(path / "best.pt")[1]["epoch"] == 0
    assert not [p.name for p in path.iterdir() if ".tmp" in p.name]

    monkeypatch.undo()  # space freed
    rc, err = cli([*argv, "--resume", "--lr", "0.01", "--batch_size", "32"], capsys)  # not what the run was
    assert_user_error(rc, err, "--lr 0.01 (the run has", "--batch_size 32 (the run has 64)", "--overwrite")
    assert load_checkpoint(path / "last.pt")[1]["epoch"] == 0  # untouched
    rc, err = cli([*argv, "--resume"], capsys)
    assert rc == 0, err
    assert load_checkpoint(path / "last.pt")[1]["epoch"] == 1 and read_status(path)["state"] == "done"


# ============================================================================= results and run files


def test_corrupt_results_are_reported_not_crashing(trained_runs, demo_ds, tmp_path):
    """A results.json cut short or overwritten is a ResultsError naming the file and what to do; the
    other runs' results still read, and the comparison leaves the broken fold out."""
    from ecgcore.app.results import read_run_results
    from ecgcore.evaluate import comparison_table, read_results

    root = tmp_path / "runs"
    for model, src in trained_runs.items():
        shutil.copytree(src, RunPaths.of(demo_ds.name, demo_ds.label_set, model, 0, root=root).folder)
        shutil.copytree(src, RunPaths.of(demo_ds.name, demo_ds.label_set, model, 1, root=root).folder)
    assert len(comparison_table(demo_ds, root=root)) == 4
    broken = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn2d", 1, root=root).folder
    text = (broken / "results.json").read_text()
    for content in (text[: len(text) // 2], "", "[1, 2, 3]", "\x00\xff garbage"):
        (broken / "results.json").write_text(content, errors="surrogateescape")
        for reader in (read_results, read_run_results):
            with pytest.raises(ResultsError, match=r"results.json .*(corrupt|not a results object).*ecgcore eval"):
                reader(broken)
        table = comparison_table(demo_ds, root=root)
        assert sorted(table["fold"]) == [0, 0]
        assert (
            read_results(RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 1, root=root).folder)["macro_pr_auc"]
            is not None
        )


def test_damaged_status_and_progress_files_are_read(tmp_path):
    """A corrupt status.json shows the run as damaged (saying so, and what to do) instead of breaking
    the runs list (it was 'failed' before issue 11); a half-written last line of progress.jsonl (a kill
    mid-write) is skipped."""
    path = RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path).folder
    path.mkdir(parents=True)
    (path / "status.json").write_text('{"state": "runn')
    (path / "progress.jsonl").write_text('{"event": "start", "epochs": 2}\n{"event": "batch", "ep')
    [run] = list_runs(tmp_path)
    assert run.state == "damaged" and "corrupt" in run.status["error"] and "--repair" in run.damage
    assert run_state(path) == "damaged"
    assert [e["event"] for e in read_events(path)] == ["start"]
    jobs.delete(path)  # and it can be cleared from the app
    assert not path.exists()


def test_every_fault_error_is_a_user_error():
    """The app shows ECGCoreError as a message and the CLI exits 2 on it: every error class used above
    must be one (a new exception type outside the hierarchy would surface as a traceback)."""
    for cls in (DataError, UploadError, CheckpointError, RunError, ResultsError):
        assert issubclass(cls, ECGCoreError)
    assert FORMAT.startswith("ecgcore-checkpoint/")
