"""ecgcore.recipes: what --resume would silently ignore."""

from ecgcore.recipes import check_config, default_config, resume_conflicts

RECORDED = {"model": "cnn2d", "lr": 0.003, "batch_size": 64, "crop_s": None, "model_config": {"image": "stacked"}}


def test_nothing_given_or_the_same_is_no_conflict():
    assert resume_conflicts(RECORDED, {"lr": None, "batch_size": None, "crop_s": None}) is None
    assert resume_conflicts(RECORDED, {"lr": 0.003, "batch_size": 64, "model_config": {"image": "stacked"}}) is None


def test_every_differing_option_is_named_with_the_recorded_value():
    given = {"lr": 0.01, "batch_size": 64, "crop_s": 2.5, "model_config": {"image": "spectrogram"}}
    assert resume_conflicts(RECORDED, given) == (
        "--lr 0.01 (the run has 0.003), --crop_s 2.5 (the run has off), --image spectrogram (the run has stacked)"
    )


def test_a_run_without_a_recorded_recipe_is_compared_with_the_defaults():
    assert resume_conflicts({}, {"lr": 0.01}) == "--lr 0.01 (the run has 0.001)"


def test_what_an_older_run_did_not_record_counts_as_the_default():
    """Fields an older run lacks are TrainConfig's defaults (the resume fills them in the same way),
    and a cnn2d run recorded with no model_config is the stacked image."""
    old_run = {"model": "cnn2d", "lr": 0.01, "model_config": {}}
    assert resume_conflicts(old_run, {"window_agg": "max", "aug_lead_dropout": 0.0, "seed": 0}) is None
    assert resume_conflicts(old_run, {"model_config": {"image": "stacked"}}) is None
    assert resume_conflicts(old_run, {"lr": 1e-2}) is None  # 1e-2 == 0.01
    assert resume_conflicts(old_run, {"seed": 1}) == "--seed 1 (the run has 0)"


def test_0_turns_a_technique_of_the_default_recipe_off():
    cfg = check_config(default_config("cnn1d", crop_s=0, ema_decay=0.0))
    assert cfg.crop_s is None and cfg.ema_decay is None and cfg.epochs == 40  # the rest stays the default
    assert default_config("cnn1d").crop_s == 2.5 and default_config("cnn1d", crop_s=None).crop_s == 2.5
    assert default_config("resnet1d_wang", window_s=0).window_s is None


def test_0_on_resume_matches_a_run_trained_with_the_technique_off():
    """The app sends --crop_s 0 for "off"; the run records crop_s None: no conflict on resume."""
    assert resume_conflicts({"model": "cnn1d", "crop_s": None, "ema_decay": 0.999}, {"crop_s": 0.0}) is None
    assert resume_conflicts({"model": "cnn1d", "crop_s": 2.5}, {"crop_s": 0.0}) == "--crop_s off (the run has 2.5)"


def test_label_smoothing_is_one_field_of_the_schema_everywhere():
    """--label_smoothing: declared once (recipes.FIELDS), it is a CLI flag, an Advanced input of the Train
    page, a row of the recipe comparison, checked before any work, and recorded with the recipe."""
    import pytest

    from ecgcore.cli_args import build_parser
    from ecgcore.errors import RunError
    from ecgcore.recipes import fields_in, overrides_from, recipe_differences

    args = build_parser().parse_args(["train", "--label_smoothing", "0.1"])
    cfg = check_config(default_config("cnn1d", **overrides_from(args)))
    assert cfg.label_smoothing == 0.1 and cfg.to_dict()["label_smoothing"] == 0.1
    assert "label_smoothing" in {f.name for f in fields_in("advanced")}
    assert ("Label smoothing", "0", "0.1") in recipe_differences({}, {"label_smoothing": 0.1})
    with pytest.raises(RunError, match="--label_smoothing 0.6"):
        check_config(default_config("cnn1d", label_smoothing=0.6))


def test_label_smoothing_changes_the_training_loss(demo_ds, tmp_path):
    """The same recipe and seed with and without smoothing: the first epoch's training loss differs (the
    targets are pulled towards 0.5), and the run records the value it trained with."""
    from ecgcore.recipes import TrainConfig
    from ecgcore.train import train_fold

    losses = {}
    for ls in (0.0, 0.2):
        events: list[dict] = []
        cfg = TrainConfig(model="cnn1d", epochs=1, batch_size=64, label_smoothing=ls)
        train_fold(demo_ds, cfg, tmp_path / f"ls{ls}", [events.append])
        (start,) = [e for e in events if e["event"] == "start"]
        assert start["config"]["label_smoothing"] == ls
        losses[ls] = next(e["train_loss"] for e in events if e["event"] == "epoch_end")
    assert losses[0.0] != losses[0.2]
