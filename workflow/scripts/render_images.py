import pandas as pd

from matfuse.logs import log_to
from matfuse.render import RenderSettings
from matfuse.render.modality import image_table, shard_rows

with log_to(snakemake.log[0]) as log:
    manifest = pd.read_parquet(snakemake.input[0])
    shard = shard_rows(manifest, int(snakemake.wildcards.shard), snakemake.params.shards)
    settings = RenderSettings.from_config(snakemake.params.images, threads=snakemake.threads)
    table = image_table(shard, snakemake.params.png_dir, settings, log)
    table.to_parquet(snakemake.output[0], index=False)
