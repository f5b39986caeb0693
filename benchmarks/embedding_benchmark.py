"""What each structure embedding carries, on a seeded sample of the mp_dev development set.

Per embedding method, prints: the effective rank of the standardised embedding matrix (exp of
the entropy of its normalised singular values; 128 at most), |Spearman| with log(number of
sites) of its first principal component and of its raw row norm (an embedding that mostly
encodes cell size scores near 1), and a ridge probe's 5-fold cross-validated MAE/MAD for Eform
and Gap on the train split (85/15, matfuse's own seeded split). A `size only` row is the same
probe on log(number of sites) alone, and `mean` is MAE/MAD 1. `descriptors` gets a second row
without its scale group (volume, density, Å distances): the columns a Vol/atom model sees.

    PYTHONPATH=src python benchmarks/embedding_benchmark.py [--table PATH] [--n 1000] [--seed 42]
        [--methods random chgnet descriptors] [--label after]

It calls only `matfuse.potnet.potnet_embeddings(cifs, method, settings, seed=...)`, so it runs
unchanged against an older checkout (`PYTHONPATH=OLD/src`) for a before/after comparison.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matfuse.potnet import EmbeddingSettings, potnet_embeddings
from matfuse.sources.table import read_table
from matfuse.split import make_split

TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mp_dev" / "mp_dev_8000.csv.gz"
TARGETS = {"Eform": "formation_energy_per_atom", "Gap": "band_gap"}
TEST_FRACTION = 0.15  # config.yaml's split.test_fraction
ALPHAS = np.logspace(-3, 4, 15)


def standardised(matrix):
    """Columns to zero mean and unit variance; constant columns become 0."""
    std = matrix.std(axis=0)
    return (matrix - matrix.mean(axis=0)) / np.where(std > 0, std, 1.0)


def effective_rank(matrix):
    """Roy & Vetterli's effective rank: exp(entropy of the singular values normalised to sum 1)."""
    singular = np.linalg.svd(standardised(matrix), compute_uv=False)
    p = singular[singular > 0] / singular.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def first_component(matrix):
    """Scores on the first principal component of the standardised matrix."""
    u, s, _ = np.linalg.svd(standardised(matrix), full_matrices=False)
    return u[:, 0] * s[0]


def probe(features, y, seed):
    """Out-of-fold MAE / MAD of a standardise + ridge (alpha by leave-one-out) pipeline."""
    known = np.isfinite(y)
    features, y = features[known], y[known]
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS))
    folds = KFold(5, shuffle=True, random_state=seed)
    predicted = cross_val_predict(model, features, y, cv=folds)
    return np.abs(predicted - y).mean() / np.abs(y - y.mean()).mean()


def sample(path, n, seed, directory):
    """A seeded `n` rows of the table, each CIF written to `directory`: (manifest, table)."""
    table = read_table(path, "id").sample(n=n, random_state=seed).sort_values("id")
    table = table.reset_index(drop=True)
    paths = []
    for mat_id, cif in zip(table["id"], table["cif"]):
        paths.append(directory / f"{mat_id}.cif")
        paths[-1].write_text(cif)
    manifest = pd.DataFrame({"mat_id": table["id"], "ok": True, "reason": "", "cif": list(map(str, paths))})
    return manifest, table


def row(label, features, log_sites, train, table, seed, seconds=None):
    values = {"method": label, "embedded": len(features)}
    if features.shape[1] > 1:
        values["eff_rank"] = effective_rank(features)
        values["|rho| PC1"] = abs(spearmanr(first_component(features), log_sites)[0])
        values["|rho| norm"] = abs(spearmanr(np.linalg.norm(features, axis=1), log_sites)[0])
        values["median norm"] = np.median(np.linalg.norm(features, axis=1))
    for name, column in TARGETS.items():
        values[f"{name} MAE/MAD"] = probe(features[train], table[column].to_numpy(float)[train], seed)
    values["seconds"] = seconds
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=TABLE, help="a table-source file (id, nsites, cif, targets)")
    parser.add_argument("--n", type=int, default=1000, help="materials sampled (seeded)")
    parser.add_argument("--seed", type=int, default=42, help="sample, split, folds and PotNet seed")
    parser.add_argument("--methods", nargs="+", default=["random"], help="embedding methods (random, trained, chgnet, descriptors)")
    parser.add_argument("--label", default="", help="appended to each method's name in the table")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        manifest, table = sample(args.table, args.n, args.seed, Path(directory))
        split = make_split(table["id"], TEST_FRACTION, args.seed)
        is_train = split.set_index("mat_id").loc[table["id"], "split"].to_numpy() == "train"
        rows = []
        for method in args.methods:
            torch.manual_seed(args.seed)
            start = time.perf_counter()
            embedded = potnet_embeddings(manifest, method, EmbeddingSettings(), seed=args.seed, threads=args.threads)
            seconds = time.perf_counter() - start
            ok = embedded["ok"].to_numpy()
            columns = [c for c in embedded.columns if c.startswith("emb_")]
            variants = {method: columns}
            if method == "descriptors":  # imported here: an older checkout has no descriptors
                from matfuse.descriptor_columns import SCALE

                variants["descriptors, scale-free"] = [c for c in columns if c.removeprefix("emb_") not in SCALE]
            log_sites = np.log(table["nsites"].to_numpy(float)[ok])
            for name, kept in variants.items():
                features = embedded.loc[ok, kept].to_numpy(float)
                label = f"{name} {args.label}".strip()
                rows.append(row(label, features, log_sites, is_train[ok], table[ok], args.seed, seconds))
        log_sites = np.log(table["nsites"].to_numpy(float))
        rows.append(row("size only: log(sites)", log_sites[:, None], log_sites, is_train, table, args.seed))
    print(
        f"{args.table.name}: {len(table)} materials (seed {args.seed}), {is_train.sum()} in the train split; "
        f"sites per cell: median {table['nsites'].median():.0f}, max {table['nsites'].max()}"
    )
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
