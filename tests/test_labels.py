"""ecgcore.labels: safe scp_codes parsing, superclass/subclass/top<k> derivation, label order, the
likelihood option, and the real PTB-XL counts (full metadata and the 1,803-record part)."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest

from ecgcore.errors import DataError, LabelError
from ecgcore.labels import SUPERCLASSES, check_label_set, derive_labels, parse_scp_codes

# A small scp_statements table: 5 diagnostic codes (3 superclasses) and 2 non-diagnostic ones.
STATEMENTS = pd.DataFrame(
    {
        "diagnostic": [1, 1, 1, 1, 1, np.nan, np.nan],
        "diagnostic_class": ["NORM", "MI", "MI", "STTC", "HYP", np.nan, np.nan],
        "diagnostic_subclass": ["NORM", "IMI", "AMI", "ISC_", "LVH", np.nan, np.nan],
    },
    index=pd.Index(["NORM", "IMI", "ASMI", "ISCAL", "LVH", "SR", "AFIB"], name="code"),
)


def test_superclass_order_is_fixed():
    assert SUPERCLASSES == ("NORM", "MI", "STTC", "CD", "HYP")
    # the order holds whatever order the codes come in, and a class never seen still gets its column
    labels, names = derive_labels([{"LVH": 100.0}, {"IMI": 50.0, "NORM": 100.0}], STATEMENTS)
    assert names == SUPERCLASSES
    np.testing.assert_array_equal(labels, [[0, 0, 0, 0, 1], [1, 1, 0, 0, 0]])
    assert labels.dtype == np.uint8


def test_superclass_derivation_ignores_non_diagnostic_and_unknown_codes():
    codes = [
        {"NORM": 100.0, "SR": 0.0},  # SR is not diagnostic
        {"IMI": 100.0, "ASMI": 80.0, "ISCAL": 50.0},  # two MI codes -> one MI label
        {"SR": 0.0, "AFIB": 100.0},  # rhythm only -> no label
        {"XYZ": 100.0},  # code not in the table -> no label
        {},
    ]
    labels, names = derive_labels(codes, STATEMENTS, "superclass")
    expected = np.array(
        [
            [1, 0, 0, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
        ]
    )
    np.testing.assert_array_equal(labels, expected)


def test_subclass_names_sorted_and_derived():
    codes = [{"IMI": 100.0}, {"ASMI": 100.0, "LVH": 100.0}, {"ISCAL": 0.0}]
    labels, names = derive_labels(codes, STATEMENTS, "subclass")
    assert names == ("AMI", "IMI", "ISC_", "LVH", "NORM")  # every diagnostic subclass, alphabetical
    np.testing.assert_array_equal(
        labels,
        [
            [0, 1, 0, 0, 0],
            [1, 0, 0, 1, 0],
            [0, 0, 1, 0, 0],
        ],
    )


def test_topk_most_frequent_first_ties_by_code():
    codes = [
        {"LVH": 100.0, "IMI": 100.0},
        {"LVH": 100.0, "ASMI": 100.0},
        {"LVH": 100.0, "IMI": 100.0, "SR": 0.0},  # SR is not diagnostic: never a top-k label
        {"ASMI": 100.0, "NORM": 100.0},
        {"SR": 0.0},
    ]
    # counts: LVH 3, ASMI 2, IMI 2, NORM 1; ASMI before IMI (tie broken by code)
    labels, names = derive_labels(codes, STATEMENTS, "top3")
    assert names == ("LVH", "ASMI", "IMI")
    np.testing.assert_array_equal(labels, [[1, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 0]])
    labels, names = derive_labels(codes, STATEMENTS, "top10")  # fewer codes than k: all of them
    assert names == ("LVH", "ASMI", "IMI", "NORM")
    assert labels.shape == (5, 4)


def test_likelihood_ignored_by_default_and_min_likelihood():
    codes = [{"NORM": 0.0}, {"IMI": 15.0, "LVH": 100.0}]
    labels, _ = derive_labels(codes, STATEMENTS)
    np.testing.assert_array_equal(labels, [[1, 0, 0, 0, 0], [0, 1, 0, 0, 1]])  # 0.0 still counts
    labels, _ = derive_labels(codes, STATEMENTS, min_likelihood=50)
    np.testing.assert_array_equal(labels, [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
    labels, _ = derive_labels(codes, STATEMENTS, min_likelihood=15)  # at or above the bound is kept
    np.testing.assert_array_equal(labels, [[0, 0, 0, 0, 0], [0, 1, 0, 0, 1]])


def test_parse_scp_codes_good():
    assert parse_scp_codes("{'NORM': 100.0, 'SR': 0.0}") == {"NORM": 100.0, "SR": 0.0}
    assert parse_scp_codes("{'IMI': 35}") == {"IMI": 35.0}
    assert parse_scp_codes("{}") == {}


def test_parse_scp_codes_refuses_code(tmp_path):
    marker = tmp_path / "executed"
    text = f"__import__('os').system('touch {marker}')"
    with pytest.raises(LabelError):
        parse_scp_codes(text)
    assert not marker.exists(), "the scp_codes string was executed"
    with pytest.raises(LabelError):
        parse_scp_codes("{'NORM': __import__('os').getcwd()}")


@pytest.mark.parametrize(
    "text",
    ["[1, 2]", "'NORM'", "{1: 100.0}", "{'NORM': 100.0", "", "{'NORM': 'high'}", "{'NORM': None}", "{'NORM': [1]}"],
)
def test_parse_scp_codes_bad_values_raise_label_error(text):
    with pytest.raises(LabelError):
        parse_scp_codes(text)


def test_check_label_set():
    for name in ("superclass", "subclass", "top5", "top71"):
        assert check_label_set(name) == name
    for name in ("super", "top", "topk", "Superclass", "top-3"):
        with pytest.raises(LabelError):
            check_label_set(name)
    with pytest.raises(LabelError):
        derive_labels([{"NORM": 1.0}], STATEMENTS, "diagnostic")


def test_bad_scp_codes_row_named_by_loader(demo_root, tmp_path):
    """A malicious/garbled scp_codes cell in a dataset makes load_ptbxl raise DataError naming the row."""
    import shutil

    from ecgcore.data import read_database

    root = tmp_path / "copy"
    root.mkdir()
    shutil.copy(demo_root / "ptbxl_database.csv", root)
    table = pd.read_csv(root / "ptbxl_database.csv")
    bad_id = int(table.loc[3, "ecg_id"])
    table.loc[3, "scp_codes"] = "__import__('os').getcwd()"
    table.to_csv(root / "ptbxl_database.csv", index=False)
    with pytest.raises(DataError, match=f"ecg_id {bad_id}"):
        read_database(root)


# ----------------------------------------------------------------------------- demo / real data


def test_demo_labels_follow_statements(demo_ds):
    """The loader's labels equal a recomputation from the demo's own csv files."""
    table = pd.read_csv(demo_ds.root / "ptbxl_database.csv")
    statements = pd.read_csv(demo_ds.root / "scp_statements.csv", index_col=0)
    classes = statements[statements.diagnostic == 1].diagnostic_class.to_dict()
    expected = np.zeros((len(table), 5), np.uint8)
    for i, text in enumerate(table.scp_codes):
        for code in ast.literal_eval(text):
            if code in classes:
                expected[i, SUPERCLASSES.index(classes[code])] = 1
    assert demo_ds.label_names == SUPERCLASSES
    np.testing.assert_array_equal(demo_ds.labels, expected)
    assert demo_ds.records["has_label"].tolist() == expected.any(axis=1).tolist()


@pytest.mark.realdata
def test_real_full_metadata_superclass_counts(ptbxl_root):
    table = pd.read_csv(ptbxl_root / "ptbxl_database_full.csv")
    statements = pd.read_csv(ptbxl_root / "scp_statements.csv", index_col=0)
    labels, names = derive_labels([parse_scp_codes(t) for t in table.scp_codes], statements, "superclass")
    counts = dict(zip(names, labels.sum(axis=0).tolist()))
    assert counts == {"NORM": 9528, "MI": 5486, "STTC": 5250, "CD": 4907, "HYP": 2655}
    assert len(table) == 21837
    assert int(labels.any(axis=1).sum()) == 21430


def _independent_superclasses(root) -> list[set[str]]:
    """Superclasses per record from the two csv files, with plain pandas and ast only."""
    table = pd.read_csv(root / "ptbxl_database.csv")
    statements = pd.read_csv(root / "scp_statements.csv", index_col=0)
    diagnostic = statements[statements["diagnostic"] == 1]
    klass = dict(zip(diagnostic.index, diagnostic["diagnostic_class"]))
    return [{klass[c] for c in ast.literal_eval(text) if c in klass} for text in table["scp_codes"]]


@pytest.mark.realdata
def test_real_part_loader_counts_equal_independent_counts(real_ds, ptbxl_root):
    per_record = _independent_superclasses(ptbxl_root)
    expected = {name: sum(name in s for s in per_record) for name in SUPERCLASSES}
    assert expected == {"NORM": 939, "STTC": 434, "CD": 377, "MI": 344, "HYP": 199}
    loaded = dict(zip(real_ds.label_names, real_ds.labels.sum(axis=0).tolist()))
    assert loaded == expected
    assert sum(not s for s in per_record) == 20
    assert len(real_ds.records) - len(real_ds.labelled) == 20
    # and record by record, in the loader's row order
    by_id = dict(zip(pd.read_csv(ptbxl_root / "ptbxl_database.csv")["ecg_id"], per_record))
    for ecg_id, row in zip(real_ds.records["ecg_id"], real_ds.labels):
        assert {n for n, y in zip(real_ds.label_names, row) if y} == by_id[ecg_id]


@pytest.mark.realdata
def test_real_part_subclass_and_topk(ptbxl_root):
    table = pd.read_csv(ptbxl_root / "ptbxl_database.csv")
    statements = pd.read_csv(ptbxl_root / "scp_statements.csv", index_col=0)
    codes = [parse_scp_codes(t) for t in table.scp_codes]
    labels, names = derive_labels(codes, statements, "subclass")
    diagnostic = statements[statements.diagnostic == 1]
    assert names == tuple(sorted(diagnostic.diagnostic_subclass.dropna().unique()))
    assert len(names) == 23  # PTB-XL's 23 diagnostic subclasses
    labels, names = derive_labels(codes, statements, "top5")
    counts = labels.sum(axis=0)
    assert list(counts) == sorted(counts, reverse=True)
    assert names[0] == "NORM"
    diag_codes = set(diagnostic.index)
    independent = {n: sum(n in c and n in diag_codes for c in codes) for n in names}
    assert [independent[n] for n in names] == counts.tolist()


# ----------------------------------------------------------------------------- class names as file names


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "..", ".hidden", "a\x00b\nc", "C:\\x", "", "progress"])
def test_safe_file_name_stays_a_plain_name(name):
    from ecgcore.labels import safe_file_name

    safe = safe_file_name(name, reserved=("progress",))
    assert safe and "/" not in safe and "\\" not in safe and ".." not in safe and not safe.startswith(".")
    assert all(ord(c) >= 32 for c in safe) and safe != "progress"


def test_safe_file_name_keeps_plain_names_and_distinct_names_distinct():
    from ecgcore.labels import safe_file_name

    assert [safe_file_name(n) for n in ("NORM", "ISC_", "LVH", "1AVB")] == ["NORM", "ISC_", "LVH", "1AVB"]
    assert safe_file_name("LAFB/LPFB").startswith("LAFB-LPFB-")
    names = ["LAFB/LPFB", "LAFB-LPFB", "LAFB\\LPFB", "a/b", "a-b", "a\x01b", "a_b"]
    assert len({safe_file_name(n) for n in names}) == len(names)


def test_class_summary_of_a_class_named_like_a_path_writes_inside_the_run(tmp_path, monkeypatch):
    """A subclass named ``../../x`` in scp_statements.csv: its JSON and PNG land in the run's summary
    folder under a safe name, and the summary keeps the real name."""
    from ecgcore import class_summary as cs

    run = tmp_path / "runs" / "demo" / "run"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(b"weights")
    evil = "../../x"
    monkeypatch.setattr(cs, "_check_classes", lambda ds, classes: [evil])
    monkeypatch.setattr(cs, "_load_run_model", lambda ds, path: (None, {}))
    monkeypatch.setattr(cs, "_test_records_by_class", lambda ds, meta, n: {evil: [1, 2]})
    monkeypatch.setattr(cs, "class_summary", lambda *a, **k: {"classes": {evil: {"n": 2}}, "fold": 0, "plan": "strat"})
    monkeypatch.setattr(cs, "summary_png", lambda data, path: cs.write_with(path, lambda f: f.write(b"png")))
    out = cs.write_class_summary(None, run, "gradient", classes=[evil])
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    folder = cs.summary_dir(run, "gradient")
    assert all(str(p).startswith(str(folder.relative_to(tmp_path))) or p.name == "best.pt" for p in written)
    assert len([p for p in folder.iterdir() if p.suffix in (".json", ".png")]) == 2
    assert out[evil]["class"] == evil
    assert cs.cached_class_summary(run, "gradient", evil)["class"] == evil
