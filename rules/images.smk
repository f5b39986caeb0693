wildcard_constraints:
    shard=r"\d+",


rule render_images:
    """Crystal Toolkit renders of one shard of the structures, in one browser session."""
    input:
        "results/structures/cifs.parquet",
    output:
        "results/modalities/images/shard_{shard}.parquet",
    log:
        "logs/modalities/images/shard_{shard}.log",
    benchmark:
        "results/benchmarks/render_images/shard_{shard}.tsv"
    conda:
        "../envs/render.yaml"
    threads: config["images"]["pages"]
    params:
        shards=config["images"]["shards"],
        images=config["images"],
        png_dir=lambda wildcards, output: os.path.join(
            os.path.dirname(output[0]), "png"
        ),
    script:
        "../workflow/scripts/render_images.py"


rule join_image_shards:
    """The image modality table: one row per material, PNG path or the reason for none."""
    input:
        expand(
            "results/modalities/images/shard_{shard}.parquet",
            shard=range(config["images"]["shards"]),
        ),
    output:
        "results/modalities/image.parquet",
    log:
        "logs/modalities/image.log",
    conda:
        "../envs/render.yaml"
    script:
        "../workflow/scripts/join_image_shards.py"
