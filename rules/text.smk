rule text_modality:
    """Composition as text, e.g. `Ac Hg 2 Cd 2`."""
    input:
        "results/data/materials.parquet",
    output:
        "results/modalities/text.parquet",
    log:
        "logs/modalities/text.log",
    benchmark:
        "results/benchmarks/text_modality.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/text_modality.py"
