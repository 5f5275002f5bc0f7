"""ecgcore.models: the registry, exact parameter counts of the reference models, output shapes, and
the standardising wrapper."""

from __future__ import annotations

import pytest
import torch

from ecgcore.errors import ModelError
from ecgcore.models import ECGClassifier, create_model, list_models, n_parameters


def test_registry_lists_models():
    models = list_models()
    assert {"cnn1d", "cnn2d", "resnet1d_wang"} <= set(models)
    assert all(isinstance(d, str) and d for d in models.values())


def test_exact_parameter_counts():
    assert n_parameters(create_model("cnn1d", n_classes=5)) == 46_757
    assert n_parameters(create_model("cnn2d", n_classes=5)) == 6_613
    # the count follows the number of classes (last layer only)
    assert n_parameters(create_model("cnn1d", n_classes=23)) == 46_757 + 18 * 65
    assert n_parameters(create_model("cnn2d", n_classes=23)) == 6_613 + 18 * 17
    assert 400_000 < n_parameters(create_model("resnet1d_wang", n_classes=5)) < 700_000


@pytest.mark.parametrize("name", sorted(list_models()))
@pytest.mark.parametrize("T", [1000, 5000])
def test_output_shapes(name, T):
    torch.manual_seed(0)
    model = create_model(name, n_classes=7).eval()
    x = torch.randn(3, 12, T)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (3, 7)
    assert torch.isfinite(out).all()
    # per-record independence in eval mode: a record's logits do not depend on its batch
    with torch.no_grad():
        np_one = model(x[1:2])
    torch.testing.assert_close(np_one, out[1:2], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(list_models()))
def test_training_mode_backward(name):
    model = create_model(name, n_classes=5).train()
    out = model(torch.randn(4, 12, 1000))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", sorted(list_models()))
def test_cam_layer_and_lead_axis(name):
    model = create_model(name)
    assert isinstance(model.cam_layer, torch.nn.Module)
    assert any(model.cam_layer is m for m in model.modules())
    assert model.cam_has_leads == (name == "cnn2d")


def test_cnn2d_image_option():
    model = create_model("cnn2d", image="spectrogram").eval()
    assert model.image == "spectrogram"
    with torch.no_grad():
        assert model(torch.randn(2, 12, 1000)).shape == (2, 5)


def test_unknown_model_and_bad_options():
    with pytest.raises(ModelError, match="cnn3d"):
        create_model("cnn3d")
    with pytest.raises(ModelError, match="cnn1d"):  # lists the known ones
        create_model("nope")
    with pytest.raises(ModelError, match="bad options"):
        create_model("cnn1d", kernel=9)


def test_classifier_standardises_per_lead():
    net = create_model("cnn1d").eval()
    mean = torch.arange(12, dtype=torch.float32)
    std = torch.linspace(0.5, 2.0, 12)
    model = ECGClassifier(net, mean, std).eval()
    x = torch.randn(2, 12, 1000)
    with torch.no_grad():
        expected = net((x - mean.view(1, 12, 1)) / std.view(1, 12, 1))
        torch.testing.assert_close(model(x), expected)
    assert {"mean", "std"} <= set(model.state_dict())  # they travel in the checkpoint
