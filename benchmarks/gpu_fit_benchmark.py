"""How long one AutoGluon fit takes at the study's settings, through matfuse.train.fit_model.

Answers: does "49 models of 1,000 materials in about an hour on one GPU" hold, and does a fit
stop on `train.max_epochs` or on `train.time_limit`? Two steps:

  prepare  (with the repo's venv): a TIMING-ONLY table, the real aligned rows replicated to
           `--rows` with distinct mat_ids (`<mat_id>-r<k>`) and the project's seeded split
           (matfuse.split.make_split) redrawn over them, its PNGs and the text tokenizer's
           vocabulary, all in one payload folder that can travel to another machine.
           Replicated rows make the metrics meaningless; only the timings are read.
  fit      (CPU or GPU): writes both backbones with RANDOM weights (text: the ELECTRA-base
           architecture of `backbones.text.hub`; image: `backbones.image.hub` through
           matfuse.backbones' own `random_init` fallback), then calls fit_model per combination
           exactly as workflow/scripts/fit_model.py does, with config `train` settings.
           Timing does not depend on the weights' values. Prints, per combination: device, fit
           seconds, epoch and optimiser step of the last validation, why training stopped
           (max_epochs, time_limit, early_stopping: fit_model's status), peak GPU memory;
           the same rows go to a CSV, rewritten after each fit.

    PYTHONPATH=src python benchmarks/gpu_fit_benchmark.py prepare \
        --aligned results/dataset/aligned.parquet --out .gpu/data --rows 1000
    PYTHONPATH=src python benchmarks/gpu_fit_benchmark.py fit --payload .gpu/data \
        --work /tmp/fitbench --combos text,image,tabular+image+text --target e_form --threads 16
    # a quick CPU run: --rows 30 --max-epochs 1 --gpus 0
"""

import argparse
import json
import logging
import math
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from matfuse.backbones import METADATA, resolve_backbone
from matfuse.split import make_split
from matfuse.train import fit_model

REPO = Path(__file__).resolve().parents[1]
TABLE = "aligned_timing.parquet"
VOCAB = "vocab.txt"
# google/electra-base-discriminator's architecture (its config.json on the hub).
ELECTRA_BASE = dict(
    vocab_size=30522,
    embedding_size=768,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    max_position_embeddings=512,
)


def prepare(aligned, out, rows, seed, test_fraction, vocab):
    """Write the payload folder: replicated table (image paths relative to it), PNGs, vocab."""
    table = pd.read_parquet(aligned).sort_values("mat_id").reset_index(drop=True)
    out = Path(out)
    (out / "png").mkdir(parents=True, exist_ok=True)
    for path in table["image"]:
        shutil.copy2(path, out / "png" / Path(path).name)
    table["image"] = [f"png/{Path(p).name}" for p in table["image"]]
    copies = math.ceil(rows / len(table))
    timing = pd.concat(
        [table.assign(mat_id=table["mat_id"] + f"-r{k}") for k in range(copies)], ignore_index=True
    ).head(rows)
    split = make_split(timing["mat_id"], test_fraction, seed).set_index("mat_id")["split"]
    timing["split"] = timing["mat_id"].map(split)
    timing.to_parquet(out / TABLE, index=False)
    shutil.copy2(vocab, out / VOCAB)
    print(f"{out / TABLE}: {len(timing)} rows from {len(table)} real ones, {timing['split'].value_counts().to_dict()}")


def text_backbone(hub_name, vocab, out, seed):
    """ELECTRA-base with random weights and the BERT uncased vocabulary ELECTRA uses."""
    import torch
    from transformers import ElectraConfig, ElectraModel, ElectraTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    ElectraModel(ElectraConfig(**ELECTRA_BASE)).save_pretrained(out)
    ElectraTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(out)
    meta = {"name": hub_name, "source": "random_init", "pretrained": False, "modality": "text"}
    (out / METADATA).write_text(json.dumps(meta, indent=2))


def print_environment():
    """The versions this timing belongs to, and the GPU torch sees."""
    import importlib.metadata as metadata

    import torch

    names = ("autogluon.multimodal", "torch", "lightning", "transformers", "timm", "pandas", "numpy", "torchmetrics")
    print("versions:", {name: metadata.version(name) for name in names})
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        print(f"cuda {torch.version.cuda}: {torch.cuda.device_count()} x {props.name}, {props.total_memory / 2**30:.0f} GiB, "
              f"{props.multi_processor_count} SMs, bf16 {torch.cuda.is_bf16_supported()}")
    else:
        print("cuda: not available, fits run on CPU")


def gpu_peak_gib(reset=False):
    import torch

    if not torch.cuda.is_available():
        return None
    if reset:
        torch.cuda.reset_peak_memory_stats()
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 2)


def fit(args):
    """Backbones, then one fit_model call per combination; a row per fit, CSV rewritten after each."""
    start = time.perf_counter()
    print_environment()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the image backbone takes its random_init fallback
    config = yaml.safe_load(Path(args.config).read_text())
    settings = dict(config["train"])
    for key in ("max_epochs", "time_limit", "gpus", "presets"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    work = Path(args.work)
    payload = Path(args.payload).resolve()
    table = pd.read_parquet(payload / TABLE)
    if args.rows:
        table = table.sample(n=args.rows, random_state=config["seed"]).sort_values("mat_id")
    table["image"] = [str(payload / p) for p in table["image"]]
    work.mkdir(parents=True, exist_ok=True)
    dataset = work / TABLE
    table.to_parquet(dataset, index=False)

    t0 = time.perf_counter()
    backbones = {"text": work / "backbones" / "text", "image": work / "backbones" / "image"}
    text_backbone(config["backbones"]["text"]["hub"], payload / VOCAB, backbones["text"], config["seed"])
    resolve_backbone(
        "image", {"hub": config["backbones"]["image"]["hub"], "fallback": "random_init"}, backbones["image"], config["seed"]
    )
    print(f"backbones written in {time.perf_counter() - t0:.1f} s; settings {settings}, threads {args.threads}")

    rows = []
    for combo in args.combos.split(","):
        left = args.deadline - (time.perf_counter() - start)
        if left < args.min_seconds_left:
            print(f"SKIPPED {combo}: {left:.0f} s left before the deadline")
            continue
        out = work / "models" / combo / args.target
        shutil.rmtree(out, ignore_errors=True)
        gpu_peak_gib(reset=True)
        wall = time.perf_counter()
        record = fit_model(
            dataset=dataset,
            combo=combo,
            target=args.target,
            backbone_dirs=[backbones[m] for m in combo.split("+") if m in backbones],
            settings=settings,
            seed=config["seed"],
            threads=args.threads,
            model_dir=out,
            predictions=work / f"{combo}.parquet",
            status=work / f"{combo}.json",
            embedding=config["embeddings"]["method"],
        )
        rows.append(
            {
                "combo": combo,
                "device": record["device"],
                "ok": record["ok"],
                "fit_seconds": record["fit_seconds"],
                "call_seconds": round(time.perf_counter() - wall, 1),
                **{key: record[key] for key in ("epochs_completed", "best_epoch", "global_step", "stopped_by")},
                "max_epochs": settings["max_epochs"],
                "time_limit": settings["time_limit"],
                "peak_gpu_gib": gpu_peak_gib(),
                "n_train": record["n_train"],
                "n_test": record["n_test"],
                "reason": record["reason"],
            }
        )
        print("RESULT", json.dumps(rows[-1]), flush=True)
        pd.DataFrame(rows).to_csv(args.csv, index=False)
        shutil.rmtree(out, ignore_errors=True)  # checkpoints of ~1 GB each: keep the disk free
    print(pd.DataFrame(rows).drop(columns="reason").to_string(index=False))
    print(f"total {time.perf_counter() - start:.0f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    prep = steps.add_parser("prepare")
    prep.add_argument("--aligned", required=True)
    prep.add_argument("--out", required=True)
    prep.add_argument("--rows", type=int, default=1000)
    prep.add_argument("--config", default=REPO / "config" / "config.yaml")
    prep.add_argument("--vocab", required=True, help="BERT uncased vocab.txt (ELECTRA's)")
    run = steps.add_parser("fit")
    run.add_argument("--payload", required=True)
    run.add_argument("--work", required=True)
    run.add_argument("--csv", required=True)
    run.add_argument("--config", default=REPO / "config" / "config.yaml")
    run.add_argument("--combos", default="text,image,tabular+image+text,image+text,tabular")
    run.add_argument("--target", default="e_form")
    run.add_argument("--threads", type=int, default=os.cpu_count())
    run.add_argument("--rows", type=int, help="a seeded sample of the table (quick runs)")
    run.add_argument("--max-epochs", type=int)
    run.add_argument("--time-limit", type=int)
    run.add_argument("--gpus", type=int)
    run.add_argument("--presets")
    run.add_argument("--deadline", type=float, default=math.inf, help="seconds; later combos are skipped")
    run.add_argument("--min-seconds-left", type=float, default=0, help="skip a combo with less left")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.step == "prepare":
        config = yaml.safe_load(Path(args.config).read_text())
        prepare(args.aligned, args.out, args.rows, config["seed"], config["split"]["test_fraction"], args.vocab)
    else:
        fit(args)


if __name__ == "__main__":
    main()
