"""`matfuse predict`: a study's model predicts new structures from exactly the study's features.

    matfuse predict --model results/models/text/e_form/repeat_0 --cifs new/*.cif --out pred.csv
    matfuse predict --model DIR --table materials.csv --out pred.csv

The model directory says how its features were built (matfuse_model.json, matfuse.modelspec).
Each structure goes through the study's own steps, not copies of them: validated
(cells.check_structure), written as a CIF that must load back (structures.write_cifs), then only
the modalities the model uses: composition text (text.text_table), a render with the study's
look (render.modality.image_table; a model whose renders were drawn with another look than this
matfuse draws is refused, naming what differs), the structure embedding with its method, seed
and weights (potnet.potnet_embeddings); joined as the study joins them (dataset.join_modalities) and given
to the predictor as the fit gave its test rows (train.feature_frame).

CIF files are used as they are (mat_id: the file name without .cif), as the study renders and
embeds its own CIF files: predicting a study's CIFs gives its test predictions bit for bit
(tests/test_determinism.py). A table of the `table` source's shape is read as that source reads
it, and its CIFs written as the study writes them. The output CSV has one row per structure, in
the order given: `id, prediction, status, reason`; status is ok or failed, and a failed
structure (no prediction) carries the reason, the others are predicted. Predictions are written
in full (read them back with pandas' `float_precision="round_trip"` to get the very bits).
"""

import argparse
import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Structure
from pymatgen.io.cif import CifParser

from matfuse import __version__
from matfuse.cells import check_structure
from matfuse.dataset import is_structure, join_modalities
from matfuse.materials import MATERIAL_COLUMNS, SAFE_ID, material_row
from matfuse.modelspec import read_model_spec
from matfuse.render.look import look
from matfuse.sources import Entry, InvalidEntry
from matfuse.sources.table import TableSource, parse_cif
from matfuse.structures import check_round_trip, load_atoms, write_cifs

log = logging.getLogger(__name__)

# an atom-site type symbol's element (`Fe` of `Fe2+`)
ELEMENT = re.compile(r"[A-Z][a-z]?")
# the `table` source's defaults (config data.table)
TABLE_DEFAULTS = {"id_column": "id", "structure_column": "cif", "encoding": "utf-8"}


def cif_entries(paths):
    """(mat_id, Entry or reason) per CIF file: its name without .cif, its cell exactly as written."""
    for path in map(Path, paths):
        mat_id = path.name.removesuffix(".cif")
        try:
            text = path.read_text()
            structure = in_written_order(parse_cif(text, mat_id, frac_tolerance=0), text)
            yield mat_id, Entry(mat_id, structure, {})
        except InvalidEntry as err:
            yield mat_id, f"[{err.stage}] {err.reason}"
        except (OSError, UnicodeDecodeError) as err:
            yield mat_id, f"[structure] {path}: unreadable ({type(err).__name__}: {err})"


def in_written_order(structure, cif):
    """The structure with its elements in the order they first appear in the CIF's atom-site
    rows (pymatgen's parser regroups sites by symmetry orbit, which may change it).

    The composition text lists elements in site order, and the study's CIFs are written in its
    structures' site order: so this gives the study's text again."""
    block = next(iter(CifParser.from_str(cif).as_dict().values()), {})
    symbols = [ELEMENT.match(str(s)) for s in block.get("_atom_site_type_symbol", [])]
    first = list(dict.fromkeys(m[0] for m in symbols if m))
    rank = {element: i for i, element in enumerate(first)}
    if not all(e.symbol in rank for e in structure.composition.elements):
        return structure
    key = [min(rank[e.symbol] for e in site.species.elements) for site in structure]
    return Structure.from_sites([structure[i] for i in np.argsort(key, kind="stable")])


def given_cifs(materials, paths):
    """The CIF manifest of CIF files given as they are (the study renders and embeds its CIF
    files; rewriting one would round its cell differently): each must load back as the JARVIS
    Atoms PotNet reads, as the study's own CIFs do (structures.write_cifs)."""
    rows = []
    for mat_id, structure in zip(materials["mat_id"], materials["structure"]):
        path = paths[mat_id]
        try:
            check_round_trip(Structure.from_dict(json.loads(structure)), load_atoms(path))
        except Exception as err:
            rows.append((mat_id, False, f"{type(err).__name__}: {err}", str(path)))
        else:
            rows.append((mat_id, True, "", str(path)))
    return pd.DataFrame(rows, columns=["mat_id", "ok", "reason", "cif"])


def table_entries(path, table_settings=None):
    """(mat_id, Entry or reason) per row of a table shaped like the `table` source's."""
    source = TableSource({**TABLE_DEFAULTS, **(table_settings or {})})
    for index, record in enumerate(source.records(path)):
        mat_id = f"entry {index} of {path}"
        try:
            mat_id = source.record_id(record)
            yield mat_id, source.to_entry(record, mat_id)
        except InvalidEntry as err:
            yield mat_id, f"[{err.stage}] {err.reason}"


def materials_of(entries, where):
    """(materials, reasons, order): the usable structures as materials.parquet rows, {mat_id:
    reason} of the others, and every id as given. An id given twice is refused both times."""
    entries = list(entries)
    order = [mat_id for mat_id, _ in entries]
    repeated = {mat_id for mat_id in order if order.count(mat_id) > 1}
    rows, reasons = [], {}
    for mat_id, entry in entries:
        try:
            if mat_id in repeated:
                raise InvalidEntry("duplicate", "this id is given more than once")
            if isinstance(entry, str):
                reasons[mat_id] = entry
                continue
            if not SAFE_ID.fullmatch(mat_id):
                raise InvalidEntry("entry", f"id {mat_id!r} is not usable as a file name")
            check_structure(entry.structure)
            rows.append(material_row(entry, where))
        except InvalidEntry as err:
            reasons[mat_id] = f"[{err.stage}] {err.reason}"
    return pd.DataFrame(rows, columns=MATERIAL_COLUMNS), reasons, order


def check_look(spec):
    """Refuse a model whose pictures were drawn with another look than this matfuse draws: its
    predictions would see other pictures than it was fitted on. A model fitted before models
    recorded their look is predicted with a warning that the look cannot be checked."""
    if "image" not in spec["modalities"]:
        return
    images = spec["images"]
    recorded, current = images.get("look"), look(images["size"], images["camera"])
    if recorded is None:
        log.warning("the model does not record the look of its renders (matfuse %s); drawing "
                    "this matfuse's look without checking it", spec.get("matfuse_version"))
        return
    differ = sorted(key for key in {*recorded, *current} if recorded.get(key) != current.get(key))
    if differ:
        raise ValueError(
            f"the model was fitted on renders drawn with another look than this matfuse "
            f"{__version__} draws; {', '.join(differ)} differ: "
            + "; ".join(f"{key}: model {recorded.get(key)!r}, here {current.get(key)!r}" for key in differ)
            + f". Predict with the matfuse that fitted it ({spec.get('matfuse_version')}) or refit it"
        )


def modality_tables(spec, model_dir, materials, manifest, work_dir, threads, images_run=None):
    """The modality tables of the modalities the model uses, built with its recorded settings."""
    tables = {}
    if "text" in spec["modalities"]:
        from matfuse.text import text_table

        tables["text"] = text_table(materials)
    if "image" in spec["modalities"]:
        from matfuse.render import RenderSettings
        from matfuse.render.modality import image_table

        # how to run the browser from the caller; what shapes the pictures from the model
        images = {**(images_run or {}), **spec["images"]}
        settings = RenderSettings.from_config(images, threads=threads)
        tables["image"] = image_table(manifest, Path(work_dir) / "png", settings, log)
    for structure in filter(is_structure, spec["modalities"]):
        from matfuse.potnet import EmbeddingSettings, embed_structures

        embeddings = spec["embeddings"]
        tables[structure] = embed_structures(
            manifest,
            EmbeddingSettings.from_config(embeddings),
            Path(model_dir) / embeddings["weights"],
            threads=threads,
        )
    return tables


def predict_structures(
    model_dir, out, cifs=(), table=None, table_settings=None, threads=None, work_dir=None, images_run=None
):
    """Predict each structure of `cifs` (paths) or `table` with the model; write `out` (CSV).

    Returns the output table. `images_run`: the browser settings (config `images`, run-only
    keys) when the model renders; `work_dir` keeps the CIFs and PNGs made (else a temporary one).
    """
    # the backbones are inside the model directory: the hub is never asked (as in the fit)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    spec = read_model_spec(model_dir)
    check_look(spec)
    if bool(cifs) == bool(table):
        raise ValueError("give CIF files or a table (one of them)")
    threads = threads or spec["fit_threads"]
    entries = cif_entries(cifs) if cifs else table_entries(table, table_settings)
    materials, reasons, order = materials_of(entries, str(table or "cif files"))
    with tempfile.TemporaryDirectory(prefix="matfuse-predict-") as scratch:
        work_dir = Path(work_dir or scratch)
        if cifs:
            manifest = given_cifs(materials, {Path(p).name.removesuffix(".cif"): p for p in cifs})
        else:  # as the table source's study does
            manifest = write_cifs(materials, work_dir / "cif")
        tables = modality_tables(spec, model_dir, materials, manifest, work_dir, threads, images_run)
        aligned, excluded = join_modalities(materials[["mat_id"]], manifest, tables)
        reasons.update(zip(excluded["mat_id"], excluded["reason"]))
        predicted = _predict(spec, model_dir, aligned)
    result = pd.DataFrame({"id": order})
    result["prediction"] = result["id"].map(predicted)
    result["status"] = ["ok" if i in predicted else "failed" for i in order]
    result["reason"] = ["" if i in predicted else reasons.get(i, "not predicted") for i in order]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out, index=False)
    failed = result[result["status"] == "failed"]
    for row in failed.itertuples():
        log.warning("%s: no prediction: %s", row.id, row.reason)
    log.info("%d structures: %d predicted, %d failed; written to %s", len(result), len(result) - len(failed),
             len(failed), out)
    return result


def _predict(spec, model_dir, aligned):
    """{mat_id: prediction} of the aligned rows, on as many threads as the fit (CPU sums follow
    the thread count), whatever `--threads` gives the featurisers."""
    if aligned.empty:
        return {}
    import torch
    from autogluon.multimodal import MultiModalPredictor

    from matfuse.train import feature_frame, in_prediction_order, predict_rows

    torch.set_num_threads(spec["fit_threads"])
    predictor = MultiModalPredictor.load(str(model_dir))
    aligned = in_prediction_order(aligned)
    y_pred = predict_rows(predictor, feature_frame(aligned, dict(spec["columns"])))
    return dict(zip(aligned["mat_id"], map(float, y_pred)))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="matfuse", description="matfuse command-line tools")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help=__doc__.splitlines()[0], description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("--model", required=True, type=Path,
                         help="a fitted model directory, results/models/<combo>/<target>/repeat_<r>")
    given = predict.add_mutually_exclusive_group(required=True)
    given.add_argument("--cifs", nargs="+", type=Path, help="CIF files, one structure each")
    given.add_argument("--table", type=Path, help="a CSV or Parquet table shaped like the table source's")
    predict.add_argument("--id-column", default=TABLE_DEFAULTS["id_column"], help="the table's id column")
    predict.add_argument("--structure-column", default=TABLE_DEFAULTS["structure_column"],
                         help="the table's structure column (CIF text or a CIF path)")
    predict.add_argument("--encoding", default=TABLE_DEFAULTS["encoding"], help="a CSV table's encoding")
    predict.add_argument("--out", required=True, type=Path, help="the predictions CSV to write")
    predict.add_argument("--threads", type=int, help="CPU threads of the renders and embeddings (default: the fit's)")
    predict.add_argument("--browser", help="Chromium executable for models with images (default: auto)")
    predict.add_argument("--work-dir", type=Path, help="keep the CIFs and renders made here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        predict_structures(
            args.model,
            args.out,
            cifs=args.cifs or (),
            table=args.table,
            table_settings={"id_column": args.id_column, "structure_column": args.structure_column,
                            "encoding": args.encoding},
            threads=args.threads,
            work_dir=args.work_dir,
            images_run={"browser": {"executable": args.browser}} if args.browser else None,
        )
    except ValueError as err:
        parser.exit(1, f"matfuse predict: {err}\n")
    return 0
