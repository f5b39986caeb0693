"""Regression targets from a material's fields, as config defines them.

A target is `{field, per (optional: nsites | volume), unit, label}`: the field's value, divided
by the cell's number of sites or its volume (Å³) when `per` is set. `nsites` and `volume` always
come from the structure, and are fields too: `{field: volume, per: nsites}` is Å³ per atom.
"""

import math
from collections.abc import Mapping


class TargetError(ValueError):
    """A material whose targets cannot all be computed; the message names each failing one."""


def compute_targets(
    fields: Mapping, targets_cfg: Mapping, nsites: int, volume: float
) -> dict[str, float]:
    """Every configured target of one material; raises TargetError naming all that fail."""
    geometry = {"nsites": nsites, "volume": volume}
    fields = {**fields, **geometry}
    values, problems = {}, []
    for key, spec in targets_cfg.items():
        try:
            value = _number(fields, spec["field"])
        except TargetError as err:
            problems.append(f"{key}: {err}")
            continue
        values[key] = value / geometry[spec["per"]] if spec.get("per") else value
    if problems:
        raise TargetError("; ".join(problems))
    return values


def _number(fields: Mapping, field: str) -> float:
    """A field's value as a finite float; numeric strings count (CSV columns with a bad cell)."""
    if field not in fields:
        raise TargetError(f"missing field {field!r}")
    raw = fields[field]
    if raw is None:
        raise TargetError(f"field {field!r} is null (missing or NaN in the source)")
    if isinstance(raw, bool):
        raise TargetError(f"field {field!r} is not a number: {raw!r}")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise TargetError(f"field {field!r} is not a number: {raw!r}") from None
    if math.isnan(value):
        raise TargetError(f"field {field!r} is NaN")
    if math.isinf(value):
        raise TargetError(f"field {field!r} is infinite")
    return value


def target_units(targets_cfg: Mapping) -> dict[str, dict[str, str]]:
    """`{key: {"label", "unit"}}` for tables and figure axes; the label defaults to the key."""
    return {
        key: {"label": spec.get("label", key), "unit": spec["unit"]}
        for key, spec in targets_cfg.items()
    }
