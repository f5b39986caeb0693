"""The text modality: a material's composition written as the paper wrote it (`Ac Hg 2 Cd 2`)."""

import json
import math
from collections.abc import Mapping

import pandas as pd


def composition_text(composition: Mapping[str, float]) -> str:
    """Element symbols each followed by its count, the count left out when it is 1.

    Which composition: the cell's, as materials.parquet stores it (so `Ge 2 Pt 2 Ac 2` for a
    6-site AcGePt cell); method.md gives the format, and Alexandria's `composition` is the cell.
    Element order: as stored (Alexandria's order, which follows the cell's sites); method.md's
    `{Ac: 1, Hg: 2, Cd: 2} -> Ac Hg 2 Cd 2` keeps the dict's order, which is neither
    alphabetical nor by electronegativity. Counts: integers without decimals (`2.0` -> `2`),
    fractions (from partial occupancies) with up to 6 decimals and no trailing zeros (`0.5`).
    """
    if not composition:
        raise ValueError("empty composition")
    words = []
    for element, amount in composition.items():
        if not (isinstance(amount, int | float) and math.isfinite(amount) and amount > 0):
            raise ValueError(f"{element}: amount {amount!r} is not a positive number")
        count = f"{amount:.6f}".rstrip("0").rstrip(".")
        words.append(element if count == "1" else f"{element} {count}")
    return " ".join(words)


def text_table(materials: pd.DataFrame) -> pd.DataFrame:
    """The text modality table: `mat_id, ok, reason, text` (one row per material)."""
    rows = []
    for mat_id, composition in zip(materials["mat_id"], materials["composition"]):
        try:
            rows.append((mat_id, True, "", composition_text(json.loads(composition))))
        except (ValueError, TypeError, AttributeError) as err:
            rows.append((mat_id, False, f"composition {composition!r}: {err}", ""))
    return pd.DataFrame(rows, columns=["mat_id", "ok", "reason", "text"])
