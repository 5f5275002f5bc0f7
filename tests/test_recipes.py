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
