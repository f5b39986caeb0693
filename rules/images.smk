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
    resources:
        # a browser with its page server and scene workers; 12 s an image is ~20 times the
        # measured wall time (benchmarks/render_benchmark.py), so a slow node still finishes
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: math.ceil(
            10 + config["images"]["shard_size"] * 12 / 60
        )
        * attempt,
    params:
        shards=render_shards(),
        images=result_settings("images"),
        png_dir=lambda wildcards, output: os.path.join(
            os.path.dirname(output[0]), "png"
        ),
    script:
        "../workflow/scripts/render_images.py"


checkpoint join_image_shards:
    """The image modality table: one row per material, PNG path or the reason for none."""
    input:
        expand(
            "results/modalities/images/shard_{shard}.parquet",
            shard=range(render_shards()),
        ),
    output:
        "results/modalities/image.parquet",
    log:
        "logs/modalities/image.log",
    conda:
        "../envs/render.yaml"
    script:
        "../workflow/scripts/join_image_shards.py"


rule render_image:
    """One material's PNG again, when it is missing (the shard jobs render them in batches)."""
    input:
        # ancient: the batch-made PNG stands unless it is gone
        cifs=ancient("results/structures/cifs.parquet"),
        images=ancient("results/modalities/image.parquet"),
    output:
        PNG_PATTERN,
    log:
        "logs/modalities/images/png/{mat_id}.log",
    conda:
        "../envs/render.yaml"
    threads: 1
    params:
        images=result_settings("images"),
    script:
        "../workflow/scripts/render_image.py"
