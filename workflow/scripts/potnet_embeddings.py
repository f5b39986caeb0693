import pandas as pd

from matfuse.logs import log_to
from matfuse.potnet import EmbeddingSettings, potnet_embeddings
from matfuse.split import read_split

with log_to(snakemake.log[0]):
    method = snakemake.wildcards.method
    trained = method == "trained"
    table = potnet_embeddings(
        pd.read_parquet(snakemake.input.cifs),
        method,
        EmbeddingSettings.from_config(snakemake.params.embeddings),
        seed=snakemake.params.seed,
        # repeat 0's split (the workflow allows `trained` with one repeat only)
        split=read_split(snakemake.input.split, repeat=0) if trained else None,
        targets=pd.read_parquet(snakemake.input.targets) if trained else None,
        threads=snakemake.threads,
        save_weights=snakemake.output.weights if trained else None,
    )
    table.to_parquet(snakemake.output[0], index=False)
