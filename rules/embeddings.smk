rule potnet_embeddings:
    """The structure modality: a 128-d embedding per material (PotNet random/trained, or CHGNet)."""
    input:
        unpack(potnet_inputs),
    output:
        "results/modalities/potnet_{method}.parquet",
    log:
        "logs/modalities/potnet_{method}.log",
    benchmark:
        "results/benchmarks/potnet_embeddings_{method}.tsv"
    wildcard_constraints:
        method="random|chgnet",
    conda:
        "../envs/potnet.yaml"
    threads: config["embeddings"]["threads"]
    resources:
        mem_mb=config["embeddings"]["mem_mb"],
        runtime=config["embeddings"]["runtime"],
    params:
        embeddings=result_settings("embeddings"),
        seed=config["seed"],
    script:
        "../workflow/scripts/potnet_embeddings.py"


use rule potnet_embeddings as potnet_trained_embeddings with:
    output:
        table="results/modalities/potnet_{method}.parquet",
        # the fitted PotNet, which `matfuse predict` embeds new structures with
        weights="results/modalities/potnet_{method}.pt",
    wildcard_constraints:
        method="trained",
