from matfuse.logs import log_to
from matfuse.materials import sample_materials

with log_to(snakemake.log[0]):
    materials, targets, rejected = sample_materials(
        list(snakemake.input),
        snakemake.params.data,
        snakemake.params.targets,
        snakemake.params.seed,
        processes=snakemake.threads,
    )
    materials.to_parquet(snakemake.output.materials, index=False)
    targets.to_parquet(snakemake.output.targets, index=False)
    rejected.to_csv(snakemake.output.rejected, index=False)
