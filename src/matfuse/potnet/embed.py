"""The structure modality: one 128-d embedding per material, by one of three methods.

- `random`:  a frozen, seeded, untrained PotNet (what the paper most likely used);
- `trained`: PotNet fitted to the train split's targets (test split never read);
- `chgnet`:  pretrained CHGNet features (Materials Project relaxations; another data source).
"""

import dataclasses
import logging

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch

from matfuse.potnet.chgnet_features import DESCRIPTION as CHGNET_DESCRIPTION
from matfuse.potnet.chgnet_features import chgnet_embeddings
from matfuse.potnet.graph import GraphSettings, build_graphs
from matfuse.potnet.model import EMBEDDING_DIM, ModelSettings, PotNet
from matfuse.potnet.train import TrainingSettings, fit_potnet

log = logging.getLogger(__name__)

METHODS = ("random", "trained", "chgnet")
EMBEDDING_COLUMNS = [f"emb_{i:03d}" for i in range(EMBEDDING_DIM)]
DESCRIPTIONS = {
    "random": "potnet-random (frozen untrained PotNet, seeded; as in the paper)",
    "trained": "potnet-trained (PotNet fitted on the train split's targets only)",
    "chgnet": CHGNET_DESCRIPTION,
}


@dataclasses.dataclass(frozen=True)
class EmbeddingSettings:
    graph: GraphSettings = GraphSettings()
    model: ModelSettings = ModelSettings()
    training: TrainingSettings = TrainingSettings()

    @classmethod
    def from_config(cls, section):
        """From config["embeddings"] (keys: graph, model, trained; see config/README.md)."""
        graph = GraphSettings(**section.get("graph", {}))
        model = dict(section.get("model", {}))
        for key in ("potential_weights", "potential_range"):
            if key in model:
                model[key] = tuple(model[key])
        return cls(
            graph=graph,
            model=ModelSettings(cutoff=graph.cutoff, **model),
            training=TrainingSettings(**section.get("trained", {})),
        )


def potnet_embeddings(
    cifs, method, settings=EmbeddingSettings(), seed=0, split=None, targets=None, threads=1,
    weights=None, save_weights=None,
):
    """The modality table `mat_id, ok, reason, emb_000..emb_127` for the CIF manifest `cifs`.

    `cifs` has `mat_id, ok, reason, cif` (cif: a path). `split` (`mat_id, split`) and `targets`
    (`mat_id` + target columns) are needed by `trained` only, which reads train rows alone;
    given the `weights` a `trained` fit saved (`save_weights`), it embeds with those instead, as
    `matfuse predict` does for new structures. Materials that fail keep a row with ok=False and
    the reason. The method's description is in `table.attrs["embedding"]` (pandas keeps attrs
    through Parquet)."""
    if method not in METHODS:
        raise ValueError(f"unknown embedding method {method!r}; choose one of {METHODS}")
    if method == "trained" and weights is None and (split is None or targets is None):
        raise ValueError("embedding method 'trained' needs the split and the targets, or saved weights")
    torch.set_num_threads(threads)
    ids = cifs["mat_id"].astype(str).tolist()
    usable = cifs["ok"].astype(bool).to_numpy()
    reasons = [("" if ok else f"no CIF: {reason}") for ok, reason in zip(usable, cifs["reason"])]
    vectors = np.full((len(ids), EMBEDDING_DIM), np.nan, dtype=np.float32)
    rows = np.flatnonzero(usable)
    paths = cifs["cif"].astype(str).to_numpy()[rows].tolist()
    if method == "chgnet":
        results = chgnet_embeddings(paths)
    else:
        results = _potnet_vectors(
            [ids[r] for r in rows], paths, method, settings, seed, split, targets, threads, weights, save_weights
        )
    for row, (vector, reason) in zip(rows, results):
        if vector is None:
            reasons[row] = reason
        else:
            vectors[row] = vector
    ok = np.array([not r for r in reasons])
    for mat_id, reason in zip(ids, reasons):
        if reason:
            log.warning("%s: no embedding: %s", mat_id, reason)
    log.info("%s: %d of %d materials embedded", method, ok.sum(), len(ids))
    table = pd.concat(
        [
            pd.DataFrame({"mat_id": ids, "ok": ok, "reason": reasons}),
            pd.DataFrame(vectors, columns=EMBEDDING_COLUMNS),
        ],
        axis=1,
    )
    table.attrs["embedding"] = DESCRIPTIONS[method]
    return table


def _potnet_vectors(ids, paths, method, settings, seed, split, targets, threads, weights, save_weights):
    """(vector, "") or (None, reason) per path, from a seeded random or a trained PotNet."""
    built = build_graphs(paths, settings.graph, processes=threads)
    log.info("graphs: %d of %d built", sum(g is not None for g, _ in built), len(built))
    graphs = {m: g.to_data() for m, (g, _) in zip(ids, built) if g is not None}
    if method == "trained" and weights is not None:
        model = load_potnet(weights, settings.model)
    elif method == "trained":
        model = fit_potnet(graphs, split, targets, settings.model, settings.training, seed)
    else:
        torch.manual_seed(seed)
        model = PotNet(settings.model).eval()
    if save_weights is not None:
        save_potnet(model, save_weights)
    embedded = embed_graphs(model, [graphs[m] for m in ids if m in graphs])
    vectors = iter(embedded)
    return [(next(vectors), "") if g is not None else (None, reason) for g, reason in built]


@torch.no_grad()
def embed_graphs(model, graphs):
    """(len(graphs), 128) embeddings in eval mode, one graph at a time.

    One at a time on one thread, so that a structure's vector is the same bits whatever else is
    embedded with it and however many cores the job has: the matrix products' rounding varied
    with the batch-mates and with the thread count (by ~1e-4), and `matfuse predict` could not
    reproduce a study's embedding of a structure it embeds alone."""
    model.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = [model.embed(Batch.from_data_list([graph])).numpy() for graph in graphs]
    finally:
        torch.set_num_threads(threads)
    return np.concatenate(out) if out else np.empty((0, EMBEDDING_DIM), dtype=np.float32)


def save_potnet(model, path):
    """The embedding model's weights (and head size), for embedding new structures later."""
    n_outputs = model.head[-1].out_features if model.head is not None else 0
    torch.save({"n_outputs": n_outputs, "state_dict": model.state_dict()}, path)


def load_potnet(path, model_settings):
    """The PotNet `save_potnet` wrote, in eval mode; `model_settings` must be the ones it had."""
    saved = torch.load(path, weights_only=True)
    model = PotNet(model_settings, n_outputs=saved["n_outputs"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()
