rule write_cifs:
    """One CIF per material (pymatgen), each checked to load back as a JARVIS Atoms."""
    input:
        "results/data/materials.parquet",
    output:
        "results/structures/cifs.parquet",
    log:
        "logs/structures/write_cifs.log",
    benchmark:
        "results/benchmarks/write_cifs.tsv"
    conda:
        "../envs/data.yaml"
    params:
        cif_dir=lambda wildcards, output: os.path.join(
            os.path.dirname(output[0]), "cif"
        ),
    script:
        "../workflow/scripts/write_cifs.py"
