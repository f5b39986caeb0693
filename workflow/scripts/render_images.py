import pandas as pd

from matfuse.logs import log_to
from matfuse.render import RenderSettings
from matfuse.render.modality import image_table, shard_rows

with log_to(snakemake.log[0]) as log:
    manifest = pd.read_parquet(snakemake.input[0])
    shard = shard_rows(manifest, int(snakemake.wildcards.shard), snakemake.params.shards)
    # params hold what shapes the pictures; how the job runs (pages = its cores, scene workers,
    # time-outs, the browser) comes from config, so changing that reruns nothing
    images = {**snakemake.config["images"], **snakemake.params.images, "pages": snakemake.threads}
    settings = RenderSettings.from_config(images, threads=snakemake.threads)
    table = image_table(shard, snakemake.params.png_dir, settings, log)
    table.to_parquet(snakemake.output[0], index=False)
