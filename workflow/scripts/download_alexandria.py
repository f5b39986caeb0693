from matfuse.logs import log_to
from matfuse.sources.alexandria import download

with log_to(snakemake.log[0]):
    download(snakemake.params.url, snakemake.output[0], sha256=snakemake.params.sha256)
