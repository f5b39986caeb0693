# Run locally, concurrent fits all train on the first GPUs CUDA shows. A fit uses a fraction of
# a large GPU (2-11 GiB of 80-140), so up to `train.fits_per_gpu` of them share it; `--resources
# gpu=N` (N fits' worth of GPUs) overrides that. Cluster fits ask for GPUs as GRES instead
# (common.smk: fit_gres) and never count against this budget.
if "gpu" not in workflow.global_resources:
    workflow.global_resources["gpu"] = (
        max(config["train"]["gpus"], 1) * config["train"]["fits_per_gpu"]
    )


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
        runtime=lambda wc, attempt: per_thousand_materials(config["train"]["runtime"])
        * attempt,
    params:
        train=train_settings(),
        seed=config["seed"],
        embedding=lambda wc: combo_method(wc.combo),
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
    benchmark:
        fit_path("benchmark", "baseline_{baseline}")
    conda:
        "../envs/data.yaml"
    params:
        seed=config["seed"],
    script:
        "../workflow/scripts/fit_baseline.py"
