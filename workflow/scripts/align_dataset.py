from matfuse.dataset import align_dataset
from matfuse.logs import log_to

with log_to(snakemake.log[0]):
    aligned, excluded = align_dataset(
        materials=snakemake.input.materials,
        targets=snakemake.input.targets,
        split=snakemake.input.split,
        cifs=snakemake.input.cifs,
        modality_tables=dict(zip(snakemake.params.modalities, snakemake.input.modalities)),
        min_materials=snakemake.params.min_materials,
    )
    aligned.to_parquet(snakemake.output.aligned, index=False)
    excluded.to_csv(snakemake.output.excluded, index=False)
