rule potnet_embeddings:
    """The structure modality: a 128-d embedding per material (PotNet random/trained, or CHGNet)
    or named descriptors, and what made it (weights and norm statistics; the descriptor columns),
    to embed new structures alike.
    """
    input:
        unpack(potnet_inputs),
    output:
        table="results/modalities/potnet_{method}.parquet",
        state="results/modalities/potnet_{method}.pt",
    log:
        "logs/modalities/potnet_{method}.log",
    benchmark:
        "results/benchmarks/potnet_embeddings_{method}.tsv"
    wildcard_constraints:
        method="random|trained|chgnet|descriptors",
    conda:
        "../envs/potnet.yaml"
    threads: config["embeddings"]["threads"]
    resources:
        mem_mb=config["embeddings"]["mem_mb"],
        runtime=per_thousand_materials(config["embeddings"]["runtime"]),
    params:
        embeddings=lambda wc: embedding_settings(wc.method),
        seed=config["seed"],
    script:
        "../workflow/scripts/potnet_embeddings.py"
