import pandas as pd

from matfuse.logs import log_to
from matfuse.tables import write_metric_table

with log_to(snakemake.log[0]):
    write_metric_table(
        pd.read_csv(snakemake.input[0]),
        metric=snakemake.wildcards.table,
        targets=snakemake.params.targets,
        confidence=snakemake.params.confidence,
        csv_path=snakemake.output.csv,
        md_path=snakemake.output.md,
    )
