from matfuse.baselines import fit_baseline
from matfuse.logs import log_to

with log_to(snakemake.log[0]):
    fit_baseline(
        dataset=snakemake.input.dataset,
        split=snakemake.input.split,
        repeat=snakemake.wildcards.repeat,
        name=snakemake.wildcards.baseline,
        target=snakemake.wildcards.target,
        seed=snakemake.params.seed,
        predictions=snakemake.output.predictions,
        status=snakemake.output.status,
    )
