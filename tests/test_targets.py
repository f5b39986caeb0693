"""The 7 paper targets on known real Alexandria entries, and every way a field can be bad."""

import math

import pytest
import yaml
from pymatgen.core import Structure

from matfuse.sources.alexandria import iter_entries
from matfuse.targets import TargetError, compute_targets, target_units

from conftest import REPO

PAPER_TARGETS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["targets"]


@pytest.fixture(scope="module")
def real_entries(alexandria_sample):
    return {e["data"]["mat_id"]: e for e in iter_entries(alexandria_sample)}


def targets_of(entry):
    structure = Structure.from_dict(entry["structure"])
    return compute_targets(entry["data"], PAPER_TARGETS, len(structure), structure.volume)


@pytest.mark.parametrize("mat_id", ["agm001000110", "agm005738888"])
def test_paper_targets_on_real_entries(real_entries, mat_id):
    """agm001000110 (hyllios, all fields) and agm005738888 (matsciml, many fields null)."""
    entry = real_entries[mat_id]
    data = entry["data"]
    lattice = entry["structure"]["lattice"]
    nsites = len(entry["structure"]["sites"])
    assert nsites == data["nsites"]
    a, b, c = lattice["matrix"]
    volume = abs(
        a[0] * (b[1] * c[2] - b[2] * c[1])
        - a[1] * (b[0] * c[2] - b[2] * c[0])
        + a[2] * (b[0] * c[1] - b[1] * c[0])
    )
    expected = {
        "gap": data["band_gap_ind"],
        "e_form": data["e_form"],
        "e_above_hull": data["e_above_hull"],
        "e_total_per_atom": data["energy_total"] / nsites,
        "mag_per_volume": data["total_mag"] / volume,
        "volume_per_atom": volume / nsites,
        "dos_per_atom": data["dos_ef"] / nsites,
    }
    assert targets_of(entry) == pytest.approx(expected, rel=1e-12)


def test_known_values_of_agm001000110(real_entries):
    """Numbers read off the entry (energy_total -35.56069047 eV for 6 sites, 150.063 Å³)."""
    values = targets_of(real_entries["agm001000110"])
    assert values["e_total_per_atom"] == pytest.approx(-35.56069047 / 6)
    assert values["volume_per_atom"] == pytest.approx(150.06303973094356 / 6)
    assert values["dos_per_atom"] == pytest.approx(4.0981855 / 6)
    assert values["mag_per_volume"] == pytest.approx(1.7e-06 / 150.06303973094356)
    assert values["gap"] == 0.0


def test_all_117_real_entries_give_finite_targets(real_entries):
    for entry in real_entries.values():
        assert all(math.isfinite(v) for v in targets_of(entry).values())


def test_units_and_labels_carried():
    units = target_units(PAPER_TARGETS)
    assert units["e_total_per_atom"] == {"label": "Etot/atom", "unit": "eV/atom"}
    assert units["mag_per_volume"] == {"label": "Mag/vol", "unit": "μB/Å³"}
    assert target_units({"k": {"field": "x", "unit": "eV"}}) == {"k": {"label": "k", "unit": "eV"}}


SPEC = {"t": {"field": "x", "unit": "eV"}}


@pytest.mark.parametrize(
    "fields, message",
    [
        ({}, "t: missing field 'x'"),
        ({"x": None}, "t: field 'x' is null"),
        ({"x": math.nan}, "t: field 'x' is NaN"),
        ({"x": "nan"}, "t: field 'x' is NaN"),
        ({"x": "abc"}, "t: field 'x' is not a number: 'abc'"),
        ({"x": [1.0]}, "t: field 'x' is not a number"),
        ({"x": True}, "t: field 'x' is not a number: True"),
        ({"x": -math.inf}, "t: field 'x' is infinite"),
    ],
)
def test_bad_field_values_are_named(fields, message):
    with pytest.raises(TargetError, match=message.replace("(", r"\(")):
        compute_targets(fields, SPEC, nsites=2, volume=10.0)


def test_numeric_text_counts_and_per_divides():
    spec = {
        "plain": {"field": "x", "unit": "eV"},
        "per_site": {"field": "x", "per": "nsites", "unit": "eV/atom"},
        "per_volume": {"field": "x", "per": "volume", "unit": "eV/Å³"},
        "density": {"field": "nsites", "per": "volume", "unit": "1/Å³"},
    }
    values = compute_targets({"x": "3.0"}, spec, nsites=2, volume=12.0)
    assert values == {"plain": 3.0, "per_site": 1.5, "per_volume": 0.25, "density": 2 / 12}


def test_every_failing_target_is_listed():
    spec = {"a": {"field": "x", "unit": "eV"}, "b": {"field": "y", "unit": "eV"}}
    with pytest.raises(TargetError, match="a: missing field 'x'; b: field 'y' is NaN"):
        compute_targets({"y": math.nan}, spec, nsites=1, volume=1.0)


def test_nsites_and_volume_come_from_the_structure_not_the_fields():
    spec = {"v": {"field": "volume", "per": "nsites", "unit": "Å³/atom"}}
    assert compute_targets({"volume": 999.0, "nsites": 99}, spec, nsites=4, volume=40.0) == {
        "v": 10.0
    }
