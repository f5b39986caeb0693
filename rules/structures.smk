rule write_cifs:
    """One CIF per material (pymatgen), each checked to load back as a JARVIS Atoms."""
    input:
        "results/data/materials.parquet",
    output:
        "results/structures/cifs.parquet",
    params:
        cif_dir="results/structures/cif",
    log:
        "logs/structures/write_cifs.log",
    benchmark:
        "benchmarks/write_cifs.tsv"
    script:
        "../workflow/scripts/write_cifs.py"
