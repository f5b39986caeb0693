import copy
import glob
import itertools
import os
import re

from snakemake.exceptions import WorkflowError

# Fixed order of modalities; combinations are named by joining them with "+" in this order.
MODALITY_ORDER = ["tabular", "image", "text"]
TARGETS = list(config["targets"])
# Local Alexandria files given without editing config: paths or globs, separated by ":".
ALEXANDRIA_FILES_ENV = "MATFUSE_ALEXANDRIA_FILES"


def enabled_modalities():
    return [m for m in MODALITY_ORDER if m in config["modalities"]]


def modality_combos():
    """Non-empty subsets of the enabled modalities: singles first, then pairs, then all."""
    enabled = enabled_modalities()
    return [
        "+".join(c)
        for size in range(1, len(enabled) + 1)
        for c in itertools.combinations(enabled, size)
    ]


COMBOS = modality_combos()
# Seeded train/test splits; every model and baseline is fitted once per repeat.
REPEATS = list(range(config["evaluate"]["repeats"]))
if len(REPEATS) > 1 and config["embeddings"]["method"] == "trained":
    raise WorkflowError(
        "evaluate.repeats > 1 with embeddings.method: trained: the embedding is fitted on "
        "repeat 0's train split, which holds other repeats' test materials; use repeats: 1"
    )
# Fitted on the same splits as the models (matfuse.baselines); metrics combo `baseline_{name}`.
BASELINES = ["mean", "median", "composition_gbr"]


wildcard_constraints:
    combo="|".join(re.escape(c) for c in COMBOS),
    target="|".join(re.escape(t) for t in TARGETS),
    repeat=r"\d+",
    baseline="|".join(BASELINES),


def local_alexandria_files():
    """Local files from the environment variable (first) or config; globs expanded, sorted."""
    env = os.environ.get(ALEXANDRIA_FILES_ENV, "")
    patterns = env.split(":") if env else config["data"]["alexandria"]["local_files"]
    files = []
    for pattern in filter(None, patterns):
        matched = sorted(glob.glob(os.path.expanduser(pattern)))
        if not matched:
            where = ALEXANDRIA_FILES_ENV if env else "data.alexandria.local_files"
            raise WorkflowError(f"{where}: {pattern!r} matches no file")
        files.extend(matched)
    return files


def source_files():
    """The input files of the sampling step, in a fixed order (the sample depends on it)."""
    data = config["data"]
    if data["source"] == "table":
        return [data["table"]["path"]]
    local = local_alexandria_files()
    if local:
        return local
    alex = data["alexandria"]
    return [
        f"resources/alexandria/{alex['file_pattern'].format(index=i)}"
        for i in alex["indices"]
    ]


def modality_table(modality):
    return {
        "text": "results/modalities/text.parquet",
        "image": "results/modalities/image.parquet",
        # the structure embedding of the configured method (random | trained | chgnet)
        "tabular": f"results/modalities/potnet_{config['embeddings']['method']}.parquet",
    }[modality]


def potnet_inputs(wildcards):
    """The CIF manifest; `trained` also reads the split and the (train rows of the) targets."""
    inputs = {"cifs": "results/structures/cifs.parquet"}
    if wildcards.method == "trained":
        inputs["split"] = "results/data/split.csv"
        inputs["targets"] = "results/data/targets.parquet"
    return inputs


def backbones_for(combo):
    """The resolved backbone directories a combination's model needs."""
    return [
        f"resources/backbones/{m}"
        for m in combo.split("+")
        if m in config.get("backbones", {})
    ]


def prediction_path(combo, target, repeat, ext):
    """Test predictions (parquet) or status (json) of one model or baseline in one repeat."""
    return f"results/predictions/{combo}/{target}/repeat_{repeat}.{ext}"


def model_outputs(kind):
    """Every model's and baseline's predictions or status files, over all repeats."""
    ext = {"predictions": "parquet", "status": "json"}[kind]
    combos = COMBOS + [f"baseline_{b}" for b in BASELINES]
    return [
        prediction_path(c, t, r, ext)
        for c, t, r in itertools.product(combos, TARGETS, REPEATS)
    ]


METRIC_TABLES = ["mae", "rmse", "mae_scaled", "rmse_scaled"]
FIGURES = ["errors_bars", "scaled_bars", "scaled_heatmap"]


def compares_with_paper():
    """The paper's numbers are Alexandria's: beside another source's they would mislead."""
    return (
        config["evaluate"]["compare_with_paper"]
        and config["data"]["source"] == "alexandria"
    )


def all_results():
    results = expand(
        "results/tables/{table}.{ext}", table=METRIC_TABLES, ext=["csv", "md"]
    ) + expand("results/figures/{figure}.png", figure=FIGURES)
    if compares_with_paper():
        results += expand("results/tables/paper_{table}.md", table=METRIC_TABLES)
    return results


# Keys that change how fast, where or from where a job runs, never its results: left out of
# the snapshot (so changing them reruns nothing).
RESOURCE_KEYS = [
    ("train", "threads"),
    ("train", "mem_mb"),
    ("train", "runtime"),
    ("train", "gpus"),
    ("embeddings", "threads"),
    ("embeddings", "mem_mb"),
    ("embeddings", "runtime"),
    ("images", "pages"),
    ("images", "scene_workers"),
    ("images", "shards"),
    ("data", "alexandria", "base_url"),
]


def run_config():
    """The result-relevant configuration, stored by the evaluation beside the metrics."""
    snapshot = copy.deepcopy(dict(config))
    for *sections, key in RESOURCE_KEYS:
        parent = snapshot
        for section in sections:
            parent = parent.get(section) or {}
        parent.pop(key, None)
    return snapshot


def benchmark_files():
    """Every benchmark file the study writes, so the summary runs after all of them."""
    files = [rules.sample_materials.benchmark, rules.write_cifs.benchmark]
    if "image" in enabled_modalities():
        files += expand(
            rules.render_images.benchmark, shard=range(config["images"]["shards"])
        )
    if "tabular" in enabled_modalities():
        files += expand(
            rules.potnet_embeddings.benchmark, method=config["embeddings"]["method"]
        )
    return files + expand(
        rules.fit_model.benchmark, combo=COMBOS, target=TARGETS, repeat=REPEATS
    )


# The configuration the evaluation ran with, stored beside the metrics it made.
RUN_CONFIG = "results/metrics/run_config.yaml"
REPORT_OUTPUTS = [
    "results/report/benchmarks.csv",
    "results/report/benchmarks.png",
    "results/report/config.yaml",
    "results/report/run.html",
]
