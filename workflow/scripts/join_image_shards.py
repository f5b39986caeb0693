import pandas as pd

from matfuse.logs import log_to
from matfuse.render.modality import join_shards

with log_to(snakemake.log[0]) as log:
    table = join_shards([pd.read_parquet(path) for path in snakemake.input])
    log.info("%d materials, %d with an image", len(table), table["ok"].sum())
    table.to_parquet(snakemake.output[0], index=False)
