"""A table of the user's own (Materials Project, JARVIS, lab data) as a source of materials.

A CSV or Parquet file with an id column, a structure column and property columns. A structure
cell holds either CIF text (it has line breaks) or the path of a CIF file (one line), relative
to the table's folder. Property columns are the fields that config's targets name.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
from pymatgen.io.cif import CifParser

from matfuse.sources import Entry, InvalidEntry


class TableSource:
    """Rows of the table named by `data.table` (keys `path`, `id_column`, `structure_column`)."""

    def __init__(self, table_cfg: Mapping):
        self.id_column = table_cfg["id_column"]
        self.structure_column = table_cfg["structure_column"]

    def records(self, path) -> Iterator[dict]:
        """The table's rows as dicts, CIF paths resolved against the table's folder."""
        table = read_table(path, self.id_column)
        for column, key in [
            (self.id_column, "id_column"),
            (self.structure_column, "structure_column"),
        ]:
            if column not in table.columns:
                raise ValueError(
                    f"{path}: no column {column!r} (data.table.{key}); "
                    f"columns: {', '.join(map(str, table.columns))}"
                )
        folder = Path(path).parent
        for row in table.to_dict("records"):
            cell = row[self.structure_column]
            if isinstance(cell, str) and "\n" not in cell and cell.strip():
                row[self.structure_column] = folder / cell.strip()
            yield row

    def record_id(self, record) -> str:
        mat_id = record[self.id_column]
        if pd.isna(mat_id) or not str(mat_id).strip():
            raise InvalidEntry("entry", f"empty {self.id_column!r} (data.table.id_column)")
        return str(mat_id).strip()

    def to_entry(self, record, mat_id: str) -> Entry:
        cell = record[self.structure_column]
        if isinstance(cell, Path):
            if not cell.is_file():
                raise InvalidEntry("structure", f"CIF file not found: {cell}")
            cif = cell.read_text()
        elif isinstance(cell, str) and cell.strip():
            cif = cell
        else:
            raise InvalidEntry("structure", f"no structure in column {self.structure_column!r}")
        try:
            structure = CifParser.from_str(cif).parse_structures(primitive=False)[0]
        except Exception as err:
            raise InvalidEntry(
                "structure", f"unparsable CIF ({type(err).__name__}: {err})"
            ) from err
        fields = {
            k: v for k, v in record.items() if k not in (self.id_column, self.structure_column)
        }
        return Entry(mat_id, structure, fields)


def read_table(path, id_column: str) -> pd.DataFrame:
    """A CSV (ids read as text, so `007` stays `007`) or a Parquet file."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype={id_column: str})
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"{path}: data.table.path must end in .csv or .parquet")
