from matfuse.logs import log_to
from matfuse.report import draw_benchmarks, summarize_benchmarks

with log_to(snakemake.log[0]):
    summary = summarize_benchmarks(list(snakemake.input))
    summary.to_csv(snakemake.output.table, index=False)
    draw_benchmarks(summary, snakemake.output.figure)
