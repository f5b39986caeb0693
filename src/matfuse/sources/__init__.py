"""Where crystal entries come from: official Alexandria files, or a table of the user's own.

Each source streams raw records and turns one record into an `Entry`; a record that cannot be
turned into one raises `InvalidEntry` with the validation stage and a reason for rejected.csv.
"""

from dataclasses import dataclass
from typing import Any

from pymatgen.core import Structure


class InvalidEntry(ValueError):
    """One entry that cannot be used; `stage` and `reason` go to rejected.csv as they are."""

    def __init__(self, stage: str, reason: str):
        super().__init__(f"[{stage}] {reason}")
        self.stage = stage
        self.reason = reason


@dataclass
class Entry:
    """One material as a source delivers it: its id, its cell, and the fields targets read."""

    mat_id: str
    structure: Structure
    fields: dict[str, Any]
