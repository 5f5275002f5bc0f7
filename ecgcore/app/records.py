"""The Dataset page's record table and filters, one record's details, a patient's records, and the
part (train/val/test) of every record in a fold. No Streamlit import.

Arrays: ``ds.labels`` is (n_records, n_labels) 0/1; returned indices are rows of ``ds.records``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecgcore.data import ECGDataset
from ecgcore.errors import DataError
from ecgcore.folds import DEFAULT_PLAN, patient_folds, strat_folds_of

NO_LABEL = "(no label)"
LANGUAGES = {"de": "German", "en": "English", "sv": "Swedish"}

# Report search: PTB-XL reports mix German and English (and German spelled with or without umlauts).
# Each row is one finding in both languages, normalised (lower case, ä → ae …); a query word or phrase
# that matches any spelling of a row finds every spelling. The language of a spelling marks reports.
SEARCH_TERMS: tuple[dict[str, tuple[str, ...]], ...] = (
    {"en": ("infarct",), "de": ("infarkt",)},
    {"en": ("ischaemi", "ischemi"), "de": ("ischaemie",)},
    {"en": ("sinus rhythm",), "de": ("sinusrhythmus",)},
    {"en": ("sinus bradycardia",), "de": ("sinusbradykardie",)},
    {"en": ("sinus tachycardia",), "de": ("sinustachykardie",)},
    {"en": ("bradycardi",), "de": ("bradykardie",)},
    {"en": ("tachycardi",), "de": ("tachykardie",)},
    {"en": ("left bundle branch block",), "de": ("linksschenkelblock",)},
    {"en": ("right bundle branch block",), "de": ("rechtsschenkelblock",)},
    {"en": ("bundle branch block",), "de": ("schenkelblock",)},
    {"en": ("hypertrophy",), "de": ("hypertrophie",)},
    {"en": ("left axis deviation",), "de": ("linkstyp",)},
    {"en": ("right axis deviation",), "de": ("rechtstyp",)},
    {"en": ("low voltage", "low limb lead voltage"), "de": ("niederspannung",)},
    {"en": ("injury",), "de": ("myokardschaden", "schaden")},
    {"en": ("atrial",), "de": ("vorhof",)},
    {"en": ("unconfirmed",), "de": ("unbestaetigt",)},
    {"en": ("normal ecg",), "de": ("normales ekg",)},
    {"en": ("probably", "likely"), "de": ("wahrscheinlich",)},
    {"en": ("conduction",), "de": ("leitung",)},
    {"en": ("abnormal",), "de": ("abnormal", "abnorm")},
)
_GERMAN_ONLY = ("lagetyp", " und ", " oder ", "bericht", "ekg", "grades", "alter ", "sonst ", "moeglich", "verdacht")
_ENGLISH_ONLY = (" and ", " or ", " with ", "ecg", "consistent", "possible", "suggest", "wave", "segment")
_SWEDISH_ONLY = (
    "sinusrytm", " och ", "vaenster", "hoeger", "kammar", "foermak", "normalt ekg", "avvikande", "saenkning",
    "ospecifik", " ej ", "såsom", "foerlopp", "belastning", "ålder", "el-axel", "foeraendring", "t-vaag",
)  # fmt: skip
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalise(text: str) -> str:
    """Lower case, umlauts spelled out ('ISCHÄMIE' → 'ischaemie'), runs of spaces as one."""
    return " ".join(str(text).lower().translate(_UMLAUTS).split())


def search_groups(query: str) -> list[tuple[str, ...]]:
    """The query as groups of alternative spellings; a report matches when it holds one spelling of
    every group ('infarkt anterior' → [(infarct, infarkt), (anterior,)])."""
    text = f" {normalise(query)} "
    groups: list[tuple[str, ...]] = []
    for term in sorted(SEARCH_TERMS, key=lambda t: -max(len(v) for vs in t.values() for v in vs)):
        spellings = tuple(v for vs in term.values() for v in vs)
        for v in sorted(spellings, key=len, reverse=True):
            if f" {v}" in text and " " in v:  # a phrase: taken out whole
                groups.append(spellings)
                text = text.replace(v, " ")
                break
    for word in text.split():
        hits = [
            t
            for t in SEARCH_TERMS
            if any(v.startswith(word) or word.startswith(v) for vs in t.values() for v in vs if " " not in v)
        ]
        spellings = tuple(v for t in hits for vs in t.values() for v in vs) if len(word) >= 4 else ()
        groups.append((word, *spellings))
    return groups


def _own_spellings() -> list[tuple[str, tuple[str, ...]]]:
    """(language, the spellings of one term found only in that language) for every term and language."""
    pairs = []
    for term in SEARCH_TERMS:
        for lang, spellings in term.items():
            other = "en" if lang == "de" else "de"
            pairs.append((lang, tuple(v for v in spellings if v not in term.get(other, ()))))
    return pairs


_OWN_SPELLINGS = _own_spellings()


def report_language(report: str) -> str:
    """'de', 'en' or 'sv' (Swedish: PTB-XL has a few Swedish reports) when the report's wording says so
    (see SEARCH_TERMS), else '' (not known)."""
    text = f" {normalise(repair_report(report)[0])} "
    score = {"de": 0, "en": 0, "sv": 0}
    for lang, own in _OWN_SPELLINGS:
        score[lang] += any(v in text for v in own)
    score["de"] += sum(w in text for w in _GERMAN_ONLY)
    score["en"] += sum(w in text for w in _ENGLISH_ONLY)
    score["sv"] += 2 * sum(w in text for w in _SWEDISH_ONLY)  # Swedish shares 'ekg' and 'infarkt' with German
    best = max(score.values())
    winners = [lang for lang, v in score.items() if v == best]
    return winners[0] if best and len(winners) == 1 else ""


_CAPITAL_IN_WORD = {"Ä": "ä", "Ö": "ö", "Ü": "ü", "Å": "å"}


def repair_report(report: str) -> tuple[str, str | None]:
    """A report with damaged umlauts repaired, and a note saying what was repaired (None: nothing).

    Two kinds of damage occur: UTF-8 read as Latin-1 ("Ã¤" for "ä"), and capital umlauts in a report
    written in lower case ("vÄnster" for "vänster", PTB-XL's Swedish reports)."""
    text, notes = str(report), []
    if any(m in text for m in ("Ã", "Â")):
        try:
            fixed = text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            fixed = text
        if fixed != text:
            text = fixed
            notes.append("umlauts stored in a wrong encoding (e.g. 'Ã¤' for 'ä')")
    letters = [c for c in text if c.isalpha() and c not in _CAPITAL_IN_WORD]
    if letters and all(c.islower() for c in letters) and any(c in text for c in _CAPITAL_IN_WORD):
        text = "".join(_CAPITAL_IN_WORD.get(c, c) for c in text)
        notes.append("capital umlauts in a lower-case report (e.g. 'vÄnster' for 'vänster')")
    return text, ("repaired: " + "; ".join(notes) + " — the file is unchanged") if notes else None


SEX_NAMES = {0: "male", 1: "female"}  # PTB-XL: 0 = male, 1 = female
UNKNOWN = "unknown"


def sex_names(records: pd.DataFrame) -> pd.Series:
    return records["sex"].map(lambda v: SEX_NAMES.get(int(v), UNKNOWN) if pd.notna(v) else UNKNOWN)


def label_strings(ds: ECGDataset) -> list[str]:
    """Per record, its labels joined by ', ' ('' when it has none in the label set)."""
    names = np.asarray(ds.label_names, dtype=object)
    return [", ".join(names[row.astype(bool)]) for row in ds.labels] if len(names) else [""] * len(ds.records)


def _languages(reports: pd.Series) -> pd.Series:
    """:func:`report_language` of each report, worked out once per distinct text (reports repeat)."""
    unique = reports.unique()
    return reports.map(dict(zip(unique, map(report_language, unique))))


def record_table(ds: ECGDataset) -> pd.DataFrame:
    """The records as shown to a user: ecg_id, patient_id, age, sex, strat_fold, labels, report
    (row i is record i of the dataset)."""
    r = ds.records
    return pd.DataFrame(
        {
            "ecg_id": r["ecg_id"].astype(int),
            "patient_id": pd.array(r["patient_id"].round(), dtype="Int64"),
            "age": r["age"].astype(float),
            "sex": sex_names(r),
            "strat_fold": pd.array(strat_folds_of(r), dtype="Int64"),
            "labels": label_strings(ds),
            "report": r["report"].astype(str),
            "language": _languages(r["report"].astype(str)),
        }
    )


@dataclass
class RecordFilter:
    """What the Dataset page filters on (empty = no constraint).

    labels: label names (and/or :data:`NO_LABEL`); ``label_mode`` "any" keeps records with at least
    one of them, "all" records with all of them. age: inclusive (lo, hi); records without an age are
    kept when ``unknown_age``. text: words that must all occur in the report, in German or English
    (case-insensitive, umlauts or not; see :data:`SEARCH_TERMS`).
    ids: numbers matched against ecg_id and patient_id.
    """

    labels: Sequence[str] = ()
    label_mode: str = "any"
    strat_folds: Sequence[int] = ()
    sexes: Sequence[str] = ()
    age: tuple[float, float] | None = None
    unknown_age: bool = True
    text: str = ""
    ids: str = ""


def parse_ids(text: str) -> list[int]:
    """Whole numbers in ``text`` ('12, 345 6789' → [12, 345, 6789])."""
    return [int(x) for x in re.findall(r"\d+", text or "")]


def filter_records(ds: ECGDataset, f: RecordFilter) -> np.ndarray:
    """Indices of the records that pass ``f`` (in dataset order)."""
    r = ds.records
    keep = np.ones(len(r), dtype=bool)
    if f.labels:
        names = list(ds.label_names)
        unknown = [x for x in f.labels if x != NO_LABEL and x not in names]
        if unknown:
            raise DataError(f"label(s) {', '.join(unknown)} are not in the label set {ds.label_set}.")
        cols = [names.index(x) for x in f.labels if x != NO_LABEL]
        has = ds.labels[:, cols].astype(bool) if cols else np.zeros((len(r), 0), bool)
        none = ~ds.labels.any(axis=1) if ds.labels.shape[1] else np.ones(len(r), bool)
        if f.label_mode == "all":
            m = has.all(axis=1) if cols else np.ones(len(r), bool)
            if NO_LABEL in f.labels:
                m &= none
        else:
            m = has.any(axis=1) if cols else np.zeros(len(r), bool)
            if NO_LABEL in f.labels:
                m |= none
        keep &= m
    if f.strat_folds:
        keep &= np.isin(strat_folds_of(r), list(f.strat_folds))
    if f.sexes:
        keep &= sex_names(r).isin(list(f.sexes)).to_numpy()
    if f.age is not None:
        age = r["age"].to_numpy(dtype=float)
        known = ~np.isnan(age)
        in_range = known & (age >= f.age[0]) & (age <= f.age[1])
        keep &= in_range | (~known & f.unknown_age)
    if (f.text or "").strip():
        report = r["report"].astype(str).map(lambda t: f" {normalise(t)} ")
        for spellings in search_groups(f.text):
            found = np.zeros(len(r), dtype=bool)
            for v in spellings:
                found |= report.str.contains(v, regex=False).to_numpy()
            keep &= found
    ids = parse_ids(f.ids)
    if ids:
        keep &= (r["ecg_id"].isin(ids) | r["patient_id"].isin(ids)).to_numpy()
    return np.flatnonzero(keep)


def age_bounds(ds: ECGDataset) -> tuple[int, int]:
    """Whole-year range of the known ages (PTB-XL writes 300 for patients over 89)."""
    age = ds.records["age"].dropna()
    if age.empty:
        return 0, 100
    return int(math.floor(age.min())), int(math.ceil(age.max()))


def record_index(ds: ECGDataset, ecg_id: int | None) -> int | None:
    """Row of ``ecg_id`` in the dataset (None when absent)."""
    if ecg_id is None:
        return None
    hits = np.flatnonzero(ds.records["ecg_id"].to_numpy() == int(ecg_id))
    return int(hits[0]) if len(hits) else None


def record_labels(ds: ECGDataset, i: int) -> list[str]:
    return [n for n, v in zip(ds.label_names, ds.labels[i]) if v]


def record_details(ds: ECGDataset, i: int) -> dict:
    """Metadata of record ``i`` for display."""
    r = ds.records.iloc[i]
    age = r["age"]
    return {
        "ecg_id": int(r["ecg_id"]),
        "patient_id": int(r["patient_id"]) if pd.notna(r["patient_id"]) else None,
        "age": (None if pd.isna(age) else ("≥ 90 (PTB-XL writes 300)" if age >= 300 else int(age))),
        "sex": sex_names(ds.records.iloc[[i]]).iloc[0],
        "strat_fold": int(strat_folds_of(ds.records)[i]),
        "labels": record_labels(ds, i),
        "scp_codes": dict(r["scp_codes"]),
        "report": str(r["report"]),
        "file": str(r["filename"]),
    }


def likelihood_text(value) -> str:
    """'15 %'; PTB-XL's 0 means the likelihood was not given (the statement holds, no figure)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "not given"
    return "0 (not given)" if value == 0 else f"{value:g} %"


def code_rows(scp_codes: dict, statements: pd.DataFrame | None, label_set: str) -> list[dict]:
    """One row per scp code of a record: the code, its likelihood, its meaning (scp_statements.csv's
    description) and kind (diagnostic class / subclass, form, rhythm), and the label it gives in
    ``label_set`` ('' for non-diagnostic codes such as flutter or an axis: they are shown as codes)."""
    rows = []
    for code, value in scp_codes.items():
        known = statements is not None and code in statements.index
        info = {k: v for k, v in statements.loc[code].items() if pd.notna(v)} if known else None
        get = (info or {}).get
        diagnostic = get("diagnostic") == 1
        kinds = [k for k in ("form", "rhythm") if get(k) == 1]
        if diagnostic:
            kind = f"diagnostic ({get('diagnostic_class')} / {get('diagnostic_subclass')})"
        else:
            kind = " and ".join(kinds) or ("not in scp_statements.csv" if info is None else "other")
        label = ""
        if diagnostic:
            label = {"superclass": get("diagnostic_class"), "subclass": get("diagnostic_subclass")}.get(label_set, code)
        rows.append(
            {
                "code": code,
                "likelihood": likelihood_text(value),
                "meaning": str(get("description") or "—"),
                "kind": kind,
                "label": label or "",
            }
        )
    return rows


def label_sources(rows: list[dict]) -> dict[str, list[str]]:
    """Per label of the record, the codes that gave it with their likelihood ('MI' → ['IMI 15 %'])."""
    out: dict[str, list[str]] = {}
    for row in rows:
        if row["label"]:
            out.setdefault(row["label"], []).append(f"{row['code']} {row['likelihood']}")
    return out


def step_within(ids: Sequence[int], current: int | None, step: int) -> int | None:
    """The id ``step`` places from ``current`` in ``ids`` (the filtered list), clamped to its ends;
    the first id when ``current`` is not in it; None for an empty list."""
    if not len(ids):
        return None
    ids = [int(x) for x in ids]
    if current not in ids:
        return ids[0]
    return ids[min(max(ids.index(current) + step, 0), len(ids) - 1)]


def patient_records(ds: ECGDataset, patient_id: int | float, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """All records of one patient (the record table's rows, with the recording date as ``recorded``),
    oldest ecg_id first. ``table``: the
    dataset's :func:`record_table` when the caller has it already (building it takes a pass over
    every record)."""
    rows = np.flatnonzero(ds.records["patient_id"].to_numpy() == float(patient_id))
    out = (record_table(ds) if table is None else table).iloc[rows].copy()
    dates = ds.records["recording_date"].iloc[rows] if "recording_date" in ds.records else None
    recorded = pd.to_datetime(dates, errors="coerce") if dates is not None else pd.Series(pd.NaT, index=out.index)
    out.insert(1, "recorded", [d.strftime("%Y-%m-%d %H:%M") if pd.notna(d) else "—" for d in recorded])
    return out.sort_values("ecg_id")


def patients(ds: ECGDataset) -> list[int]:
    return sorted(int(p) for p in ds.records["patient_id"].dropna().unique())


def record_parts(ds: ECGDataset, plan: str = DEFAULT_PLAN, fold: int = 0) -> np.ndarray:
    """Per record, its part in fold ``fold`` of ``plan``: train, val, test, or '—' (unlabelled)."""
    parts = np.full(len(ds.records), "—", dtype=object)
    f = patient_folds(ds.records, ds.labels.any(axis=1), plan)[fold]
    for name in ("train", "val", "test"):
        parts[getattr(f, name)] = name
    return parts
