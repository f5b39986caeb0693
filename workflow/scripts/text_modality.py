import pandas as pd

from matfuse.logs import log_to
from matfuse.text import text_table

with log_to(snakemake.log[0]):
    materials = pd.read_parquet(snakemake.input[0])
    text_table(materials).to_parquet(snakemake.output[0], index=False)
