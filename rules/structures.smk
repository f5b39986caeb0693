rule write_cifs:
    """One CIF per material (pymatgen), each checked to load back as a JARVIS Atoms."""
    input:
        "results/data/materials.parquet",
    output:
        manifest="results/structures/cifs.parquet",
        cifs=directory(CIF_DIR),
    log:
        "logs/structures/write_cifs.log",
    benchmark:
        "results/benchmarks/write_cifs.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/write_cifs.py"
