# Run locally, concurrent fits all train on the first GPUs CUDA shows. A fit uses a fraction of
# a large GPU (2-11 GiB of 80-140), so up to `train.fits_per_gpu` of them share it; `--resources
# gpu=N` (N fits' worth of GPUs) overrides that. Cluster fits ask for GPUs as GRES instead (below)
# and never count against this budget.
if "gpu" not in workflow.global_resources:
    workflow.global_resources["gpu"] = (
        max(config["train"]["gpus"], 1) * config["train"]["fits_per_gpu"]
    )


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


localrules:
    resolve_backbone,


rule resolve_backbone:
    """A hub checkpoint when the network allows, else a local one; training never downloads."""
    output:
        directory("resources/backbones/{modality}"),
    log:
        "logs/backbones/{modality}.log",
    wildcard_constraints:
        modality="text|image",
    conda:
        "../envs/automm.yaml"
    params:
        spec=lambda wc: config["backbones"][wc.modality],
        # draws the random_init image weights
        seed=config["seed"],
    script:
        "../workflow/scripts/resolve_backbone.py"


rule fit_model:
    """One AutoGluon MultiModalPredictor per combination x target x repeat (its split); a failed
    fit is recorded, a config or input error fails the job."""
    input:
        dataset="results/dataset/aligned.parquet",
        split="results/data/split.csv",
        backbones=lambda wc: backbones_for(wc.combo),
        images=images_for,
        embedding_weights=embedding_weights,
    output:
        model=directory(fit_path("model")),
        predictions=fit_path("predictions"),
        status=fit_path("status"),
    log:
        fit_path("log"),
    benchmark:
        fit_path("benchmark")
    conda:
        "../envs/automm.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=fit_gpus,
        gres=fit_gres,
        # a job killed for its memory or time limit is retried (--retries) with more of both
        mem_mb=lambda wc, attempt: config["train"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["train"]["runtime"] * attempt,
    params:
        train=result_settings("train"),
        seed=config["seed"],
        embedding=config.get("embeddings", {}).get("method"),
        # written beside the model (matfuse_model.json), for `matfuse predict`
        featurisation=featurisation,
    script:
        "../workflow/scripts/fit_model.py"


rule fit_baseline:
    """Mean, median or composition-only gradient boosting, fitted on a repeat's train split."""
    input:
        dataset="results/dataset/aligned.parquet",
        split="results/data/split.csv",
    output:
        predictions=fit_path("predictions", "baseline_{baseline}"),
        status=fit_path("status", "baseline_{baseline}"),
    log:
        fit_path("log", "baseline_{baseline}"),
    conda:
        "../envs/data.yaml"
    params:
        seed=config["seed"],
    script:
        "../workflow/scripts/fit_baseline.py"
