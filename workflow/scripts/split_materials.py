import pandas as pd

from matfuse.logs import log_to
from matfuse.split import make_split

with log_to(snakemake.log[0]):
    ids = pd.read_parquet(snakemake.input[0], columns=["mat_id"])["mat_id"]
    split = make_split(
        ids, snakemake.params.test_fraction, snakemake.params.seed, snakemake.params.repeats
    )
    split.to_csv(snakemake.output[0], index=False)
