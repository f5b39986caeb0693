import pandas as pd

from matfuse.logs import log_to
from matfuse.report import paper_differences, read_config
from matfuse.tables import write_paper_comparison

with log_to(snakemake.log[0]):
    write_paper_comparison(
        pd.read_csv(snakemake.input.metrics),
        metric=snakemake.wildcards.table,
        targets=snakemake.params.targets,
        paper_csv=snakemake.input.paper,
        md_path=snakemake.output[0],
        confidence=snakemake.params.confidence,
        differences=paper_differences(read_config(snakemake.input.run_config)),
    )
