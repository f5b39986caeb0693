"""Writes mp_quick_300.csv: 300 real Materials Project rows from ../shared/data/mp_dev, for the
quick look (config/quick_mp.yaml). Run on purpose, from the repository root:
    .venv/bin/python data/mp/make_quick_subset.py [--source PATH]

Stratified (seed 42) over metal / non-metal x four bins of sites per cell, in proportion to the
8,000 rows, so the band gap's zeros and the size spread are those of the larger set. Cells with
more than 80 sites (3.5% of the rows) are left out to keep the quick look quick.
"""

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "mp_dev" / "mp_dev_8000.csv.gz"
N_ROWS, SEED, MAX_SITES = 300, 42, 80


def subset(table: pd.DataFrame) -> pd.DataFrame:
    """N_ROWS rows drawn in proportion from each (metal, size bin) stratum, in id order."""
    table = table[table["nsites"] <= MAX_SITES]
    strata = [table["band_gap"] > 0, pd.cut(table["nsites"], [0, 8, 20, 36, MAX_SITES])]
    picked = table.groupby(strata, observed=True, group_keys=False).apply(
        lambda g: g.sample(n=round(N_ROWS * len(g) / len(table)), random_state=SEED)
    )
    return picked.sort_values("id")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    rows = subset(pd.read_csv(args.source, dtype={"id": str}))
    rows.to_csv(HERE / "mp_quick_300.csv", index=False)
    print(f"{len(rows)} rows, {(rows['band_gap'] > 0).sum()} non-metals")


if __name__ == "__main__":
    main()
