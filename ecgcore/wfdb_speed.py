"""wfdb's header parser without its pandas cost: the one speed-up ecgcore makes inside wfdb.

Measured (wfdb 4.3.1, pandas 3.1, one PTB-XL 100 Hz record, ``cProfile`` of ``wfdb.rdrecord``): 87 % of
the time of reading a record is wfdb's header parser looking up ``SIGNAL_SPECS.loc[field, column]``
(and ``RECORD_SPECS``) — ~250 scalar ``DataFrame.loc`` lookups of ~30 µs each per 12-lead header.
Reading a record (header twice: the checks, then the samples) took 5.7 ms, so a 1,000-record signal
cache took ~6 s of CPU and the 21,837-record one ~2 minutes; with this, 0.63 ms (9×;
``bench/read_records.py``).

:func:`install` swaps those tables for the same tables whose scalar ``.loc[row, column]`` lookups are a
dict lookup returning the very same cell objects (wfdb compares some with ``is``). Every other use —
``.index``, ``.copy()``, list or slice lookups — goes to pandas unchanged, so wfdb reads and writes
exactly as before; ``tests/test_wfdb_speed.py`` checks that on real and demo records. If a later wfdb
no longer has the table, nothing is changed.
"""

from __future__ import annotations

import pandas as pd


class _ScalarFirstLoc:
    """``.loc`` of a :class:`_SpecTable`: ``[row, column]`` from the dict, anything else from pandas."""

    def __init__(self, table: _SpecTable):
        self._table = table

    def __getitem__(self, key):
        if isinstance(key, tuple) and len(key) == 2:
            try:
                return self._table._cells[key]
            except (KeyError, TypeError):  # not a scalar lookup of a known cell (a list, a slice, …)
                pass
        return pd.DataFrame.loc.fget(self._table)[key]


class _SpecTable(pd.DataFrame):
    """A wfdb field-spec table with a dict behind its scalar ``.loc`` lookups (read-only use)."""

    _metadata = ["_cells"]

    @property
    def loc(self):  # noqa: D401 — pandas' own name
        return _ScalarFirstLoc(self)


def _fast_table(table: pd.DataFrame) -> _SpecTable:
    fast = _SpecTable(table)
    fast.index = pd.Index(list(table.index), dtype=object)  # wfdb iterates it per signal: plain str, not arrow
    fast._cells = {(row, column): table.at[row, column] for row in table.index for column in table.columns}
    return fast


TABLES = ("SIGNAL_SPECS", "RECORD_SPECS")  # the tables the header parser looks up per field


def install() -> bool:
    """Put fast tables in place of ``wfdb.io._header.SIGNAL_SPECS`` and ``RECORD_SPECS`` (idempotent).

    Returns True when they are in place, False when this wfdb lacks them (then nothing is changed)."""
    from wfdb.io import _header

    tables = {name: getattr(_header, name, None) for name in TABLES}
    if not all(isinstance(t, pd.DataFrame) for t in tables.values()):
        return False
    for name, table in tables.items():
        if not isinstance(table, _SpecTable):
            setattr(_header, name, _fast_table(table))
    return True
