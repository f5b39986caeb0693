"""The image modality table from the CIF manifest: shards, failures carried over, shards joined."""

import numpy as np
import pandas as pd

from matfuse.render.batch import COLUMNS, render_structures


def shard_rows(manifest, shard, shards):
    """Shard `shard` of `shards`: a contiguous block of the manifest's rows, by position."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} out of range for {shards} shards")
    blocks = np.array_split(np.arange(len(manifest)), shards)
    return manifest.iloc[blocks[shard]]


def image_table(manifest, png_dir, settings, log):
    """One row per manifest row: rendered PNG, or the reason there is none.

    Materials without a CIF keep the CIF step's reason; the others are rendered in one batch.
    """
    has_cif = manifest["ok"].astype(bool)
    rendered = render_structures(
        list(zip(manifest.loc[has_cif, "mat_id"], manifest.loc[has_cif, "cif"])),
        png_dir,
        settings,
        log,
    )
    no_cif = pd.DataFrame(
        {
            "mat_id": manifest.loc[~has_cif, "mat_id"],
            "ok": False,
            "reason": "no CIF: " + manifest.loc[~has_cif, "reason"].astype(str),
            "image": "",
            "seconds": 0.0,
        },
        columns=COLUMNS,
    )
    table = pd.concat([rendered, no_cif], ignore_index=True).set_index("mat_id")
    table = table.loc[manifest["mat_id"]].reset_index()
    for row in table.loc[~table["ok"]].itertuples():
        log.warning("%s: no image: %s", row.mat_id, row.reason)
    return table


def join_shards(tables):
    """The shard tables as one image table (shards are disjoint, in manifest order)."""
    table = pd.concat(tables, ignore_index=True)
    if table["mat_id"].duplicated().any():
        raise ValueError("a material appears in more than one shard")
    return table
