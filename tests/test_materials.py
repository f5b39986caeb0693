"""Sampling + validation of the study's materials, on the real sample and on broken entries."""

import bz2
import copy
import json
import logging
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pymatgen.core import Structure

from matfuse.materials import MATERIAL_COLUMNS, sample_materials
from matfuse.sources.alexandria import iter_entries

from conftest import REPO

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
TABLE_FIXTURE = Path(__file__).parent / "data" / "table_fixture"


def data_cfg(n_materials=1000, min_materials=2, **overrides):
    return {
        **CONFIG["data"],
        "n_materials": n_materials,
        "min_materials": min_materials,
        **overrides,
    }


@pytest.fixture(scope="module")
def real_entries(alexandria_sample):
    return list(iter_entries(alexandria_sample))


def write_entries(path, entries):
    with bz2.open(path, "wt") as f:
        json.dump({"entries": entries}, f)
    return str(path)


def test_real_sample_all_kept(alexandria_sample, real_entries):
    materials, targets, rejected = sample_materials(
        [alexandria_sample], data_cfg(117), CONFIG["targets"], seed=42
    )
    assert rejected.empty
    assert list(materials.columns) == MATERIAL_COLUMNS
    assert list(targets.columns) == ["mat_id", *CONFIG["targets"]]
    assert list(materials["mat_id"]) == [e["data"]["mat_id"] for e in real_entries]
    assert list(targets["mat_id"]) == list(materials["mat_id"])
    first = materials.iloc[0]
    assert first["formula"] == "AcGePt"
    assert json.loads(first["composition"]) == {"Ge": 2.0, "Pt": 2.0, "Ac": 2.0}  # cell, site order
    assert first["nsites"] == 6
    assert first["volume"] == pytest.approx(150.06303973094356)
    assert Structure.from_dict(json.loads(first["structure"])) == Structure.from_dict(
        real_entries[0]["structure"]
    )
    assert first["source"] == str(alexandria_sample)
    assert targets.iloc[0]["e_total_per_atom"] == pytest.approx(-35.56069047 / 6)


def test_units_survive_parquet(tmp_path, alexandria_sample):
    _, targets, _ = sample_materials([alexandria_sample], data_cfg(117), CONFIG["targets"], seed=42)
    targets.to_parquet(tmp_path / "t.parquet")
    units = pd.read_parquet(tmp_path / "t.parquet").attrs["targets"]
    assert units["dos_per_atom"] == {"label": "DOS/atom", "unit": "states/(eV·atom)"}


def test_sample_is_seeded_and_drawn_across_the_whole_stream(tmp_path, real_entries):
    # Two files, so the draw spans files: the first 60 entries, then the other 57.
    files = [
        write_entries(tmp_path / "a.json.bz2", real_entries[:60]),
        write_entries(tmp_path / "b.json.bz2", real_entries[60:]),
    ]
    ids = lambda seed: list(
        sample_materials(files, data_cfg(30), CONFIG["targets"], seed)[0]["mat_id"]
    )
    first, again, other = ids(1), ids(1), ids(2)
    assert first == again and len(first) == 30
    assert other != first
    order = [e["data"]["mat_id"] for e in real_entries]
    assert first != order[:30]
    assert any(order.index(m) >= 60 for m in first)  # some come from the second file


def test_more_wanted_than_available_takes_all_and_warns(caplog, alexandria_sample):
    with caplog.at_level(logging.WARNING, logger="matfuse"):
        materials, _, _ = sample_materials(
            [alexandria_sample], data_cfg(1000), CONFIG["targets"], 0
        )
    assert len(materials) == 117
    assert "data.n_materials is 1000 but the input files hold only 117 entries" in caplog.text


def broken_variants(good):
    """One entry per way an Alexandria entry can be broken, each from a real one."""

    def variant(mat_id, change):
        entry = copy.deepcopy(good)
        entry["data"]["mat_id"] = mat_id
        change(entry)
        return entry

    def lattice(e):
        return e["structure"]["lattice"]["matrix"]

    def collinear(e):  # b = -a: γ = 180°
        lattice(e)[1] = [-x for x in lattice(e)[0]]

    def coplanar(e):  # c = a + b: no angle is 0° or 180°, yet the cell is flat
        lattice(e)[2] = [x + y for x, y in zip(lattice(e)[0], lattice(e)[1])]

    def thin(e):  # c shortened to 0.0001 Å
        norm = sum(x * x for x in lattice(e)[2]) ** 0.5
        lattice(e)[2] = [x * 1e-4 / norm for x in lattice(e)[2]]

    def stacked(e):  # a second atom on site 0
        e["structure"]["sites"].append(copy.deepcopy(e["structure"]["sites"][0]))
        e["data"]["nsites"] += 1

    def close(e):  # a copy of site 0, 0.2 Å along a
        site = copy.deepcopy(e["structure"]["sites"][0])
        site["abc"][0] += 0.2 / sum(x * x for x in lattice(e)[0]) ** 0.5
        e["structure"]["sites"].append(site)
        e["data"]["nsites"] += 1

    return [
        variant("no-id", lambda e: e["data"].pop("mat_id")),
        variant("bad-missing", lambda e: e["data"].pop("band_gap_ind")),
        variant("bad-nan", lambda e: e["data"].update(e_form=math.nan)),
        variant("bad-text", lambda e: e["data"].update(dos_ef="abc")),
        variant("bad-no-structure", lambda e: e.pop("structure")),
        variant("bad-structure", lambda e: e["structure"].pop("lattice")),
        variant(
            "bad-element", lambda e: e["structure"]["sites"][0]["species"][0].update(element="Xx")
        ),
        variant("bad-partial", lambda e: e["structure"]["sites"][0]["species"][0].update(occu=0.5)),
        variant("bad-collinear", collinear),
        variant("bad-coplanar", coplanar),
        variant("bad-thin", thin),
        variant("bad-stacked", stacked),
        variant("bad-close", close),
        variant("bad-nsites", lambda e: e["data"].update(nsites=99)),
        variant("../bad-path", lambda e: None),
        copy.deepcopy(good),  # a second copy of a real id
    ]


def test_each_broken_entry_is_rejected_with_its_reason(tmp_path, real_entries):
    path = write_entries(
        tmp_path / "broken.json.bz2", real_entries + broken_variants(real_entries[0])
    )
    materials, targets, rejected = sample_materials([path], data_cfg(), CONFIG["targets"], seed=3)
    assert len(materials) == len(targets) == 117  # the real ones; the first copy of the duplicate
    assert list(rejected.columns) == ["mat_id", "stage", "reason"]
    reasons = {(row.mat_id, row.stage): row.reason for row in rejected.itertuples()}
    expected = {
        ("", "entry"): "no data.mat_id (entry 117 of",
        ("bad-missing", "targets"): "gap: missing field 'band_gap_ind'",
        ("bad-nan", "targets"): "e_form: field 'e_form' is null (missing or NaN in the source)",
        ("bad-text", "targets"): "dos_per_atom: field 'dos_ef' is not a number: 'abc'",
        ("bad-no-structure", "structure"): "no structure",
        ("bad-structure", "structure"): "unparsable structure (KeyError: 'lattice')",
        (
            "bad-element",
            "structure",
        ): "unparsable structure (ValueError: 'Xx' is not a valid Element)",
        ("bad-partial", "structure"): "disordered: site 0 has partial occupancy Ge0.5",
        ("bad-collinear", "structure"): "degenerate cell: lattice vectors a and b are collinear (γ = 180°)",
        ("bad-coplanar", "structure"): "degenerate cell: volume",
        ("bad-thin", "structure"): "degenerate cell: zero thickness, lattice length c = 0.0001 Å",
        ("bad-stacked", "structure"): "overlapping atoms: site 0 (Ge) and site 6 (Ge) are 0 Å apart",
        ("bad-close", "structure"): "overlapping atoms: site 0 (Ge) and site 6 (Ge) are 0.2 Å apart",
        ("bad-nsites", "structure"): "data.nsites is 99 but the structure has 6 sites",
        ("../bad-path", "entry"): "id '../bad-path' is not usable as a file name",
        ("agm001000110", "duplicate"): "entry 132 of",
    }
    assert set(reasons) == set(expected)
    for key, start in expected.items():
        assert reasons[key].startswith(start), (key, reasons[key])
    assert reasons[("agm001000110", "duplicate")].endswith("repeats the id of entry 0 of " + path)


def test_too_few_left_stops_naming_the_config_key(tmp_path, real_entries):
    path = write_entries(
        tmp_path / "few.json.bz2", real_entries[:3] + broken_variants(real_entries[0])
    )
    with pytest.raises(ValueError, match=r"only 3 of 19 .* data.min_materials=4"):
        sample_materials([path], data_cfg(min_materials=4), CONFIG["targets"], seed=0)


TABLE_TARGETS = {
    "gap": {"field": "band_gap", "unit": "eV"},
    "e_per_atom": {"field": "energy", "per": "nsites", "unit": "eV/atom"},
    "mag_per_volume": {"field": "magmom", "per": "volume", "unit": "μB/Å³"},
}


def test_table_source_with_bad_rows(tmp_path):
    good = pd.read_csv(TABLE_FIXTURE / "materials.csv")
    good["cif"] = [str(TABLE_FIXTURE / p) for p in good["cif"]]  # absolute paths work too
    lacuw = (TABLE_FIXTURE / "cifs" / "agm004215334.cif").read_text()  # Cu at ½½½, La at ¾¾¾
    disordered = lacuw.replace("0.50000000  1\n", "0.50000000  0.5\n")
    la_site = "La  La1  1  0.75000000  0.75000000  0.75000000"
    corrupt = {
        "t-thin": lacuw.replace("_cell_length_c   4.74342455", "_cell_length_c   0.0001"),
        "t-gamma-180": lacuw.replace("_cell_angle_gamma   60.00000000", "_cell_angle_gamma   180"),
        "t-same-site": lacuw.replace(la_site, "La  La1  1  0.50000000  0.50000000  0.50000000"),
        "t-close": lacuw.replace(la_site, "La  La1  1  0.52000000  0.50000000  0.50000000"),
    }
    assert all(cif != lacuw for cif in corrupt.values())
    bad = pd.DataFrame(
        [
            ("t-text", good["cif"][0], 1.0, "abc", 0.0),
            ("t-nan", good["cif"][0], math.nan, -1.0, 0.0),
            ("t-missing-cif", "nowhere.cif", 1.0, -1.0, 0.0),
            ("t-disordered", disordered, 1.0, -1.0, 0.0),
            ("agm002373231", good["cif"][1], 1.0, -1.0, 0.0),
            *[(mat_id, cif, 1.0, -1.0, 0.0) for mat_id, cif in corrupt.items()],
        ],
        columns=["id", "cif", "band_gap", "energy", "magmom"],
    )
    path = tmp_path / "mine.csv"
    pd.concat([good, bad]).to_csv(path, index=False)
    cfg = data_cfg(
        source="table", table={"path": str(path), "id_column": "id", "structure_column": "cif"}
    )
    materials, targets, rejected = sample_materials([path], cfg, TABLE_TARGETS, seed=0)

    assert list(materials["mat_id"]) == list(good["id"])
    lacuw = targets.set_index("mat_id").loc["agm004215334"]
    assert lacuw["gap"] == 1.0 and lacuw["e_per_atom"] == pytest.approx(-20.25 / 3)
    volume = materials.set_index("mat_id").loc["agm003834858", "volume"]
    assert targets.set_index("mat_id").loc["agm003834858", "mag_per_volume"] == pytest.approx(
        1.5 / volume
    )
    assert dict(zip(rejected["mat_id"], rejected["stage"])) == {
        "t-text": "targets",
        "t-nan": "targets",
        "t-missing-cif": "structure",
        "t-disordered": "structure",
        "agm002373231": "duplicate",
        **{mat_id: "structure" for mat_id in corrupt},
    }
    reasons = dict(zip(rejected["mat_id"], rejected["reason"]))
    assert reasons["t-text"] == "e_per_atom: field 'energy' is not a number: 'abc'"
    assert reasons["t-nan"] == "gap: field 'band_gap' is NaN"
    assert reasons["t-disordered"].endswith("has partial occupancy Cu0.5")
    assert reasons["t-thin"] == "degenerate cell: zero thickness, lattice length c = 0.0001 Å"
    assert reasons["t-gamma-180"] == "degenerate cell: lattice vectors a and b are collinear (γ = 180°)"
    assert reasons["t-same-site"].startswith("overlapping atoms: Cu and La on one site (site 1 at")
    # 0.02 of a 4.743 Å axis, in a 60° rhombohedral cell
    assert reasons["t-close"] == (
        "overlapping atoms: site 1 (Cu0) and site 2 (La1) are 0.0949 Å apart (closer than 0.5 Å)"
    )


@pytest.fixture
def three_files(tmp_path, real_entries):
    """The real sample cut into three files of different sizes, broken entries in the second."""
    broken = broken_variants(real_entries[0])
    return [
        write_entries(tmp_path / "a.json.bz2", real_entries[:50]),
        write_entries(tmp_path / "b.json.bz2", real_entries[50:60] + broken),
        write_entries(tmp_path / "c.json.bz2", real_entries[60:]),
    ]


@pytest.mark.parametrize("n_materials", [40, 1000])
def test_same_materials_and_rejections_whatever_the_number_of_processes(
    three_files, n_materials
):
    """Files read in parallel give the serial run's tables, row for row, sampled or whole."""
    cfg = data_cfg(n_materials)
    one = sample_materials(three_files, cfg, CONFIG["targets"], seed=5, processes=1)
    two = sample_materials(three_files, cfg, CONFIG["targets"], seed=5, processes=2)
    for serial, parallel in zip(one, two):
        pd.testing.assert_frame_equal(serial, parallel)
    materials, _, rejected = one
    assert len(materials) + len(rejected) == min(n_materials, 133)
    assert set(materials["source"]) == set(three_files)  # every file contributes
    position = {
        (path, entry["data"].get("mat_id")): (file_index, entry_index)
        for file_index, path in enumerate(three_files)
        for entry_index, entry in enumerate(iter_entries(path))
    }
    order = [position[row] for row in zip(materials["source"], materials["mat_id"])]
    assert order == sorted(order)  # file order, then stream order
    if n_materials > 133:  # all taken: every broken entry is rejected, the duplicate too
        assert len(rejected) == 16 and "duplicate" in set(rejected["stage"])


def test_too_few_left_stops_in_parallel_too(three_files):
    with pytest.raises(ValueError, match=r"only 117 of 133 .* data.min_materials=120"):
        sample_materials(
            three_files, data_cfg(min_materials=120), CONFIG["targets"], seed=0, processes=2
        )


def test_a_corrupt_file_read_by_a_worker_is_named(tmp_path, three_files):
    corrupt = tmp_path / "corrupt.json.bz2"
    corrupt.write_bytes(Path(three_files[2]).read_bytes()[:-200])
    with pytest.raises(ValueError, match=rf"{corrupt}: corrupt or truncated file"):
        sample_materials(
            [*three_files[:2], str(corrupt)], data_cfg(40), CONFIG["targets"], 0, processes=2
        )
