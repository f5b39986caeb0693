"""Shared test fixtures: the repository, and the real Alexandria data beside it in ../shared."""

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
