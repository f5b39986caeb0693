localrules:
    download_alexandria,


rule download_alexandria:
    """One official Alexandria 3D PBE file, downloaded once and verified (login node on a cluster)."""
    output:
        "resources/alexandria/{filename}",
    log:
        "logs/data/download_{filename}.log",
    wildcard_constraints:
        filename=r"[\w.-]+\.json\.bz2",
    conda:
        "../envs/data.yaml"
    params:
        url=lambda wc: f"{config['data']['alexandria']['base_url']}/{wc.filename}",
        sha256=lambda wc: config["data"]["alexandria"]["sha256"].get(wc.filename),
    script:
        "../workflow/scripts/download_alexandria.py"


rule sample_materials:
    """Seeded uniform sample over all source files, validated; rejected entries keep their reason."""
    input:
        source_files(),
    output:
        materials="results/data/materials.parquet",
        targets="results/data/targets.parquet",
        rejected="results/data/rejected.csv",
    log:
        "logs/data/sample_materials.log",
    benchmark:
        "results/benchmarks/sample_materials.tsv"
    conda:
        "../envs/data.yaml"
    # one process per file at most: a table source or a single local file asks for one core
    threads: min(config["data"]["threads"], max(1, len(source_files())))
    params:
        data=result_settings("data"),
        targets=config["targets"],
        seed=config["seed"],
    script:
        "../workflow/scripts/sample_materials.py"


rule split_materials:
    """The seeded train/test splits (one per evaluation repeat) every model and baseline uses."""
    input:
        "results/data/materials.parquet",
    output:
        "results/data/split.csv",
    log:
        "logs/data/split_materials.log",
    conda:
        "../envs/data.yaml"
    params:
        test_fraction=config["split"]["test_fraction"],
        seed=config["seed"],
        repeats=config["evaluate"]["repeats"],
    script:
        "../workflow/scripts/split_materials.py"
