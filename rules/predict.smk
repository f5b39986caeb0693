rule predict_structures:
    """A trained model's predictions for new structures, with the study's features
    (`matfuse predict`); a structure that fails is listed with its reason."""
    input:
        unpack(predict_inputs),
    output:
        "results/predict/predictions.csv",
    log:
        "logs/predict/predict_structures.log",
    conda:
        "../envs/predict.yaml"
    threads: config["train"]["threads"]
    params:
        # the table's columns as the table source reads them
        table={
            key: config["data"]["table"][key]
            for key in ("id_column", "structure_column", "encoding")
        },
        from_table=bool(config.get("predict", {}).get("table")),
    script:
        "../workflow/scripts/predict_structures.py"
