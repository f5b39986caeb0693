"""The tiny study through `--profile profiles/slurm` on a real single-node SLURM cluster.

The cluster (tests/slurm/start_local_slurm.sh: Debian's slurmctld, slurmd and munge, one fake
GPU) is started for this module and stopped afterwards by its pid files, also when a test fails.
"""

import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import SNAKEMAKE, copy_workflow, planned_jobs, workflow_env

pytestmark = pytest.mark.slurm

SLURM_SCRIPTS = Path(__file__).parent / "slurm"
# The test cluster has no slurmdbd, hence no sacct, on which the plugin would wait forever:
# poll with squeue instead. Only here, never in the profile users run on a real cluster.
CI_POLLING = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2"]
# The test cluster's one node has 2 CPUs: no job may ask for more.
TEST_CLUSTER = ["--cores", "2", "--slurm-keep-successful-logs"]
# The tiny study (every modality), narrowed to one target: one fit per combination (7, not 49),
# since each SLURM job costs ~10-30 s more here than a local job. Training asks for a GPU
# (tiny.yaml asks for none, as for a laptop), with one CPU, so that the test node's 2 CPUs can run
# two fits at once when they share its one GPU.
STUDY_TARGET = "e_form"
STUDY_OVERRIDES = {"train": {"gpus": 1, "threads": 1, "mem_mb": 3000}}
PROFILE = yaml.safe_load((Path(__file__).parents[1] / "profiles/slurm/config.yaml").read_text())
# A site's own profile after the repository's (docs/cluster.md), as on a cluster with GPU shards:
# each fit takes one of the GPU's 4 shards (tests/slurm/start_local_slurm.sh), so fits share it.
SHARED_GPU_PROFILE = {"set-resources": {**PROFILE["set-resources"], "fit_model": {"gres": "shard:1"}}}
STUDY_LIMIT_S = 3600
LOCAL_RULES = {"all", "resolve_backbone", "download_alexandria"}
# the profile's groups: each runs as one SLURM job
GROUPS = {
    "prepare": {"sample_materials", "split_materials", "text_modality", "write_cifs"},
    "assemble": {"join_image_shards", "align_dataset"},
    "baselines": {"fit_baseline"},
    "summarize": {
        "evaluate_models", "metric_table", "metric_figure", "compare_with_paper", "benchmark_summary", "report_config"
    },
}


@pytest.fixture(scope="module")
def local_slurm():
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root")
    try:
        subprocess.run(["bash", SLURM_SCRIPTS / "start_local_slurm.sh"], check=True, timeout=900)
        yield
    finally:
        subprocess.run(["bash", SLURM_SCRIPTS / "stop_local_slurm.sh"], timeout=120)


def narrow_study(workdir):
    """Edit the scratch copy's config: one target in config.yaml, the overrides in tiny.yaml."""
    main, tiny = workdir / "config/config.yaml", workdir / "config/tiny.yaml"
    config = yaml.safe_load(main.read_text())
    config["targets"] = {STUDY_TARGET: config["targets"][STUDY_TARGET]}
    main.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    tiny_config = yaml.safe_load(tiny.read_text())
    for key, value in STUDY_OVERRIDES.items():
        tiny_config[key] = {**tiny_config.get(key, {}), **value} if isinstance(value, dict) else value
    tiny.write_text(yaml.safe_dump(tiny_config, sort_keys=False, allow_unicode=True))


def slurm_jobs(workdir):
    """{job id: scontrol's record} of every SLURM job that ran in `workdir`."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True, check=True).stdout
    records = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.splitlines() if line.strip()]
    return {r["JobId"]: r for r in records if r.get("WorkDir") == str(workdir)}


@pytest.fixture(scope="module")
def slurm_study(local_slurm, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm"))
    narrow_study(workdir)
    planned = planned_jobs(workdir)
    assert planned["fit_model"] == 7
    site = tmp_path_factory.mktemp("site_profile")
    (site / "config.yaml").write_text(yaml.safe_dump(SHARED_GPU_PROFILE))
    cmd = [SNAKEMAKE, "--profile", "profiles/slurm", "--profile", str(site), *CI_POLLING, *TEST_CLUSTER]
    cmd += ["--configfile", "config/tiny.yaml"]
    # snakemake stops (and scancels its jobs) on SIGINT; SIGTERM does not reliably stop it
    proc = subprocess.run(
        ["timeout", "-s", "INT", "-k", "30", str(STUDY_LIMIT_S), *cmd],
        cwd=workdir, env=workflow_env(), capture_output=True, text=True,
    )
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in (workdir / ".snakemake/slurm_logs").rglob("*.log"))
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-8000:]}\n{logs[-8000:]}")
    return workdir, planned, slurm_jobs(workdir)


def test_every_output_is_made(slurm_study):
    workdir, _, _ = slurm_study
    assert planned_jobs(workdir) == {}  # every output there and up to date
    metrics = pd.read_csv(workdir / "results/metrics/metrics.csv")
    assert metrics["ok"].all() and set(metrics["target"]) == {STUDY_TARGET}, metrics
    models = metrics.loc[~metrics["baseline"], "combo"]
    assert models.nunique() == 7 and metrics.loc[metrics["baseline"], "combo"].nunique() == 3
    for path in ("results/tables/mae.md", "results/figures/scaled_heatmap.png", "results/report/benchmarks.png"):
        assert (workdir / path).stat().st_size > 0, path


def fit_jobs(jobs):
    return {i: j for i, j in jobs.items() if "fit_model" in j["Comment"]}


def test_fits_share_the_gpu(slurm_study):
    workdir, planned, jobs = slurm_study
    fits = fit_jobs(jobs)
    assert len(fits) == planned["fit_model"]
    for job in fits.values():
        assert job["TresPerNode"] == "gres:shard:1", job  # a share of the GPU, as the profile says
        assert job["JobState"] == "COMPLETED", job
    assert not any("gres" in j.get("TresPerNode", "") for i, j in jobs.items() if i not in fits)
    # SLURM handed the GPU to every fit: its log records CUDA_VISIBLE_DEVICES
    train_logs = [p for p in (workdir / "logs/train").rglob("*.log") if not p.parent.parent.name.startswith("baseline_")]
    assert len(train_logs) == planned["fit_model"]
    for log in train_logs:
        assert re.search(r"CUDA_VISIBLE_DEVICES=\d", log.read_text()), log
    # and fits ran side by side on the node's one GPU (whole-GPU requests would queue one by one)
    spans = sorted((j["StartTime"], j["EndTime"]) for j in fits.values())
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])), spans


def rules_run_by_job(workdir):
    """{SLURM job log: the rules that job ran}, read from the job's own Snakemake output.

    Not from the job comment: the plugin cuts long group names short (`..._metric_table_...`).
    """
    logs = (workdir / ".snakemake/slurm_logs").rglob("*.log")
    return {log: frozenset(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", log.read_text(), re.M)) for log in logs}


def test_cheap_rules_share_jobs(slurm_study):
    workdir, planned, jobs = slurm_study
    ungrouped = sum(n for rule, n in planned.items() if rule not in LOCAL_RULES)
    comments = [j["Comment"] for j in jobs.values()]
    print(f"{len(jobs)} SLURM jobs for {ungrouped} cluster jobs: {sorted(comments)}")
    assert len(jobs) < ungrouped
    ran = rules_run_by_job(workdir)
    assert len(ran) == len(jobs)  # one SLURM log per SLURM job
    # each group's rules of this DAG ran in one SLURM job, named after the group, and in no other
    for group, rules in GROUPS.items():
        present = rules & set(planned)
        assert [r for r in ran.values() if r & present] == [present], (group, ran)
        assert sum(c.startswith(f"rule_{group}_") for c in comments) == 1, (group, comments)


def test_the_profile_asks_for_whole_gpus_by_default(slurm_study):
    """Refit one model with the repository's profile alone (last: it makes the metrics stale)."""
    workdir, _, before = slurm_study
    target = f"results/predictions/text/{STUDY_TARGET}/repeat_0.parquet"
    cmd = [SNAKEMAKE, "--profile", "profiles/slurm", *CI_POLLING, *TEST_CLUSTER, "--configfile", "config/tiny.yaml"]
    proc = subprocess.run([*cmd, "--force", target], cwd=workdir, env=workflow_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-8000:]
    (job,) = [j for i, j in fit_jobs(slurm_jobs(workdir)).items() if i not in before]
    assert job["TresPerNode"] == "gres:gpu:1" and job["JobState"] == "COMPLETED", job
    log = workdir / f"logs/train/text/{STUDY_TARGET}/repeat_0.log"
    assert re.search(r"CUDA_VISIBLE_DEVICES=\d", log.read_text()), log
