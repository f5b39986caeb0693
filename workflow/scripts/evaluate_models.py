from matfuse.evaluate import collect_metrics
from matfuse.logs import log_to
from matfuse.report import write_config

with log_to(snakemake.log[0]):
    metrics = collect_metrics(
        predictions=list(snakemake.input.predictions),
        statuses=list(snakemake.input.status),
        n_bootstrap=snakemake.params.evaluate["bootstrap"],
        confidence=snakemake.params.evaluate["confidence"],
        seed=snakemake.params.seed,
        max_failed_fraction=snakemake.params.evaluate["max_failed_fraction"],
    )
    metrics.to_csv(snakemake.output.metrics, index=False)
    write_config(snakemake.params.run_config, snakemake.output.run_config, snakemake.params.source_files)
