import pandas as pd

from matfuse.figures import draw_figure
from matfuse.logs import log_to

with log_to(snakemake.log[0]):
    draw_figure(
        pd.read_csv(snakemake.input[0]),
        figure=snakemake.wildcards.figure,
        targets=snakemake.params.targets,
        confidence=snakemake.params.confidence,
        path=snakemake.output[0],
    )
