rule evaluate_models:
    """Metrics of every model and baseline over the repeats, paired comparison with the best;
    the configuration it ran with is stored beside them."""
    input:
        predictions=model_outputs("predictions"),
        status=model_outputs("status"),
    output:
        metrics=report(
            "results/metrics/metrics.csv",
            caption="../workflow/report/metrics.rst",
            category="Metrics",
        ),
        run_config=RUN_CONFIG,
    log:
        "logs/evaluate/evaluate_models.log",
    benchmark:
        "results/benchmarks/evaluate_models.tsv"
    conda:
        "../envs/report.yaml"
    params:
        targets=config["targets"],
        evaluate=result_settings(
            "evaluate", keys=["bootstrap", "confidence", "max_failed_fraction"]
        ),
        seed=config["seed"],
        run_config=result_config(),
        source_files=source_files(),
    script:
        "../workflow/scripts/evaluate_models.py"


rule metric_table:
    """One metric in the paper's layout: rows = combinations, columns = targets, best marked."""
    input:
        "results/metrics/metrics.csv",
    output:
        csv=report(
            "results/tables/{table}.csv",
            caption="../workflow/report/table.rst",
            category="Tables",
            labels={"metric": "{table}"},
        ),
        md="results/tables/{table}.md",
    log:
        "logs/evaluate/table_{table}.log",
    wildcard_constraints:
        table="|".join(METRIC_TABLES),
    conda:
        "../envs/report.yaml"
    params:
        targets=config["targets"],
        confidence=config["evaluate"]["confidence"],
    script:
        "../workflow/scripts/metric_table.py"


rule metric_figure:
    """Bars of MAE/RMSE and of the scaled metrics with CIs, heat maps of the scaled metrics."""
    input:
        "results/metrics/metrics.csv",
    output:
        report(
            "results/figures/{figure}.png",
            caption="../workflow/report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "logs/evaluate/figure_{figure}.log",
    wildcard_constraints:
        figure="|".join(FIGURES),
    conda:
        "../envs/report.yaml"
    params:
        targets=config["targets"],
        confidence=config["evaluate"]["confidence"],
    script:
        "../workflow/scripts/metric_figure.py"


rule compare_with_paper:
    """Our metric beside the paper's published value, and whether its ordering is reproduced
    (Alexandria data only: all_results leaves it out for the table source)."""
    input:
        metrics="results/metrics/metrics.csv",
        paper="config/reference/paper_{table}.csv",
        run_config=RUN_CONFIG,
    output:
        report(
            "results/tables/paper_{table}.md",
            caption="../workflow/report/paper.rst",
            category="Tables",
            labels={"metric": "paper_{table}"},
        ),
    log:
        "logs/evaluate/paper_{table}.log",
    wildcard_constraints:
        table="|".join(METRIC_TABLES),
    conda:
        "../envs/report.yaml"
    params:
        targets=config["targets"],
        confidence=config["evaluate"]["confidence"],
    script:
        "../workflow/scripts/compare_with_paper.py"
