import pandas as pd

from matfuse.logs import log_to
from matfuse.structures import write_cifs

with log_to(snakemake.log[0]):
    materials = pd.read_parquet(snakemake.input[0])
    manifest = write_cifs(materials, snakemake.output.cifs)
    manifest.to_parquet(snakemake.output.manifest, index=False)
