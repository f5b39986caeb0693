"""Material ids are text everywhere: `007` stays `007`, `1e3` stays `1e3`, `NA` stays `NA`.

Ids name files and join tables, so a reader that parses `007` as the number 7 loses the id
and breaks merges ("merge on object and int64 columns"). Every CSV that holds ids is read here.
"""

import pandas as pd

ID_COLUMN = "mat_id"


def read_csv(path, id_column: str = ID_COLUMN, **kwargs) -> pd.DataFrame:
    """`pd.read_csv` with `id_column` kept exactly as written; other columns parse as usual.

    A converter (not `dtype=str`) also keeps `NA`, `null` or `nan` ids as text, where pandas
    would turn them into missing values. An empty id cell reads as "".
    """
    return pd.read_csv(path, converters={id_column: str}, **kwargs)


def as_text(ids: pd.Series, where: str) -> pd.Series:
    """Ids from a typed file (Parquet) as text: integers become their digits, text is kept.

    Floating-point ids are refused: `12.0` or `1000.0` cannot be told back to the id they were
    written from (a leading zero or the original spelling is already lost).
    """
    if pd.api.types.is_integer_dtype(ids):
        return ids.astype(str)
    if pd.api.types.is_float_dtype(ids):
        raise ValueError(
            f"{where}: ids are stored as floating-point numbers (e.g. {next(iter(ids), None)!r}); "
            "store the id column as text so that every id is kept as written"
        )
    return ids
