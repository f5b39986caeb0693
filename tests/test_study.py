"""Choosing targets and combinations (config `study`): the subset asked for, in a fixed order,
only the enabled targets required of the data, and typos named at start."""

import re

import pytest
import yaml
from snakemake.utils import update_config

from matfuse.materials import sample_materials
from matfuse.study import choose, enabled_targets

from conftest import REPO
from workflow_helpers import copy_workflow, snakemake

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


def test_the_quick_look_keeps_every_shipped_materials_project_row():
    """config/quick_mp.yaml over tiny.yaml: the 300 real rows all pass, with four targets."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for name in ["tiny.yaml", "quick_mp.yaml"]:
        update_config(config, yaml.safe_load((REPO / "config" / name).read_text()))
    targets = enabled_targets(config["targets"], config["study"]["targets"])
    table = REPO / config["data"]["table"]["path"]
    kept, values, rejected = sample_materials([table], config["data"], targets, config["seed"])
    assert len(kept) == 300 and rejected.empty
    assert list(values.columns) == ["mat_id", "gap", "e_form", "mag_per_volume", "volume_per_atom"]
    assert (values["gap"] > 0).sum() == 171 and values.notna().all().all()


def test_a_narrowed_study_plans_only_its_fits(tmp_path):
    workdir = copy_workflow(tmp_path)
    narrowed = "study={targets: [gap, e_form], combos: [text, image+text]}"
    plan = snakemake(workdir, "-n", "--quiet", "rules", "--config", narrowed).stdout
    assert re.search(r"^fit_model\s+4$", plan, re.M), plan
    typo = snakemake(workdir, "-n", "--config", "study={targets: all, combos: [txt]}", check=False)
    assert typo.returncode != 0 and "study.combos: 'txt' not among" in typo.stdout + typo.stderr
