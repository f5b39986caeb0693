"""PotNet (Lin et al., ICML 2023) written from the published method on PyTorch Geometric.

Input block (CGCNN features -> hidden), three interaction layers that each pass a CGCNN-style
gated message along the local edges and along the potential edges (all atom pairs, carrying
the fixed weighted sum of the three lattice sums), batch norm, residual, ReLU; then mean pooling
and a linear layer to the 128-d embedding. A regression head on top is used only for training.
"""

import dataclasses

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
    """CGCNN message sigmoid(W_g z) * softplus(W_c z), z = [x_i, x_j, e_ij], summed, batch-normed.

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
        return self.norm(summed)


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
        update = self.local(x, local_index, local_attr) + self.potential(x, pot_index, pot_attr)
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

    def embed(self, batch):
        x = self.atom_embedding(batch.x)
        local_attr = self.distance_expansion(batch.edge_distance)
        pot_attr = self.potential_expansion(batch.pot_value @ self.potential_weights)
        for layer in self.layers:
            x = layer(x, batch.edge_index, local_attr, batch.pot_index, pot_attr)
        return self.to_embedding(global_mean_pool(x, batch.batch))

    def forward(self, batch):
        return self.head(self.embed(batch))
