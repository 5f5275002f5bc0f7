"""ecgcore.wfdb_speed: wfdb reads and writes exactly as without it, only faster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import wfdb
from wfdb.io import _header

from ecgcore import wfdb_speed
from ecgcore.records import LEADS, read_record


def _plain_table(name: str = "SIGNAL_SPECS") -> pd.DataFrame:
    return pd.DataFrame(getattr(_header, name))  # the same cells in a plain DataFrame (pandas' own .loc)


def test_installed_by_the_record_reader():
    for name in wfdb_speed.TABLES:
        assert isinstance(getattr(_header, name), wfdb_speed._SpecTable)
    assert wfdb_speed.install()  # idempotent


@pytest.mark.parametrize("name", wfdb_speed.TABLES)
def test_every_scalar_lookup_is_pandas_own_cell(name):
    fast, plain = getattr(_header, name), _plain_table(name)
    for row in plain.index:
        for column in plain.columns:
            assert fast.loc[row, column] is plain.loc[row, column]  # wfdb compares some cells with `is`
    rows = list(plain.index[:2])
    assert list(fast.loc[rows, "read_default"]) == list(plain.loc[rows, "read_default"])
    assert fast.loc[rows[0]].equals(plain.loc[rows[0]])
    assert list(fast.index) == list(plain.index) and rows[0] in fast.index


def _read_both(path: str, monkeypatch) -> tuple[tuple, tuple]:
    fast = wfdb.rdsamp(path)
    with monkeypatch.context() as m:
        for name in wfdb_speed.TABLES:
            m.setattr(_header, name, _plain_table(name))
        plain = wfdb.rdsamp(path)
    return fast, plain


def test_real_records_read_identically(ptbxl_root, monkeypatch):
    table = pd.read_csv(ptbxl_root / "ptbxl_database.csv", usecols=["filename_lr", "filename_hr"])
    for name in [*table.filename_lr[:15], *table.filename_hr[:3]]:
        (sig_a, fields_a), (sig_b, fields_b) = _read_both(str(ptbxl_root / name), monkeypatch)
        np.testing.assert_array_equal(sig_a, sig_b)
        assert fields_a == fields_b


def test_written_records_read_back_identically(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    signal = np.round(rng.normal(0, 0.5, (1000, 12)), 3)
    wfdb.wrsamp(
        "rec",
        fs=100,
        units=["mV"] * 12,
        sig_name=list(LEADS),
        p_signal=signal,
        fmt=["16"] * 12,
        write_dir=str(tmp_path),
    )
    (sig_a, fields_a), (sig_b, fields_b) = _read_both(str(tmp_path / "rec"), monkeypatch)
    np.testing.assert_array_equal(sig_a, sig_b)
    assert fields_a == fields_b
    np.testing.assert_allclose(read_record(tmp_path / "rec", 100), signal.T, atol=1e-3)


def test_a_wfdb_without_the_table_is_left_alone(monkeypatch):
    monkeypatch.delattr(_header, "SIGNAL_SPECS")
    assert wfdb_speed.install() is False
