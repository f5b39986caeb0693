import pandas as pd

from matfuse.logs import log_to
from matfuse.structures import write_cifs

with log_to(snakemake.log[0]):
    materials = pd.read_parquet(snakemake.input[0])
    write_cifs(materials, snakemake.params.cif_dir).to_parquet(snakemake.output[0], index=False)
