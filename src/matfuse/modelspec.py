"""What a fitted model's features were built with, written beside it (`matfuse_model.json`).

A model directory is self-describing: `matfuse predict` rebuilds exactly the study's features
for new structures from this file alone (and, for the structure embedding, the PotNet that
made it, copied beside it), without the study's config. Fields:

  matfuse_version  the package version that fitted it
  combo            the modality combination, e.g. `image+text` or `tabular-chgnet+text`;
                   modalities: its parts
  target           {name, field, label, unit, per}: the target as config defined it
  repeat           the evaluation repeat (split) it was fitted on
  columns          [[column, AutoMM type], ...]: the feature columns, in the order fitted on
  seed             config `seed` (the embedding's random init, the fit's)
  fit_threads      torch threads of the fit (CPU sums follow them; predict uses the same)
  images           {size, camera, min_foreground, look} of the renders, or null without
                   `image`; look: everything that shaped them (matfuse.render.look), which
                   `matfuse predict` checks against the look it draws
  embeddings       {method, the settings its method reads (graph, model, trained or
                   descriptors), weights} of the structure embedding, or null without
                   a structure view (`tabular`, `tabular-<method>`); weights: the
                   embedding model's file beside the model
  backbones        each modality's matfuse_backbone.json
"""

import json
from pathlib import Path

from matfuse import __version__
from matfuse.dataset import is_structure
from matfuse.render.look import look

MODEL_SPEC = "matfuse_model.json"
# the embedding model (`potnet_embeddings`' state: method, weights, norm statistics), copied into
# the model directory so that it travels with the model
EMBEDDING_WEIGHTS = "potnet.pt"


def model_spec(combo, target, repeat, column_types, featurisation, seed, threads, backbones):
    """The file's content; `featurisation` holds the config the rule passed as params."""
    modalities = combo.split("+")
    embeddings = featurisation.get("embeddings") if any(map(is_structure, modalities)) else None
    if embeddings is not None:
        embeddings = {**embeddings, "weights": EMBEDDING_WEIGHTS}
    images = featurisation.get("images") if "image" in modalities else None
    if images is not None:
        images = {**images, "look": look(images["size"], images["camera"])}
    return {
        "matfuse_version": __version__,
        "combo": combo,
        "modalities": modalities,
        "target": {"name": target, **featurisation.get("target", {})},
        "repeat": int(repeat),
        "columns": [[column, kind] for column, kind in column_types.items()],
        "seed": seed,
        "fit_threads": threads,
        "images": images,
        "embeddings": embeddings,
        "backbones": backbones,
    }


def write_model_spec(model_dir, spec):
    Path(model_dir, MODEL_SPEC).write_text(json.dumps(spec, indent=2) + "\n")


def read_model_spec(model_dir):
    """The spec of a model directory; a clear error when it is not a usable model."""
    model_dir = Path(model_dir)
    failed = model_dir / "FAILED.txt"
    if failed.is_file():
        raise ValueError(f"{model_dir}: the fit failed, there is no model ({failed.read_text().strip()})")
    path = model_dir / MODEL_SPEC
    if not path.is_file():
        raise ValueError(
            f"{model_dir}: no {MODEL_SPEC}; it is not a matfuse model directory "
            "(results/models/<combo>/<target>/repeat_<r>), or was fitted before models described "
            "themselves: refit it"
        )
    spec = json.loads(path.read_text())
    embeddings = spec.get("embeddings") or {}
    if embeddings.get("weights") and not (model_dir / embeddings["weights"]).is_file():
        raise ValueError(f"{model_dir}: the embedding weights {embeddings['weights']} are missing")
    return spec
