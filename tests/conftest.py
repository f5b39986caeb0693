"""Shared test fixtures: the repository, and the real Alexandria data it ships in data/."""

import bz2
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ALEXANDRIA = REPO / "data" / "alexandria"
# The structures-only CIFs shipped in data/alexandria (a subset of the 2,475; see SOURCES.md).
N_CIFS = 44


@pytest.fixture(scope="session")
def alexandria_sample():
    """The 117 real labelled Alexandria entries (data/alexandria/sample.json.bz2)."""
    return ALEXANDRIA / "sample.json.bz2"


@pytest.fixture(scope="session")
def potnet_alexandria_cifs():
    """The 44 real Alexandria CIFs (structures only) shipped in data/, sorted by name."""
    paths = sorted((ALEXANDRIA / "lemat_genbench_structures_only").glob("alexandria_*.cif"))
    if len(paths) != N_CIFS:
        pytest.fail(f"expected {N_CIFS} Alexandria CIFs in {ALEXANDRIA}, found {len(paths)}")
    return paths


@pytest.fixture(scope="session")
def potnet_sample_entries(alexandria_sample):
    """The 117 real Alexandria entries with properties (ComputedStructureEntry dicts)."""
    with bz2.open(alexandria_sample, "rt") as stream:
        return json.load(stream)["entries"]
