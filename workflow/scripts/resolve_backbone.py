from matfuse.backbones import resolve_backbone
from matfuse.logs import log_to

with log_to(snakemake.log[0]):
    resolve_backbone(
        snakemake.wildcards.modality, snakemake.params.spec, snakemake.output[0], seed=snakemake.params.seed
    )
