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
    """The configuration the results were made with (stored by the evaluation), and what the
    run was: the paper's study, or how it differs from it."""
    input:
        run_config=RUN_CONFIG,
        metrics="results/metrics/metrics.csv",
    output:
        config=report(
            "results/report/config.yaml",
            caption="../workflow/report/config.rst",
            category="Configuration",
        ),
        run=report(
            "results/report/run.html",
            caption="../workflow/report/run.rst",
            category="Run",
        ),
    log:
        "logs/report/report_config.log",
    conda:
        "../envs/report.yaml"
    script:
        "../workflow/scripts/report_config.py"
