from matfuse.logs import log_to
from matfuse.report import write_config

with log_to(snakemake.log[0]):
    write_config(snakemake.params.config, snakemake.output[0], snakemake.params.source_files)
