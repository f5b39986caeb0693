"""Choosing targets and combinations (config `study`): the subset asked for, in a fixed order,
only the enabled targets required of the data, and typos named at start."""

import pytest
import yaml

from matfuse.materials import sample_materials
from matfuse.study import choose, enabled_targets

from conftest import REPO

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_all_keeps_every_name_in_order():
    assert choose(["text", "image", "image+text"], "all", "study.combos") == [
        "text",
        "image",
        "image+text",
    ]


def test_a_list_keeps_the_defined_order():
    targets = enabled_targets(CONFIG["targets"], ["volume_per_atom", "gap"])
    assert list(targets) == ["gap", "volume_per_atom"]
    assert targets["gap"] == CONFIG["targets"]["gap"]


def test_an_unknown_name_is_named_with_its_key():
    with pytest.raises(ValueError, match=r"study.targets: 'band_gap' not among gap, e_form"):
        enabled_targets(CONFIG["targets"], ["gap", "band_gap"])


def test_only_enabled_targets_are_required_of_the_data():
    """The table fixture has no e_above_hull: all seven targets reject every row, two keep all."""
    data = {
        "source": "table",
        "n_materials": 5,
        "min_materials": 0,
        "table": {"id_column": "id", "structure_column": "cif"},
    }
    table = [REPO / "tests" / "data" / "table_fixture" / "materials.csv"]
    targets = {
        "gap": {"field": "band_gap", "unit": "eV"},
        "e_above_hull": {"field": "e_above_hull", "unit": "eV/atom"},
    }
    kept, _, rejected = sample_materials(table, data, targets, seed=0)
    assert kept.empty and rejected["reason"].str.contains("e_above_hull").all()
    kept, values, rejected = sample_materials(
        table, data, enabled_targets(targets, ["gap"]), seed=0
    )
    assert len(kept) == 5 and rejected.empty and list(values.columns) == ["mat_id", "gap"]
