"""Which targets and modality combinations a study runs (config key `study`).

`--configfile` merges dictionaries, so an override cannot remove a default target; a list of
the enabled ones can (lists replace). `all` keeps every target defined, or every combination of
the enabled modalities.
"""

from collections.abc import Mapping, Sequence


def choose(available: Sequence[str], chosen, key: str) -> list[str]:
    """The `chosen` names (or all of `available` for "all") in the order of `available`.

    Raises ValueError naming the config key and the unknown names, so a typo stops the run at
    start instead of quietly running a smaller study.
    """
    if chosen == "all":
        return list(available)
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise ValueError(
            f"{key}: {', '.join(map(repr, unknown))} not among {', '.join(available)}"
        )
    return [name for name in available if name in chosen]


def enabled_targets(targets_cfg: Mapping, chosen) -> dict:
    """The target definitions that `study.targets` enables, in their defined order."""
    return {key: targets_cfg[key] for key in choose(list(targets_cfg), chosen, "study.targets")}
