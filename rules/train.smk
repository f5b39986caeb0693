localrules:
    resolve_backbone,


rule resolve_backbone:
    """A hub checkpoint when the network allows, else a local one; training never downloads."""
    output:
        directory("resources/backbones/{modality}"),
    params:
        spec=lambda wc: config["backbones"][wc.modality],
    wildcard_constraints:
        modality="text|image",
    log:
        "logs/backbones/{modality}.log",
    script:
        "../workflow/scripts/resolve_backbone.py"


rule fit_model:
    """One AutoGluon MultiModalPredictor per combination x target; a failed fit is recorded."""
    input:
        dataset="results/dataset/aligned.parquet",
        backbones=lambda wc: backbones_for(wc.combo),
    output:
        model=directory("results/models/{combo}/{target}"),
        predictions="results/predictions/{combo}/{target}.parquet",
        status="results/predictions/{combo}/{target}.json",
    params:
        train=config["train"],
        seed=config["seed"],
        embedding=config.get("embeddings", {}).get("method"),
    threads: config["train"]["threads"]
    resources:
        gpu=config["train"]["gpus"],
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    log:
        "logs/train/{combo}/{target}.log",
    benchmark:
        "benchmarks/train/{combo}/{target}.tsv"
    script:
        "../workflow/scripts/fit_model.py"
