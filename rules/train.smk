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
    script:
        "../workflow/scripts/resolve_backbone.py"


rule fit_model:
    """One AutoGluon MultiModalPredictor per combination x target x repeat (its split)."""
    input:
        dataset="results/dataset/aligned.parquet",
        split="results/data/split.csv",
        backbones=lambda wc: backbones_for(wc.combo),
    output:
        model=directory("results/models/{combo}/{target}/repeat_{repeat}"),
        predictions=prediction_path("{combo}", "{target}", "{repeat}", "parquet"),
        status=prediction_path("{combo}", "{target}", "{repeat}", "json"),
    log:
        "logs/train/{combo}/{target}/repeat_{repeat}.log",
    benchmark:
        "results/benchmarks/train/{combo}/{target}/repeat_{repeat}.tsv"
    conda:
        "../envs/automm.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=config["train"]["gpus"],
        # a job killed for its memory or time limit is retried (--retries) with more of both
        mem_mb=lambda wc, attempt: config["train"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["train"]["runtime"] * attempt,
    params:
        train=config["train"],
        seed=config["seed"],
        embedding=config.get("embeddings", {}).get("method"),
    script:
        "../workflow/scripts/fit_model.py"


rule fit_baseline:
    """Mean, median or composition-only gradient boosting, fitted on a repeat's train split."""
    input:
        dataset="results/dataset/aligned.parquet",
        split="results/data/split.csv",
    output:
        predictions=prediction_path(
            "baseline_{baseline}", "{target}", "{repeat}", "parquet"
        ),
        status=prediction_path("baseline_{baseline}", "{target}", "{repeat}", "json"),
    log:
        "logs/train/baseline_{baseline}/{target}/repeat_{repeat}.log",
    conda:
        "../envs/data.yaml"
    params:
        seed=config["seed"],
    script:
        "../workflow/scripts/fit_baseline.py"
