import bz2
import json
from pathlib import Path

import pytest

SHARED = Path(__file__).parents[1] / ".." / "shared"


@pytest.fixture(scope="session")
def potnet_alexandria_cifs():
    """The 2,475 real Alexandria CIFs (structures only), sorted by name."""
    directory = SHARED / "data" / "alexandria" / "lemat_genbench_structures_only"
    return sorted(directory.glob("alexandria_*.cif"))


@pytest.fixture(scope="session")
def potnet_sample_entries():
    """The 117 real Alexandria entries with properties (ComputedStructureEntry dicts)."""
    with bz2.open(SHARED / "data" / "alexandria" / "sample.json.bz2", "rt") as stream:
        return json.load(stream)["entries"]
