"""The structure modality: one vector per material, by one of four methods.

- `random`:  a frozen, seeded, untrained PotNet (what the paper most likely used), its batch
             norms calibrated on the study's structures;
- `trained`: PotNet fitted to the train split's targets (test split never read);
- `chgnet`:  pretrained CHGNet features (Materials Project relaxations; another data source);
- `descriptors`: named symmetry and geometry descriptors (matfuse.descriptors), not 128-d.
"""

import dataclasses
import logging

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch

from matfuse.descriptor_columns import COLUMNS as DESCRIPTOR_COLUMNS
from matfuse.descriptors import DESCRIPTION as DESCRIPTORS_DESCRIPTION
from matfuse.descriptors import DescriptorSettings, descriptor_vectors
from matfuse.potnet.chgnet_features import DESCRIPTION as CHGNET_DESCRIPTION
from matfuse.potnet.chgnet_features import chgnet_embeddings
from matfuse.potnet.graph import GraphSettings, build_graphs
from matfuse.potnet.model import EMBEDDING_DIM, ModelSettings, PotNet, calibrate_norms
from matfuse.potnet.train import TrainingSettings, fit_potnet, out_of_fold_splits

log = logging.getLogger(__name__)

METHODS = ("random", "trained", "chgnet", "descriptors")
EMBEDDING_COLUMNS = [f"emb_{i:03d}" for i in range(EMBEDDING_DIM)]
DESCRIPTIONS = {
    "random": "potnet-random (frozen untrained PotNet, seeded, norms calibrated on the study's structures)",
    "trained": "potnet-trained (PotNet fitted on the train split's targets only; train materials out of fold)",
    "chgnet": CHGNET_DESCRIPTION,
    "descriptors": DESCRIPTORS_DESCRIPTION,
}


def value_columns(method):
    """The value columns of a method's table: 128 `emb_000..` or the named descriptors."""
    return DESCRIPTOR_COLUMNS if method == "descriptors" else EMBEDDING_COLUMNS


@dataclasses.dataclass(frozen=True)
class EmbeddingSettings:
    graph: GraphSettings = GraphSettings()
    model: ModelSettings = ModelSettings()
    training: TrainingSettings = TrainingSettings()
    descriptors: DescriptorSettings = DescriptorSettings()

    @classmethod
    def from_config(cls, section):
        """From config["embeddings"] (keys: graph, model, trained, descriptors; see config/README.md)."""
        graph = GraphSettings(**section.get("graph", {}))
        model = dict(section.get("model", {}))
        for key in ("potential_weights", "potential_range"):
            if key in model:
                model[key] = tuple(model[key])
        return cls(
            graph=graph,
            model=ModelSettings(cutoff=graph.cutoff, **model),
            training=TrainingSettings(**section.get("trained", {})),
            descriptors=DescriptorSettings(**section.get("descriptors", {})),
        )


def potnet_embeddings(
    cifs, method, settings=EmbeddingSettings(), seed=0, split=None, targets=None, threads=1, state_path=None
):
    """The modality table `mat_id, ok, reason, <value_columns(method)>` for the CIF manifest `cifs`.

    `cifs` has `mat_id, ok, reason, cif` (cif: a path). `split` (`mat_id, split`) and `targets`
    (`mat_id` + target columns) are needed by `trained` only, which reads train rows alone.
    `random` calibrates its batch norms on exactly these structures (`calibrate_norms`), so its
    embeddings depend on the study's set of structures. With `state_path`, the model (weights and
    norm statistics) is saved there for `embed_structures`. Materials that fail keep a row with
    ok=False and the reason. The method's description is in `table.attrs["embedding"]` (pandas
    keeps attrs through Parquet)."""
    if method not in METHODS:
        raise ValueError(f"unknown embedding method {method!r}; choose one of {METHODS}")
    if method == "trained" and (split is None or targets is None):
        raise ValueError("embedding method 'trained' needs the split and the targets")
    torch.set_num_threads(threads)
    model = None

    def vectors_of(ids, paths):
        nonlocal model
        if method == "chgnet":
            return chgnet_embeddings(paths)
        if method == "descriptors":
            return descriptor_vectors(paths, settings.descriptors, processes=threads)
        built, graphs = _graphs(paths, settings, threads)
        if method == "trained":
            built_ids = [m for m, (g, _) in zip(ids, built) if g is not None]
            model, vectors = _trained_vectors(dict(zip(built_ids, graphs)), split, targets, settings, seed)
            return _potnet_vectors(built, vectors)
        torch.manual_seed(seed)
        model = PotNet(settings.model)
        calibrate_norms(model, _batches(graphs))
        # each structure on its own, as embed_structures embeds a new one: bit for bit the same
        return _potnet_vectors(built, embed_graphs(model, graphs))

    table = _modality_table(cifs, method, vectors_of)
    if state_path is not None:
        state = {
            "method": method,
            "state_dict": None if model is None else model.state_dict(),
            "columns": value_columns(method),
        }
        torch.save(state, state_path)
    return table


def _trained_vectors(graphs, split, targets, settings, seed):
    """(the model fitted on the whole train split, the embeddings of `graphs` in order): test
    materials by that model, each train material by the model of the folds without it."""
    model = fit_potnet(graphs, split, targets, settings.model, settings.training, seed)
    ids = list(graphs)
    vectors = embed_graphs(model, list(graphs.values()))
    position = {m: i for i, m in enumerate(ids)}
    for fold, (fold_split, held) in enumerate(out_of_fold_splits(split, graphs, settings.training.folds, seed)):
        log.info("out of fold %d: %d train materials embedded by a model fitted without them", fold, len(held))
        fold_model = fit_potnet(graphs, fold_split, targets, settings.model, settings.training, seed + 1 + fold)
        vectors[[position[m] for m in held]] = embed_graphs(fold_model, [graphs[m] for m in held])
    return model, vectors


def embed_structures(cifs, settings, state_path, threads=1):
    """The modality table of the manifest `cifs` from a model saved by `potnet_embeddings`.

    The same weights and norm statistics, so a material of the study gets exactly its row of the
    study's table (for `trained`: a test material; train materials were embedded out of fold),
    and a new one is embedded as if it had been in the study (nothing is refitted or
    recalibrated). `settings` must be the study's: a model section that does not match the
    saved weights is refused by the strict load; the graph section is taken as given.
    Descriptors are computed afresh with `settings.descriptors`; a state whose columns are not
    this version's is refused."""
    state = torch.load(state_path, weights_only=True)
    method = state["method"]
    if method == "descriptors" and state.get("columns") != DESCRIPTOR_COLUMNS:
        raise ValueError(f"{state_path}: descriptors of another matfuse version (other columns); refit the model")
    torch.set_num_threads(threads)

    def vectors_of(ids, paths):
        if method == "chgnet":
            return chgnet_embeddings(paths)
        if method == "descriptors":
            return descriptor_vectors(paths, settings.descriptors, processes=threads)
        model = PotNet(settings.model, n_outputs=_outputs(state["state_dict"]))
        try:
            model.load_state_dict(state["state_dict"])
        except RuntimeError as error:
            raise ValueError(f"{state_path}: the saved PotNet does not match embeddings.model: {error}") from error
        built, graphs = _graphs(paths, settings, threads)
        return _potnet_vectors(built, embed_graphs(model, graphs))

    return _modality_table(cifs, method, vectors_of)


def _outputs(state_dict):
    """Targets of a saved trained model's regression head (0: none, as in `random`)."""
    head = state_dict.get("head.1.weight")
    return 0 if head is None else head.shape[0]


def _modality_table(cifs, method, vectors_of):
    """Rows for every material of `cifs`; `vectors_of(ids, paths)` of the usable ones gives a
    (vector, "") or (None, reason) for each."""
    ids = cifs["mat_id"].astype(str).tolist()
    usable = cifs["ok"].astype(bool).to_numpy()
    reasons = [("" if ok else f"no CIF: {reason}") for ok, reason in zip(usable, cifs["reason"])]
    columns = value_columns(method)
    vectors = np.full((len(ids), len(columns)), np.nan, dtype=np.float32)
    rows = np.flatnonzero(usable)
    paths = cifs["cif"].astype(str).to_numpy()[rows].tolist()
    results = vectors_of([ids[r] for r in rows], paths)
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
            pd.DataFrame(vectors, columns=columns),
        ],
        axis=1,
    )
    table.attrs["embedding"] = DESCRIPTIONS[method]
    return table


def _graphs(paths, settings, threads):
    """(graph_or_reason per path, the PyG Data of those built, in order)."""
    built = build_graphs(paths, settings.graph, processes=threads)
    log.info("graphs: %d of %d built", sum(g is not None for g, _ in built), len(built))
    return built, [g.to_data() for g, _ in built if g is not None]


def _potnet_vectors(built, embedded):
    """(vector, "") or (None, reason) per `built` entry, in order; `embedded`: one row per graph."""
    vectors = iter(embedded)
    return [(next(vectors), "") if g is not None else (None, reason) for g, reason in built]


def _batches(graphs, batch_size=64):
    return [Batch.from_data_list(graphs[i : i + batch_size]) for i in range(0, len(graphs), batch_size)]


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

