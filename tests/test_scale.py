"""The study at the paper's second scale (10,000 materials) plans hundreds of SLURM jobs, with job
counts and sizes that follow `data.n_materials`."""

import math

import pytest
import yaml
from workflow_helpers import copy_workflow, planned_jobs

from conftest import REPO

PROFILE = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
# the tiny config's local files stand in for the 45 official ones: only the plan is made
TEN_THOUSAND = {"data": {"n_materials": 10000}, "evaluate": {"repeats": 5}}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("scale"))
    (workdir / "scale.yaml").write_text(yaml.safe_dump(TEN_THOUSAND))
    return planned_jobs(workdir, configfiles=["config/tiny.yaml", "scale.yaml"])


def slurm_jobs(plan):
    """At most this many SLURM jobs: ungrouped cluster rules one each, a group's jobs packed by
    its `group-components` (fewer when its jobs are connected)."""
    grouped = {}
    for rule, group in PROFILE["groups"].items():
        grouped[group] = grouped.get(group, 0) + plan.get(rule, 0)
    local = {"all", "download_alexandria", "resolve_backbone"}
    ungrouped = sum(n for rule, n in plan.items() if rule not in PROFILE["groups"] and rule not in local)
    components = PROFILE["group-components"]
    return ungrouped + sum(math.ceil(n / components.get(group, 1)) for group, n in grouped.items())


def test_render_jobs_follow_the_number_of_materials(plan):
    assert plan["render_images"] == math.ceil(10000 / 60)  # tiny.yaml: images.shard_size 60


def test_ten_thousand_materials_take_hundreds_of_slurm_jobs(plan):
    targets = yaml.safe_load((REPO / "config/config.yaml").read_text())["targets"]
    assert plan["fit_model"] == 7 * len(targets) * 5  # combinations x targets x repeats
    assert 100 < slurm_jobs(plan) < 1000, plan
