"""Shared test fixtures: the repository, and the real Alexandria data beside it in ../shared."""

import bz2
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ALEXANDRIA = SHARED / "data" / "alexandria"


@pytest.fixture(scope="session")
def alexandria_sample():
    """The 117 real labelled Alexandria entries (../shared/data/alexandria/sample.json.bz2)."""
    path = ALEXANDRIA / "sample.json.bz2"
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared beside the repository")
    return path


@pytest.fixture(scope="session")
def potnet_alexandria_cifs():
    """The 2,475 real Alexandria CIFs (structures only), sorted by name."""
    paths = sorted((ALEXANDRIA / "lemat_genbench_structures_only").glob("alexandria_*.cif"))
    if len(paths) != 2475:
        pytest.fail(f"expected the 2,475 Alexandria CIFs in {ALEXANDRIA}, found {len(paths)}")
    return paths


@pytest.fixture(scope="session")
def potnet_sample_entries(alexandria_sample):
    """The 117 real Alexandria entries with properties (ComputedStructureEntry dicts)."""
    with bz2.open(alexandria_sample, "rt") as stream:
        return json.load(stream)["entries"]
