import os

import pandas as pd

from matfuse.logs import log_to
from matfuse.render import RenderSettings
from matfuse.render.modality import image_table

with log_to(snakemake.log[0]) as log:
    manifest = pd.read_parquet(snakemake.input.cifs)
    row = manifest[manifest["mat_id"] == snakemake.wildcards.mat_id]
    # the same settings as the shard jobs (see render_images.py)
    images = {**snakemake.config["images"], **snakemake.params.images, "pages": snakemake.threads}
    settings = RenderSettings.from_config(images, threads=snakemake.threads)
    table = image_table(row, os.path.dirname(snakemake.output[0]), settings, log)
    if len(table) != 1 or not table["ok"].all():
        raise RuntimeError(f"{snakemake.wildcards.mat_id}: no image: {table['reason'].tolist()}")
