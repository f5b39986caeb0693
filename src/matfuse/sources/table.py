"""A table of the user's own (Materials Project, JARVIS, lab data) as a source of materials.

A CSV or Parquet file with an id column, a structure column and property columns. A structure
cell holds either CIF text (it has line breaks) or the path of a CIF file (one line), relative
to the table's folder. Property columns are the fields that config's targets name.
"""

import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
from pymatgen.core import Structure
from pymatgen.io.cif import CifParser, str2float

from matfuse import ids
from matfuse.cells import check_cell
from matfuse.sources import Entry, InvalidEntry
from matfuse.tablefile import WRONG_SUFFIX, open_bytes, table_kind

log = logging.getLogger(__name__)
# pymatgen's wording around the reasons it collects; the reasons themselves are kept.
SECTION_PREAMBLE = re.compile(r"No structure parsed for section \d+ in CIF\.")
REPEATED = "Issues encountered while parsing CIF:"
CELL_KEYS = [f"_cell_length_{x}" for x in "abc"] + [f"_cell_angle_{x}" for x in ("alpha", "beta", "gamma")]


class TableSource:
    """Rows of the table named by `data.table` (`path`, `id_column`, `structure_column`, and
    `encoding` of a CSV, default utf-8)."""

    def __init__(self, table_cfg: Mapping):
        self.id_column = table_cfg["id_column"]
        self.structure_column = table_cfg["structure_column"]
        self.encoding = table_cfg.get("encoding", "utf-8")

    def records(self, path) -> Iterator[dict]:
        """The table's rows as dicts, CIF paths resolved against the table's folder."""
        table = read_table(path, self.id_column, self.encoding)
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
        structure = parse_cif(cif, mat_id)
        fields = {
            k: v for k, v in record.items() if k not in (self.id_column, self.structure_column)
        }
        return Entry(mat_id, structure, fields)


def parse_cif(cif: str, mat_id: str, frac_tolerance: float | None = None) -> Structure:
    """The first structure of CIF text, its cell as written; InvalidEntry with the real cause.

    `frac_tolerance=0` keeps coordinates exactly as written (pymatgen's default snaps those
    near 1/3, 1/4... to them), as `matfuse predict` reads the CIFs a study wrote.

    pymatgen gives the cause of a block it cannot build only as a warning ("thickness ... below
    threshold", "Singular matrix") and then raises "no structures". So the cell parameters are
    checked first (a flat or collinear cell is named as such), atoms stacked on one site are
    kept as one over-occupied site (`check_occu=False`) for `check_structure` to name, and any
    other failure carries pymatgen's own reasons. Warnings of a CIF that parses are logged.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parser = None
        try:
            options = {} if frac_tolerance is None else {"frac_tolerance": frac_tolerance}
            parser = CifParser.from_str(cif, **options)
            blocks = list(parser.as_dict().values())
            if blocks and all(key in blocks[0] for key in CELL_KEYS):
                values = [str2float(blocks[0][key]) for key in CELL_KEYS]
                check_cell(values[:3], values[3:])
            structure = parser.parse_structures(primitive=False, check_occu=False)[0]
        except InvalidEntry:
            raise
        except Exception as err:
            reasons = [_one_line(w) for w in (parser.warnings if parser else [])]
            detail = "; ".join(reasons) or f"{type(err).__name__}: {_one_line(str(err))}"
            raise InvalidEntry("structure", f"unparsable CIF ({detail})") from err
    for message in dict.fromkeys(_one_line(str(w.message)) for w in caught):
        if not message.startswith(REPEATED):
            log.warning("%s: CIF parser: %s", mat_id, message)
    return structure


def _one_line(message: str) -> str:
    """pymatgen's multi-line reason without its "No structure parsed for section 1" preamble."""
    return " ".join(SECTION_PREAMBLE.sub("", message).split())


def read_table(path, id_column: str, encoding: str = "utf-8") -> pd.DataFrame:
    """A CSV, plain or gzip-compressed (ids read as text, so `007` stays `007`) or a Parquet file.

    A CSV that is not in `encoding` stops naming the file and its first undecodable line.
    """
    kind = table_kind(path)
    if kind == "csv":
        try:
            return ids.read_csv(path, id_column, encoding=encoding)
        except UnicodeDecodeError as err:
            raise ValueError(_decode_error(path, encoding, err)) from err
    if kind == "parquet":
        table = pd.read_parquet(path)
        if id_column in table.columns:
            table[id_column] = ids.as_text(table[id_column], f"{path}: column {id_column!r}")
        return table
    raise ValueError(f"{path}: data.table.path {WRONG_SUFFIX}")


def _decode_error(path, encoding: str, err: UnicodeDecodeError) -> str:
    """Where the first byte that is not `encoding` sits: line (1-based) and column."""
    bad_lines = []
    with open_bytes(path) as stream:
        for number, line in enumerate(stream, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as line_err:
                bad_lines.append((number, line_err))
    where = "the file"
    if bad_lines:
        number, line_err = bad_lines[0]
        byte = line_err.object[line_err.start : line_err.start + 1]
        where = f"line {number}, byte {line_err.start + 1} ({byte!r})"
        if len(bad_lines) > 1:
            where += f", and {len(bad_lines) - 1} more line(s)"
    return (
        f"{path}: {where} is not valid {encoding} ({err.reason}); save the table as {encoding} "
        "or set data.table.encoding to the encoding it is in (e.g. latin-1, cp1252)"
    )
