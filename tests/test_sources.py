"""Sources: streaming Alexandria entries, and tables of the user's own."""

import bz2
import gzip
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from matfuse.sources import InvalidEntry
from matfuse.sources.alexandria import AlexandriaSource, iter_entries
from matfuse.sources.table import TableSource

TABLE_FIXTURE = Path(__file__).parent / "data" / "table_fixture"
TABLE_CFG = {
    "path": str(TABLE_FIXTURE / "materials.csv"),
    "id_column": "id",
    "structure_column": "cif",
}


def test_iter_entries_streams_the_real_sample_like_json_load(alexandria_sample):
    with bz2.open(alexandria_sample) as f:
        expected = json.load(f)["entries"]
    entries = list(iter_entries(alexandria_sample))
    assert entries == expected
    assert len(entries) == 117
    assert entries[0]["data"]["mat_id"] == "agm001000110"


def test_iter_entries_reads_plain_json(tmp_path, alexandria_sample):
    first = next(iter_entries(alexandria_sample))
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"entries": [first]}))
    assert list(iter_entries(path)) == [first]


def test_nan_and_infinity_written_by_python_json_arrive_as_none(tmp_path):
    # Many entries so that the non-finite tokens land on the reader's chunk boundaries too.
    entries = [
        {
            "data": {"mat_id": f"agm{i:09d}", "a": math.nan, "b": [1.5, -math.inf, math.inf]},
            "note": "NaN-free, Infinity-proof text",
        }
        for i in range(5000)
    ]
    path = tmp_path / "nan.json.bz2"
    with bz2.open(path, "wt") as f:
        json.dump({"entries": entries}, f)  # writes the bare tokens NaN, -Infinity, Infinity
    parsed = list(iter_entries(path))
    assert len(parsed) == 5000
    assert all(e["data"]["a"] is None and e["data"]["b"] == [1.5, None, None] for e in parsed)
    assert all(e["note"] == "NaN-free, Infinity-proof text" for e in parsed)
    assert [e["data"]["mat_id"] for e in parsed] == [e["data"]["mat_id"] for e in entries]


def test_alexandria_entry_fields_are_its_data(alexandria_sample):
    record = next(iter_entries(alexandria_sample))
    source = AlexandriaSource()
    entry = source.to_entry(record, source.record_id(record))
    assert entry.mat_id == "agm001000110"
    assert len(entry.structure) == 6
    assert entry.fields["energy_total"] == record["data"]["energy_total"]


def test_table_source_reads_cif_paths_relative_to_the_table():
    source = TableSource(TABLE_CFG)
    records = list(source.records(TABLE_CFG["path"]))
    entries = [source.to_entry(r, source.record_id(r)) for r in records]
    assert [e.mat_id for e in entries] == list(pd.read_csv(TABLE_CFG["path"])["id"])
    lacuw = entries[2]
    assert lacuw.structure.composition.reduced_formula == "LaCuW"
    assert lacuw.fields == {
        "band_gap": 1.0,
        "energy": -20.25,
        "magmom": 0.0,
        "note": "made-up values",
    }


@pytest.mark.parametrize("name", ["inline.parquet", "inline.csv.gz"])
def test_table_source_reads_cif_text_from_parquet_or_compressed_csv(tmp_path, name):
    table = pd.read_csv(TABLE_CFG["path"])
    table["cif"] = [(TABLE_FIXTURE / p).read_text() for p in table["cif"]]
    path = tmp_path / name
    table.to_parquet(path) if name.endswith(".parquet") else table.to_csv(path, index=False)
    source = TableSource(TABLE_CFG)
    entries = [source.to_entry(r, source.record_id(r)) for r in source.records(path)]
    assert [len(e.structure) for e in entries] == [2, 2, 3, 3, 3]


def test_table_source_keeps_ids_as_text(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,cif,band_gap\n007,cifs/x.cif,1.0\n")
    source = TableSource(TABLE_CFG)
    assert source.record_id(next(source.records(path))) == "007"


def test_table_source_bad_rows_are_invalid_entries(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,cif,band_gap\n,a.cif,1\nm1,missing.cif,1\nm2,,1\n")
    source = TableSource(TABLE_CFG)
    no_id, missing_file, no_structure = source.records(path)
    with pytest.raises(InvalidEntry, match="empty 'id'"):
        source.record_id(no_id)
    with pytest.raises(InvalidEntry, match="CIF file not found: .*missing.cif"):
        source.to_entry(missing_file, "m1")
    with pytest.raises(InvalidEntry, match="no structure in column 'cif'"):
        source.to_entry(no_structure, "m2")
    with pytest.raises(InvalidEntry, match="unparsable CIF"):
        source.to_entry({"id": "m3", "cif": "data_broken\n_cell_length_a 1\n"}, "m3")


def test_table_without_the_configured_columns_names_the_config_key(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name,cif\nx,a.cif\n")
    with pytest.raises(ValueError, match=r"no column 'id' \(data.table.id_column\)"):
        list(TableSource(TABLE_CFG).records(path))
    with pytest.raises(ValueError, match="must end in .csv, .csv.gz or .parquet"):
        list(TableSource(TABLE_CFG).records(tmp_path / "t.xlsx"))


def test_a_truncated_local_file_is_named(tmp_path, alexandria_sample):
    path = tmp_path / "cut.json.bz2"
    path.write_bytes(alexandria_sample.read_bytes()[:20000])
    with pytest.raises(ValueError, match=f"{path}: corrupt or truncated file \\(EOFError"):
        list(iter_entries(path))


@pytest.mark.parametrize("name", ["latin.csv", "latin.csv.gz"])
def test_a_byte_not_in_the_encoding_names_the_file_and_line(tmp_path, name):
    path = tmp_path / name
    rows = (TABLE_FIXTURE / "materials.csv").read_bytes().splitlines(keepends=True)
    rows[3] = rows[3].replace(b"made-up values", "made-up values (café)".encode("latin-1"))
    with (gzip.open if name.endswith(".gz") else open)(path, "wb") as stream:
        stream.write(b"".join(rows))
    source = TableSource(TABLE_CFG)
    with pytest.raises(ValueError) as err:
        list(source.records(path))
    assert str(err.value).startswith(f"{path}: line 4, byte ")
    assert "(b'\\xe9') is not valid utf-8" in str(err.value)
    assert "data.table.encoding" in str(err.value)
    records = list(TableSource({**TABLE_CFG, "encoding": "latin-1"}).records(path))
    assert records[2]["note"] == "made-up values (café)" and len(records) == 5


def test_numeric_looking_ids_stay_as_written(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,cif,band_gap\n007,a.cif,1.0\n12,b.cif,\n1e3,c.cif,2\n0012,d.cif,3\nNA,e.cif,NA\n")
    source = TableSource(TABLE_CFG)
    records = list(source.records(path))
    assert [source.record_id(r) for r in records] == ["007", "12", "1e3", "0012", "NA"]
    assert math.isnan(records[1]["band_gap"]) and math.isnan(records[4]["band_gap"])


def test_parquet_ids_integers_become_text_floats_are_refused(tmp_path):
    source = TableSource(TABLE_CFG)
    table = pd.DataFrame({"id": [7, 12], "cif": ["a.cif", "b.cif"]})
    table.to_parquet(tmp_path / "int.parquet")
    assert [source.record_id(r) for r in source.records(tmp_path / "int.parquet")] == ["7", "12"]
    table.astype({"id": float}).to_parquet(tmp_path / "float.parquet")
    with pytest.raises(ValueError, match=r"float.parquet: column 'id': ids are stored as floating"):
        list(source.records(tmp_path / "float.parquet"))
