from matfuse.logs import log_to
from matfuse.predict import predict_structures

with log_to(snakemake.log[0]):
    structures = list(snakemake.input.structures)
    predict_structures(
        snakemake.input.model,
        snakemake.output[0],
        cifs=[] if snakemake.params.from_table else structures,
        table=structures[0] if snakemake.params.from_table else None,
        table_settings=snakemake.params.table,
        threads=snakemake.threads,
        # how to run the browser, as the render rules do (the model says what the pictures show)
        images_run=snakemake.config["images"],
    )
