"""PotNet (Lin et al., ICML 2023) written from the published method on PyTorch Geometric.

Input block (CGCNN features -> hidden), three interaction layers that each pass a CGCNN-style
gated message along the local edges and along the potential edges (all atom pairs, carrying
the fixed weighted sum of the three lattice sums), batch norm, residual, ReLU; then mean pooling
and a linear layer to the 128-d embedding. A regression head on top is used only for training.

Messages are averaged over an atom's incoming edges, not summed as in CGCNN: potential edges
number n per atom (one per atom of the cell), so a sum grows with n and an untrained network
then encodes mostly cell size. For an untrained network, `calibrate_norms` sets the batch
norms' statistics from the study's own structures instead of leaving them at mean 0, variance 1.
Measured on 1,000 mp_dev crystals (benchmarks/embedding_benchmark.py, ridge probe MAE/MAD, all
but the first with calibrated norms): summed messages, initial norms: Eform 0.81, Gap 0.91
(log(sites) alone: 0.82, 0.85); summed: 0.75, 0.89; mean over potential edges only: 0.68,
0.84; mean over both edge kinds (chosen): 0.59, 0.76.
"""

import dataclasses

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import TransformerConv, global_mean_pool

ATOM_FEATURES = 92
EMBEDDING_DIM = 128


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """PotNet's published hyperparameters (hidden 256, 3 layers, 64 bins, fixed weights)."""

    hidden: int = 256
    layers: int = 3
    rbf_bins: int = 64
    cutoff: float = 4.0  # Å, upper end of the distance expansion (the local-edge cutoff)
    potential_weights: tuple = (-0.801, -0.074, 0.145)  # Coulomb, London, Pauli
    potential_range: tuple = (-1.5, 1.5)  # centres of the potential expansion
    transformer: bool = False  # add a TransformerConv over the potential edges in each layer


class GaussianExpansion(nn.Module):
    """exp(-((x - c_k) / h)^2) on evenly spaced centres c_k, h their spacing."""

    def __init__(self, low, high, bins):
        super().__init__()
        self.register_buffer("centres", torch.linspace(low, high, bins))
        self.spacing = (high - low) / (bins - 1)

    def forward(self, values):
        return torch.exp(-(((values[:, None] - self.centres) / self.spacing) ** 2))


class MultiquadricExpansion(GaussianExpansion):
    """sqrt(1 + ((x - c_k) / h)^2): PotNet's radial basis for the potential values."""

    def forward(self, values):
        return torch.sqrt(1 + ((values[:, None] - self.centres) / self.spacing) ** 2)


class GatedConv(nn.Module):
    """CGCNN message sigmoid(W_g z) * softplus(W_c z), z = [x_i, x_j, e_ij], averaged over each
    atom's incoming edges; the layer applies `norm` to the result (so that `calibrate_norms`
    can see what the norm is given).

    W z is split as W_i x_i + W_j x_j + W_e e_ij: the node terms are computed once per atom and
    gathered, so the per-edge cost is a product with the 64-bin edge expansion, not with 3 x 256
    inputs — PotNet's potential edges number n^2 per structure."""

    def __init__(self, hidden, edge_features):
        super().__init__()
        self.hidden = hidden
        self.nodes = nn.Linear(hidden, 4 * hidden, bias=False)  # [gate, core] for x_i, then x_j
        self.edges = nn.Linear(edge_features, 2 * hidden)  # [gate, core] for e_ij, with the bias
        self.norm = nn.BatchNorm1d(hidden)

    def forward(self, x, edge_index, edge_attr):
        source, target = edge_index
        to_target, to_source = self.nodes(x).split(2 * self.hidden, dim=-1)
        gathered = to_target.index_select(0, target) + to_source.index_select(0, source)
        gate, core = (gathered + self.edges(edge_attr)).chunk(2, dim=-1)
        messages = torch.sigmoid(gate) * F.softplus(core)
        summed = torch.zeros_like(x).index_add_(0, target, messages)
        counts = torch.bincount(target, minlength=len(x)).clamp(min=1)  # an atom may have none
        return summed / counts[:, None].to(summed.dtype)


class InteractionLayer(nn.Module):
    """x <- ReLU(x + local message + potential message [+ transformer message])."""

    def __init__(self, hidden, edge_features, transformer):
        super().__init__()
        self.local = GatedConv(hidden, edge_features)
        self.potential = GatedConv(hidden, edge_features)
        self.transformer = (
            TransformerConv(hidden, hidden, edge_dim=edge_features, root_weight=False)
            if transformer
            else None
        )

    def forward(self, x, local_index, local_attr, pot_index, pot_attr):
        local = self.local(x, local_index, local_attr)
        potential = self.potential(x, pot_index, pot_attr)
        return self.update(x, local, potential, pot_index, pot_attr)

    def update(self, x, local, potential, pot_index, pot_attr):
        """The layer's output from the two convolutions' aggregated (not yet normed) messages."""
        update = self.local.norm(local) + self.potential.norm(potential)
        if self.transformer is not None:
            update = update + self.transformer(x, pot_index, pot_attr)
        return F.relu(x + update)


class PotNet(nn.Module):
    """`embed` gives the 128-d structure embedding; `forward` adds the regression head."""

    def __init__(self, settings, n_outputs=0):
        super().__init__()
        hidden = settings.hidden
        self.atom_embedding = nn.Linear(ATOM_FEATURES, hidden)
        self.distance_expansion = GaussianExpansion(0.0, settings.cutoff, settings.rbf_bins)
        self.register_buffer(
            "potential_weights", torch.tensor(settings.potential_weights, dtype=torch.float32)
        )
        self.potential_expansion = MultiquadricExpansion(*settings.potential_range, settings.rbf_bins)
        self.layers = nn.ModuleList(
            InteractionLayer(hidden, settings.rbf_bins, settings.transformer)
            for _ in range(settings.layers)
        )
        self.to_embedding = nn.Linear(hidden, EMBEDDING_DIM)
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(EMBEDDING_DIM, n_outputs)) if n_outputs else None

    def edges(self, batch):
        """(local_index, local_attr, pot_index, pot_attr): what every interaction layer reads."""
        local_attr = self.distance_expansion(batch.edge_distance)
        pot_attr = self.potential_expansion(batch.pot_value @ self.potential_weights)
        return batch.edge_index, local_attr, batch.pot_index, pot_attr

    def embed(self, batch):
        x = self.atom_embedding(batch.x)
        edges = self.edges(batch)
        for layer in self.layers:
            x = layer(x, *edges)
        return self.readout(x, batch)

    def readout(self, x, batch):
        """The structure embeddings of a batch from its atoms' final features."""
        return self.to_embedding(global_mean_pool(x, batch.batch))

    def forward(self, batch):
        return self.head(self.embed(batch))


@torch.no_grad()
def calibrate_norms(model, batches):
    """Set every batch norm's statistics to the mean and variance of its input over all atoms of
    `batches`, layer by layer with the earlier layers already calibrated (in eval mode).

    So an untrained network standardises its own features on the study's structures, instead of
    passing them through at the initial mean 0 / variance 1. They are the whole set's statistics
    (in float64), not an average of per-batch ones as a train-mode pass with momentum=None gives,
    so they do not depend on how the structures are batched; nothing here is random."""
    model.eval()
    if not batches:  # no structure could become a graph: nothing to calibrate on
        return
    states = [model.atom_embedding(batch.x) for batch in batches]
    for layer in model.layers:
        local, potential = [], []
        for x, batch in zip(states, batches):
            local_index, local_attr, pot_index, pot_attr = model.edges(batch)
            local.append(layer.local(x, local_index, local_attr))
            potential.append(layer.potential(x, pot_index, pot_attr))
        _set_statistics(layer.local.norm, torch.cat(local))
        _set_statistics(layer.potential.norm, torch.cat(potential))
        states = [
            layer.update(x, l, p, *model.edges(batch)[2:])
            for x, l, p, batch in zip(states, local, potential, batches)
        ]


def _set_statistics(norm, values):
    """running_mean/var of `norm` := the population mean and variance of `values` (rows)."""
    values = values.numpy().astype(np.float64)
    mean = values.mean(axis=0)
    norm.running_mean.copy_(torch.from_numpy(mean))
    norm.running_var.copy_(torch.from_numpy(((values - mean) ** 2).mean(axis=0)))
