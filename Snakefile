# matfuse: multimodal prediction of crystal properties (see README.md).
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "rules/common.smk"


if problem := startup_problem():
    raise WorkflowError(problem)


include: "rules/data.smk"
include: "rules/structures.smk"
include: "rules/text.smk"
include: "rules/images.smk"
include: "rules/embeddings.smk"
include: "rules/dataset.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/predict.smk"


rule all:
    default_target: True
    input:
        all_results(),
        REPORT_OUTPUTS,
        all_pngs,
