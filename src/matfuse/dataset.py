"""Align targets and every enabled modality into one table, one row per material.

Every model trains on the same materials, so a material missing any enabled modality (or
its CIF) is excluded from all of them, and listed with the reason. The split is not a column
of the table: each fit reads its repeat's split from the split file (matfuse.split).
"""

import logging

import pandas as pd

from matfuse.split import read_split

log = logging.getLogger(__name__)

EMBEDDING_PREFIX = "emb_"
STRUCTURE = "tabular"


def structure_modality(method, several):
    """The structure view's name in combinations: `tabular`, or `tabular-<method>` when a study
    puts several embedding methods side by side (each then has its own models and rows)."""
    return f"{STRUCTURE}-{method}" if several else STRUCTURE


def is_structure(modality):
    return modality == STRUCTURE or modality.startswith(STRUCTURE + "-")


def base_modality(modality):
    """`tabular` for every structure view, else the modality itself."""
    return STRUCTURE if is_structure(modality) else modality


def _column_prefix(modality):
    """Where a structure view's columns are in the aligned table: `emb_…`, or `<method>_emb_…`
    beside other methods' columns."""
    return EMBEDDING_PREFIX if modality == STRUCTURE else f"{modality.removeprefix(STRUCTURE + '-')}_{EMBEDDING_PREFIX}"


def source_column(modality, column):
    """An aligned table's column as its modality table names it (`chgnet_emb_3` -> `emb_3`)."""
    return EMBEDDING_PREFIX + column.removeprefix(_column_prefix(modality)) if is_structure(modality) else column


class TooFewMaterials(RuntimeError):
    pass


def _failures(table, stage):
    """Rows of a manifest/modality table that failed, as (mat_id, reason) with the stage named."""
    failed = table.loc[~table["ok"].astype(bool), ["mat_id", "reason"]].copy()
    failed["reason"] = stage + ": " + failed["reason"].astype(str)
    return failed


def modality_columns(columns, modality):
    """An aligned table's columns of one modality: what models train on (bookkeeping columns
    are not)."""
    if is_structure(modality):
        return [c for c in columns if c.startswith(_column_prefix(modality))]
    return [modality] if modality in columns else []


def _values(table, modality):
    """A modality table's value columns of its usable rows, named as the aligned table names them."""
    values = table.loc[table["ok"].astype(bool), ["mat_id", *modality_columns(table.columns, base_modality(modality))]]
    if not is_structure(modality):
        return values
    return values.rename(columns=lambda c: c if c == "mat_id" else _column_prefix(modality) + c.removeprefix(EMBEDDING_PREFIX))


def join_modalities(base, cifs, modality_tables):
    """(aligned, excluded): `base` (one row per material) with the value columns of every
    modality table, only materials that have all of them and a CIF; `mat_id, reason` of the
    others, every failing stage named. Shared by the study and `matfuse predict`."""
    excluded = [_failures(cifs, "structure")]
    aligned = base
    for modality, table in modality_tables.items():
        excluded.append(_failures(table, modality))
        absent = ~aligned["mat_id"].isin(table["mat_id"])
        excluded.append(
            pd.DataFrame({"mat_id": aligned.loc[absent, "mat_id"], "reason": f"{modality}: not produced"})
        )
        aligned = aligned.merge(_values(table, modality), on="mat_id", how="inner", validate="one_to_one")
    excluded = pd.concat(excluded, ignore_index=True)
    excluded = excluded[excluded["mat_id"].isin(base["mat_id"])]
    excluded = excluded.groupby("mat_id", sort=True)["reason"].agg("; ".join).reset_index()
    aligned = aligned[~aligned["mat_id"].isin(excluded["mat_id"])].reset_index(drop=True)
    return aligned, excluded


def align_dataset(materials, targets, split, cifs, modality_tables, min_materials):
    """Return (aligned, excluded); raise TooFewMaterials when fewer than `min_materials` remain."""
    base = (
        pd.read_parquet(materials, columns=["mat_id", "formula"])
        .merge(pd.read_parquet(targets), on="mat_id", validate="one_to_one")
    )
    tables = {modality: pd.read_parquet(path) for modality, path in modality_tables.items()}
    aligned, excluded = join_modalities(base, pd.read_parquet(cifs), tables)
    splits = read_split(split)
    splits = splits[splits["mat_id"].isin(aligned["mat_id"])]
    counts = splits.groupby(["repeat", "split"]).size().unstack(fill_value=0)
    counts = {s: int(counts[s].min()) if s in counts else 0 for s in ("train", "test")}
    log.info(
        "aligned %d of %d materials (fewest over repeats: %s); %d excluded",
        len(aligned),
        len(base),
        counts,
        len(excluded),
    )
    for row in excluded.itertuples():
        log.warning("excluded %s: %s", row.mat_id, row.reason)
    empty = [s for s in ("train", "test") if not counts.get(s)]
    if len(aligned) < min_materials or empty:
        raise TooFewMaterials(
            f"only {len(aligned)} materials ({counts}; empty splits: {empty}) have every enabled "
            f"modality {list(modality_tables)}; data.min_materials is {min_materials}. "
            "Each excluded material and its reason is logged above."
        )
    return aligned, excluded
