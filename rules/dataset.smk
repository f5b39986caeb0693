checkpoint align_dataset:
    """One row per material with every enabled modality; materials missing one are listed."""
    input:
        materials="results/data/materials.parquet",
        targets="results/data/targets.parquet",
        split="results/data/split.csv",
        cifs="results/structures/cifs.parquet",
        modalities=[modality_table(m) for m in enabled_modalities()],
    output:
        aligned="results/dataset/aligned.parquet",
        excluded="results/dataset/excluded.csv",
    log:
        "logs/dataset/align_dataset.log",
    benchmark:
        "results/benchmarks/align_dataset.tsv"
    conda:
        "../envs/data.yaml"
    params:
        modalities=enabled_modalities(),
        min_materials=config["data"]["min_materials"],
    script:
        "../workflow/scripts/align_dataset.py"
