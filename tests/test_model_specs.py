"""ecgcore.model_specs: every registered model has a spec, its reference figure is read from the bench
results file of its default recipe (so a default that changes without a new measurement fails here),
and what a model can't take is refused before any work."""

import pytest

from ecgcore.errors import ModelError, RunError
from ecgcore.model_specs import SPECS, model_spec
from ecgcore.recipes import check_config, default_config


def test_specs_and_registry_name_the_same_models():
    from ecgcore.models import list_models

    assert list(SPECS) == list(list_models())


@pytest.mark.parametrize("name", list(SPECS))
def test_the_reference_is_the_measured_default_recipe(name):
    spec = model_spec(name)
    ref = spec.reference()
    assert ref is not None and ref["n_folds"] == 5 and 0 < ref["macro_pr_auc"] < 1
    measured = {k: v for k, v in ref["recipe"].items() if k not in ("model", "plan")}
    assert measured == spec.default_recipe, f"{name}: the default recipe is not the one measured in {ref['file']}"


def test_the_default_recipes_pass_their_own_checks_and_unknown_models_are_refused():
    for name in SPECS:
        check_config(default_config(name))
    with pytest.raises(ModelError, match="unknown model 'cnn3d'"):
        model_spec("cnn3d")


def test_a_fixed_length_model_refuses_crops_and_windows_but_0_is_off():
    assert model_spec("cnn2d").fixed_length and not model_spec("cnn1d").fixed_length
    for option in ({"crop_s": 2.5}, {"window_s": 2.5}):
        with pytest.raises(RunError, match="cnn2d reads whole 10 s records only"):
            check_config(default_config("cnn2d", **option))
    check_config(default_config("cnn2d", crop_s=0, window_s=0))
    check_config(default_config("cnn1d", window_s=2.5))


def test_the_image_model_is_given_the_real_sampling_rate():
    """cnn2d's spectrogram window and rows depend on the rate: the model is built for the data's rate
    (training) or the checkpoint's (loading), never guessed from the record's length."""
    import torch

    from ecgcore.checkpoints import build_model
    from ecgcore.models import create_model, n_parameters

    fast = create_model("cnn2d", 5, 500, image="spectrogram")
    assert fast.sampling_rate == 500 and n_parameters(fast) == 6613
    assert create_model("cnn1d", 5, 500) is not None  # a model without a rate parameter is not given one
    meta = {
        "model": "cnn2d",
        "label_names": list("ABCDE"),
        "sampling_rate": 500,
        "model_config": {"image": "spectrogram"},
    }
    assert build_model(meta).net.sampling_rate == 500  # loading: the checkpoint's rate
    x = torch.randn(1, 12, 5000)
    a = create_model("cnn2d", 5, 500, image="spectrogram")
    b = create_model("cnn2d", 5, 100, image="spectrogram")
    b.load_state_dict(a.state_dict())
    assert not torch.allclose(a.eval()(x), b.eval()(x))  # the rate changes the image, so it must be the real one
