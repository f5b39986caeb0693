rule benchmark_summary:
    """Wall time, CPU time and peak memory of every benchmarked job, as a table and a figure."""
    input:
        benchmark_files(),
    output:
        table=report(
            "results/report/benchmarks.csv",
            caption="../workflow/report/benchmarks.rst",
            category="Benchmarks",
            labels={"item": "table"},
        ),
        figure=report(
            "results/report/benchmarks.png",
            caption="../workflow/report/benchmarks.rst",
            category="Benchmarks",
            labels={"item": "figure"},
        ),
    log:
        "logs/report/benchmark_summary.log",
    conda:
        "../envs/report.yaml"
    script:
        "../workflow/scripts/benchmark_summary.py"


rule report_config:
    """The configuration this run used, for the report."""
    output:
        report(
            "results/report/config.yaml",
            caption="../workflow/report/config.rst",
            category="Configuration",
        ),
    log:
        "logs/report/report_config.log",
    conda:
        "../envs/report.yaml"
    params:
        config=result_config(),
        source_files=source_files(),
    script:
        "../workflow/scripts/report_config.py"
