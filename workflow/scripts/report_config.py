import shutil

import pandas as pd

from matfuse.logs import log_to
from matfuse.report import read_config, write_run_description

with log_to(snakemake.log[0]):
    # the snapshot the evaluation stored: the run that made the results, not today's config
    shutil.copyfile(snakemake.input.run_config, snakemake.output.config)
    write_run_description(
        read_config(snakemake.input.run_config),
        pd.read_csv(snakemake.input.metrics),
        snakemake.output.run,
    )
