from matfuse.logs import log_to
from matfuse.train import fit_model

with log_to(snakemake.log[0]):
    fit_model(
        dataset=snakemake.input.dataset,
        split=snakemake.input.split,
        repeat=int(snakemake.wildcards.repeat),
        combo=snakemake.wildcards.combo,
        target=snakemake.wildcards.target,
        backbone_dirs=list(snakemake.input.backbones),
        # GPUs count as a resource (not a param), so changing them reruns no fit
        settings={**snakemake.params.train, "gpus": snakemake.resources.gpu},
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        model_dir=snakemake.output.model,
        predictions=snakemake.output.predictions,
        status=snakemake.output.status,
        embedding=snakemake.params.embedding,
        featurisation=snakemake.params.featurisation,
        embedding_weights=snakemake.input.embedding_weights or None,
    )
