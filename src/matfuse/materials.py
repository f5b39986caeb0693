"""The study's materials: a seeded uniform sample over all source files, validated.

Sampling comes first (over every entry of every file, in the order given; the files are read in
parallel and their reservoirs merged exactly, see matfuse.sampling), validation second,
so the sample does not depend on which entries happen to be broken. Every sampled entry ends up
either kept (a row of materials and of targets) or rejected with its stage and reason.
"""

import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import partial

import pandas as pd

from matfuse.cells import check_structure
from matfuse.sampling import sample_streams
from matfuse.sources import Entry, InvalidEntry
from matfuse.sources.alexandria import AlexandriaSource
from matfuse.sources.table import TableSource
from matfuse.targets import TargetError, compute_targets, target_units

log = logging.getLogger(__name__)

MATERIAL_COLUMNS = ["mat_id", "formula", "composition", "nsites", "volume", "structure", "source"]
REJECTED_COLUMNS = ["mat_id", "stage", "reason"]
# Ids name files (CIFs, PNGs) downstream, so they must be safe as file names.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def sample_materials(
    input_files: Sequence,
    data_cfg: Mapping,
    targets_cfg: Mapping,
    seed: int,
    processes: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`data.n_materials` entries drawn uniformly from all files, then validated.

    The files are read by `processes` workers, one file each at a time; the result is the same
    for any number of them. Returns (materials, targets, rejected) as in the shared contracts.
    Raises ValueError when fewer than `data.min_materials` pass validation.
    """
    source = _source(data_cfg)
    n_wanted = data_cfg["n_materials"]
    sampled, n_seen = sample_streams(
        partial(_indexed_records, source), list(input_files), n_wanted, seed, processes
    )
    log.info(
        "sampled %d of %d entries in %d file(s) read by up to %d process(es), seed %d",
        len(sampled),
        n_seen,
        len(input_files),
        processes,
        seed,
    )
    if n_seen < n_wanted:
        log.warning(
            "!!! data.n_materials is %d but the input files hold only %d entries: using all of "
            "them. The study is smaller than configured. !!!",
            n_wanted,
            n_seen,
        )
    materials, targets, rejected = [], [], []
    first_seen: dict[str, str] = {}
    for path, index, record in sampled:
        where = f"entry {index} of {path}"
        mat_id = ""
        try:
            mat_id = source.record_id(record)
            if not SAFE_ID.fullmatch(mat_id):
                raise InvalidEntry("entry", f"id {mat_id!r} is not usable as a file name")
            if mat_id in first_seen:
                raise InvalidEntry("duplicate", f"{where} repeats the id of {first_seen[mat_id]}")
            first_seen[mat_id] = where
            entry = source.to_entry(record, mat_id)
            values = validate(entry, targets_cfg)
            materials.append(material_row(entry, path))
            targets.append({"mat_id": mat_id, **values})
        except InvalidEntry as err:
            stage, reason = err.stage, err.reason
        except Exception as err:  # one broken entry must not take the others down
            log.warning("%s: unexpected error", mat_id or where, exc_info=True)
            stage, reason = "entry", f"unexpected error ({type(err).__name__}: {err})"
        else:
            continue
        reason = reason if mat_id else f"{reason} ({where})"
        rejected.append((mat_id, stage, reason))
        log.warning("rejected %s: [%s] %s", mat_id or where, stage, reason)
    by_stage = Counter(stage for _, stage, _ in rejected)
    log.info(
        "kept %d, rejected %d %s", len(materials), len(rejected), dict(sorted(by_stage.items()))
    )
    minimum = data_cfg["min_materials"]
    if len(materials) < minimum:
        raise ValueError(
            f"only {len(materials)} of {len(sampled)} sampled materials passed validation, fewer "
            f"than data.min_materials={minimum} (rejected by stage: {dict(by_stage)}; the reasons "
            "are in this log)"
        )
    targets_df = pd.DataFrame(targets, columns=["mat_id", *targets_cfg])
    targets_df.attrs["targets"] = target_units(targets_cfg)
    return (
        pd.DataFrame(materials, columns=MATERIAL_COLUMNS),
        targets_df,
        pd.DataFrame(rejected, columns=REJECTED_COLUMNS),
    )


def _indexed_records(source, path) -> Iterator[tuple[str, int, object]]:
    """A file's records with where each is, for the reasons of rejected.csv."""
    for index, record in enumerate(source.records(path)):
        yield str(path), index, record


def _source(data_cfg: Mapping):
    if data_cfg["source"] == "table":
        return TableSource(data_cfg["table"])
    return AlexandriaSource()


def validate(entry: Entry, targets_cfg: Mapping) -> dict[str, float]:
    """The entry's target values, once its cell is usable; raises InvalidEntry otherwise."""
    check_structure(entry.structure)
    try:
        return compute_targets(
            entry.fields, targets_cfg, len(entry.structure), entry.structure.volume
        )
    except TargetError as err:
        raise InvalidEntry("targets", str(err)) from err


def material_row(entry: Entry, source: str) -> dict:
    """One row of materials.parquet; the composition keeps the cell's site order."""
    structure = entry.structure
    composition = structure.composition
    return {
        "mat_id": entry.mat_id,
        "formula": composition.reduced_formula,
        "composition": json.dumps(composition.as_dict()),
        "nsites": len(structure),
        "volume": structure.volume,
        "structure": json.dumps(structure.as_dict()),
        "source": source,
    }
