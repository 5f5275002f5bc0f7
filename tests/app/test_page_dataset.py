"""The Dataset page (AppTest): the drawn record always belongs to the filtered list, previous/next and
the ecg_id −/+ step within it, filters and the selection survive a visit to another page, each scp
code shows its likelihood and meaning, and the report search finds German and English wording alike."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgcore.app import records


def _page(app):
    app.switch_page("app_pages/dataset.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _drawn(at) -> int:
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
    title = next(t for t in titles if "ecg_id " in t)
    return int(title.split("ecg_id ")[1].split(" ")[0])


def _table(at):
    return next(d.value for d in at.dataframe if "report" in d.value.columns and "language" in d.value.columns)


def _ids_with(demo_ds, label: str) -> list[int]:
    rows = np.flatnonzero(demo_ds.labels[:, demo_ds.label_names.index(label)])
    return [int(x) for x in demo_ds.records["ecg_id"].to_numpy()[rows]]


def test_a_filter_that_excludes_the_drawn_record_redraws_one_it_keeps(app, demo_ds):
    at = _page(app)
    hyp = _ids_with(demo_ds, "HYP")
    other = next(int(e) for e in demo_ds.records["ecg_id"] if int(e) not in hyp)
    at.number_input(key="ds_ecg_id").set_value(other).run()
    assert _drawn(at) == other
    keys_before = {d.proto.id for d in at.dataframe}
    at.multiselect(key="ds_labels").set_value(["HYP"]).run()
    assert not at.exception
    assert _drawn(at) == hyp[0] and at.number_input(key="ds_ecg_id").value == hyp[0]
    assert set(_table(at)["ecg_id"]) == set(hyp)
    assert keys_before != {d.proto.id for d in at.dataframe}  # a new table: no stale tick
    assert at.query_params["ecg_id"] in ([str(hyp[0])], str(hyp[0]))


def test_previous_next_and_the_id_steppers_move_within_the_filter(app, demo_ds):
    at = _page(app)
    hyp = _ids_with(demo_ds, "HYP")
    at.multiselect(key="ds_labels").set_value(["HYP"]).run()
    assert at.button(key="ds_prev").disabled
    at.button(key="ds_next").click().run()
    assert _drawn(at) == hyp[1]
    at.number_input(key="ds_ecg_id").increment().run()  # the + of the box: the next match, not id + 1
    assert _drawn(at) == hyp[2] and at.number_input(key="ds_ecg_id").value == hyp[2]
    at.number_input(key="ds_ecg_id").decrement().run()
    assert _drawn(at) == hyp[1]
    assert any(f"record 2 of {len(hyp)}" in c.value for c in at.caption)


def test_an_id_outside_the_filter_clears_the_filter_to_show_it(app, demo_ds):
    at = _page(app)
    hyp = _ids_with(demo_ds, "HYP")
    at.multiselect(key="ds_labels").set_value(["HYP"]).run()
    other = next(int(e) for e in demo_ds.records["ecg_id"] if int(e) not in hyp and abs(int(e) - hyp[0]) > 1)
    at.number_input(key="ds_ecg_id").set_value(other).run()
    assert _drawn(at) == other and at.multiselect(key="ds_labels").value == []
    assert any("Filters cleared" in i.value for i in at.info)


def test_filters_and_the_selection_survive_another_page(app, demo_ds):
    at = _page(app)
    hyp = _ids_with(demo_ds, "HYP")
    at.multiselect(key="ds_labels").set_value(["HYP"]).run()
    at.button(key="ds_next").click().run()
    at.switch_page("app_pages/home.py").run()
    at.query_params.clear()
    at = _page(at)
    assert at.multiselect(key="ds_labels").value == ["HYP"]
    assert _drawn(at) == hyp[1]


def test_codes_show_their_likelihood_and_meaning(app, demo_ds):
    at = _page(app)
    codes = demo_ds.records["scp_codes"]
    i = next(i for i, c in enumerate(codes) if any(v == 0 for v in c.values()))
    at.number_input(key="ds_ecg_id").set_value(int(demo_ds.records["ecg_id"].iloc[i])).run()
    table = next(d.value for d in at.dataframe if "likelihood" in d.value.columns)
    assert set(table["code"]) == set(codes.iloc[i])
    assert "0 (not given)" in set(table["likelihood"])
    assert all(m for m in table["meaning"])
    assert any("not given" in c.value for c in at.caption)
    labels = records.record_labels(demo_ds, i)
    badge_line = next(m.value for m in at.markdown if m.value.startswith(f"**Labels ({demo_ds.label_set})**"))
    for label in labels:
        assert f"{label} ←" in badge_line and "%" in badge_line or "not given" in badge_line


@pytest.mark.parametrize("query", ["infarct", "infarkt", "INFARKT"])
def test_report_search_finds_german_and_english_alike(app, demo_ds, query):
    at = _page(app)
    at.text_input(key="ds_text").set_value(query).run()
    reports = demo_ds.records["report"].astype(str).str.lower()
    expected = int((reports.str.contains("infarkt") | reports.str.contains("infarct")).sum())
    found = _table(at)
    assert len(found) == expected and expected > 0
    langs = set(found["language"])
    assert "de" in langs  # the demo writes 75 % of its reports in German
    assert found["report"].str.lower().str.contains("infarkt|infarct").all()  # the original text is kept
