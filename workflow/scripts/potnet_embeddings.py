import pandas as pd

from matfuse.logs import log_to
from matfuse.potnet import EmbeddingSettings, potnet_embeddings

with log_to(snakemake.log[0]):
    method = snakemake.wildcards.method
    trained = method == "trained"
    table = potnet_embeddings(
        pd.read_parquet(snakemake.input.cifs),
        method,
        EmbeddingSettings.from_config(snakemake.params.embeddings),
        seed=snakemake.params.seed,
        split=pd.read_csv(snakemake.input.split, dtype={"mat_id": str}) if trained else None,
        targets=pd.read_parquet(snakemake.input.targets) if trained else None,
        threads=snakemake.threads,
    )
    table.to_parquet(snakemake.output[0], index=False)
