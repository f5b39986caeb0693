import codecs
import glob
import itertools
import math
import os
import re
import socket
import urllib.parse
import urllib.request

from snakemake.exceptions import WorkflowError

from matfuse.baselines import BASELINE_PREFIX, BASELINES
from matfuse.dataset import is_structure, structure_modality
from matfuse.study import choose, enabled_targets
from matfuse.tablefile import WRONG_SUFFIX, table_kind

# Fixed order of modalities; combinations are named by joining them with "+" in this order.
MODALITY_ORDER = ["tabular", "image", "text"]

try:
    # Every rule and the report see only the targets that `study.targets` enables.
    config["targets"] = enabled_targets(config["targets"], config["study"]["targets"])
except ValueError as err:
    raise WorkflowError(str(err)) from None
TARGETS = list(config["targets"])
# Local Alexandria files given without editing config: paths or globs, separated by ":".
ALEXANDRIA_FILES_ENV = "MATFUSE_ALEXANDRIA_FILES"
# How long the start-up probe of the download host waits: an offline machine stops in seconds.
DOWNLOAD_PROBE_TIMEOUT_S = 5


def embedding_methods():
    """`embeddings.method`: one method, or several to compare side by side."""
    method = config["embeddings"]["method"]
    return [method] if isinstance(method, str) else list(method)


# The structure view of each embedding method, by its name in combinations: `tabular` for one
# method, `tabular-<method>` for each of several.
STRUCTURE_METHODS = {
    structure_modality(m, len(embedding_methods()) > 1): m for m in embedding_methods()
}


def enabled_modalities():
    """The enabled modalities in order, the structure view once per embedding method."""
    return [
        name
        for m in MODALITY_ORDER
        if m in config["modalities"]
        for name in (STRUCTURE_METHODS if m == "tabular" else [m])
    ]


def combo_method(combo):
    """The embedding method of a combination's structure view; None without one."""
    return next(
        (STRUCTURE_METHODS[p] for p in combo.split("+") if is_structure(p)), None
    )


def modality_combos():
    """Non-empty subsets of the enabled modalities (singles first, then pairs, then all), with
    at most one structure view (methods are alternatives), as far as `study.combos` enables
    them."""
    enabled = enabled_modalities()
    combos = [
        "+".join(c)
        for size in range(1, len(enabled) + 1)
        for c in itertools.combinations(enabled, size)
        if sum(map(is_structure, c)) <= 1
    ]
    try:
        return choose(combos, config["study"]["combos"], "study.combos")
    except ValueError as err:
        raise WorkflowError(str(err)) from None


COMBOS = modality_combos()
# Seeded train/test splits; every model and baseline is fitted once per repeat.
REPEATS = list(range(config["evaluate"]["repeats"]))
if len(REPEATS) > 1 and "trained" in embedding_methods():
    raise WorkflowError(
        "evaluate.repeats > 1 with embeddings.method: trained: the embedding is fitted on "
        "repeat 0's train split, which holds other repeats' test materials; use repeats: 1"
    )

# Config keys that say how or where a job runs (cores, memory, time, GPUs, browser pages and
# program, time-outs, download address, local file names), not what it computes. Rules keep
# them out of params, so changing one reruns nothing: threads:, resources: and input paths
# carry them (the browser program is read from config by the render script).
RUN_ONLY_KEYS = {
    "data": ["alexandria", "threads"],
    "embeddings": ["threads", "mem_mb", "runtime"],
    "images": ["pages", "scene_workers", "timeout", "retries", "browser"],
    "train": ["gpus", "fits_per_gpu", "threads", "mem_mb", "runtime"],
}


def result_settings(section, keys=None):
    """config[section] without its run-only keys (or only `keys`): what a rule's params hold."""
    settings = config[section]
    return {
        key: value
        for key, value in settings.items()
        if key not in RUN_ONLY_KEYS.get(section, ()) and (keys is None or key in keys)
    }


def render_shards():
    """Render jobs: blocks of `images.shard_size` materials, so a job's size stays put as the
    study grows (10,000 materials at 250: 40 jobs)."""
    return math.ceil(config["data"]["n_materials"] / config["images"]["shard_size"])


def per_thousand_materials(limit):
    """A time limit given for 1,000 materials, for the study's `data.n_materials`: the work of
    a fit or an embedding grows linearly with the materials (benchmarks/stage_costs.py).
    """
    return math.ceil(limit * max(1.0, config["data"]["n_materials"] / 1000))


def train_settings():
    """What a fit's params hold: `train` without run-only keys, its time_limit scaled with the
    study as the job's runtime is, so that the safety net does not cut fits of a large study.
    """
    settings = result_settings("train")
    return {**settings, "time_limit": per_thousand_materials(settings["time_limit"])}


def result_config():
    """The whole config without run-only keys: what the report records as shaping results."""
    return {
        section: result_settings(section) if isinstance(value, dict) else value
        for section, value in config.items()
    }


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


def startup_problem():
    """What stops the run before any job, in one actionable sentence naming the key; or None.

    Checked before the DAG is built, so that a missing table, impossible counts or an offline
    machine give one short error instead of a failed job and its traceback.
    """
    data = config["data"]
    if data["min_materials"] > data["n_materials"]:
        return (
            f"data.min_materials ({data['min_materials']}) is larger than data.n_materials "
            f"({data['n_materials']}): no run could keep enough materials; lower "
            "data.min_materials or raise data.n_materials"
        )
    if data["source"] == "table":
        return table_problem(data.get("table", {}))
    try:
        local = local_alexandria_files()
    except WorkflowError as err:
        return str(err)
    # The probe needs the network: not in a cluster job (the main process did it) or --lint.
    probe = workflow.is_main_process and getattr(workflow, "check_envvars", True)
    return None if local or not probe else download_problem()


def table_problem(table):
    """What makes `data.table` unusable before anything reads it (path, format, encoding)."""
    path = table.get("path", "")
    if not path:
        return (
            "data.source is 'table' but data.table.path is not set: set it to your CSV or "
            "Parquet table (see config/README.md, data.table)"
        )
    if not os.path.isfile(path):
        return (
            f"data.table.path: {path!r} does not exist (a relative path is read from the "
            f"working directory, {os.getcwd()})"
        )
    if table_kind(path) is None:
        return f"data.table.path: {path!r} {WRONG_SUFFIX}"
    try:
        codecs.lookup(table.get("encoding", "utf-8"))
    except LookupError:
        return (
            f"data.table.encoding: {table['encoding']!r} is not a known text encoding"
        )
    return None


def download_problem():
    """Why the missing Alexandria files cannot be downloaded (host unreachable), or None."""
    missing = [path for path in source_files() if not os.path.exists(path)]
    if not missing:
        return None
    base_url = config["data"]["alexandria"]["base_url"]
    url = urllib.parse.urlsplit(base_url)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        # through a proxy, the proxy is what must answer
        url = urllib.parse.urlsplit(proxy)
    where = url.netloc or base_url
    try:
        port = url.port or {"http": 80}.get(url.scheme, 443)
        socket.create_connection(
            (url.hostname, port), timeout=DOWNLOAD_PROBE_TIMEOUT_S
        ).close()
    except (OSError, ValueError, TypeError) as err:
        return (
            f"cannot reach {where} to download {len(missing)} Alexandria file(s) from "
            f"data.alexandria.base_url ({err}). To use local copies instead, list them under "
            f"data.alexandria.local_files or set {ALEXANDRIA_FILES_ENV} to their paths or "
            "globs separated by ':'"
        )
    return None


def modality_table(modality):
    if is_structure(modality):
        # the structure embedding of the view's method (random | trained | chgnet | descriptors)
        return f"results/modalities/potnet_{STRUCTURE_METHODS[modality]}.parquet"
    return {
        "text": "results/modalities/text.parquet",
        "image": "results/modalities/image.parquet",
    }[modality]


def potnet_inputs(wildcards):
    """The CIF manifest; `trained` also reads the split and the (train rows of the) targets."""
    inputs = {"cifs": "results/structures/cifs.parquet"}
    if wildcards.method == "trained":
        inputs["split"] = "results/data/split.csv"
        inputs["targets"] = "results/data/targets.parquet"
    return inputs


CIF_DIR = "results/structures/cif"
PNG_PATTERN = "results/modalities/images/png/{mat_id}.png"


wildcard_constraints:
    mat_id=r"[^/]+",


def rendered_pngs(table):
    """The PNG paths of a table's rows that have one (its `image` column)."""
    import pandas as pd

    images = pd.read_parquet(table, columns=["image"])["image"]
    return sorted(path for path in images if path)


def all_pngs(wildcards):
    """Every PNG the render shards made, so a missing one is made again (and deleted by
    --delete-all-output)."""
    if "image" not in enabled_modalities():
        return []
    return rendered_pngs(checkpoints.join_image_shards.get().output[0])


def images_for(wildcards):
    """The PNGs an image-bearing model trains on: deleting one refits only those models."""
    if "image" not in wildcards.combo.split("+"):
        return []
    return rendered_pngs(checkpoints.align_dataset.get().output.aligned)


def backbones_for(combo):
    """The resolved backbone directories a combination's model needs."""
    return [
        f"resources/backbones/{m}"
        for m in combo.split("+")
        if m in config.get("backbones", {})
    ]


def embedding_settings(method):
    """The `embeddings` settings a method reads: CHGNet none of PotNet's, `random` no training
    ones, descriptors only their own (so adding a method to a study reruns no other)."""
    keys = {
        "random": ["graph", "model"],
        "trained": ["graph", "model", "trained"],
        "descriptors": ["descriptors"],
    }
    return result_settings("embeddings", keys=keys.get(method, []))


def featurisation(wildcards):
    """What a model's features were built with, for its matfuse_model.json: the config the
    modality rules ran with, and only for the modalities the combination uses."""
    modalities = wildcards.combo.split("+")
    settings = {"target": config["targets"][wildcards.target]}
    if "image" in modalities:
        # what shapes and validates the pictures (the render rules' params, less sharding)
        settings["images"] = result_settings(
            "images", keys=["size", "camera", "min_foreground"]
        )
    method = combo_method(wildcards.combo)
    if method:
        settings["embeddings"] = {"method": method, **embedding_settings(method)}
    return settings


def embedding_weights(wildcards):
    """The embedding model (weights, norm statistics) a tabular model's directory carries."""
    method = combo_method(wildcards.combo)
    return rules.potnet_embeddings.output.state.format(method=method) if method else []


def fit_gpus(wildcards):
    """The fit's GPUs where it runs (locally, and inside its cluster job); 0 for a job that is
    submitted to a cluster, which asks for them through `gres` (known only once the executor is:
    at parse time `workflow.local_exec` is always true, hence a function).
    """
    return config["train"]["gpus"] if workflow.local_exec else 0


def fit_gres(wildcards):
    """SLURM's request for a cluster fit: its GPUs whole (`gpu:N`). The profile may replace it
    with `shard:K` so that several fits share one GPU (docs/cluster.md), which a `gpu` resource
    would contradict; and with `gpu` 0 the job step inside the job inherits the job's GPUs.
    """
    gpus = config["train"]["gpus"]
    return f"gpu:{gpus}" if gpus and not workflow.local_exec else ""


def fit_path(kind, combo="{combo}"):
    """Where one fit's (model's or baseline's) files go: a pattern over {target} and {repeat}."""
    return {
        "model": f"results/models/{combo}/{{target}}/repeat_{{repeat}}",
        "predictions": f"results/predictions/{combo}/{{target}}/repeat_{{repeat}}.parquet",
        "status": f"results/predictions/{combo}/{{target}}/repeat_{{repeat}}.json",
        "log": f"logs/train/{combo}/{{target}}/repeat_{{repeat}}.log",
        "benchmark": f"results/benchmarks/train/{combo}/{{target}}/repeat_{{repeat}}.tsv",
    }[kind]


def model_outputs(kind):
    """Every model's and baseline's predictions or status files, over all repeats."""
    combos = COMBOS + [BASELINE_PREFIX + b for b in BASELINES]
    return [
        path
        for combo in combos
        for path in expand(fit_path(kind, combo), target=TARGETS, repeat=REPEATS)
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


def benchmark_files():
    """Every benchmark file the study writes, so the summary runs after all of them."""
    files = [rules.sample_materials.benchmark, rules.write_cifs.benchmark]
    if "image" in enabled_modalities():
        files += expand(rules.render_images.benchmark, shard=range(render_shards()))
    if "tabular" in config["modalities"]:
        files += expand(rules.potnet_embeddings.benchmark, method=embedding_methods())
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


def predict_inputs(wildcards):
    """The model directory (fitted first if the study has not) and the structures to predict."""
    settings = config.get("predict", {})
    if not settings.get("model"):
        raise WorkflowError(
            "predict_structures needs predict.model: a model directory, "
            "results/models/<combo>/<target>/repeat_<r>"
        )
    cifs = sorted(
        path for pattern in settings.get("cifs", []) for path in glob.glob(pattern)
    )
    if bool(cifs) == bool(settings.get("table")):
        raise WorkflowError(
            "predict_structures needs predict.cifs (files or globs that match) or "
            "predict.table, one of them"
        )
    return {"model": settings["model"], "structures": cifs or [settings["table"]]}
