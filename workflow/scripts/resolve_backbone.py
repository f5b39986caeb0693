import logging

from matfuse.backbones import resolve_backbone
from matfuse.logs import log_to

# Warnings (random image weights, hub unreachable) on the console as well as in the log.
with log_to(snakemake.log[0], console_level=logging.WARNING):
    resolve_backbone(
        snakemake.wildcards.modality, snakemake.params.spec, snakemake.output[0], seed=snakemake.params.seed
    )
