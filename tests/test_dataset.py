"""Alignment keeps exactly the materials that have every enabled modality, and says why not."""

import pandas as pd
import pytest

from matfuse.dataset import TooFewMaterials, align_dataset

IDS = [f"m{i}" for i in range(6)]


def write_inputs(tmp_path, image_ok=(True,) * 6, cif_ok=(True,) * 6, text_ids=IDS):
    paths = {name: tmp_path / f"{name}.parquet" for name in ("materials", "targets", "cifs", "text", "image")}
    pd.DataFrame({"mat_id": IDS, "formula": ["NaCl"] * 6}).to_parquet(paths["materials"])
    pd.DataFrame({"mat_id": IDS, "gap": [0.1 * i for i in range(6)]}).to_parquet(paths["targets"])
    pd.DataFrame({"mat_id": IDS, "ok": cif_ok, "reason": ["" if ok else "bad cif" for ok in cif_ok]}).to_parquet(
        paths["cifs"]
    )
    pd.DataFrame({"mat_id": text_ids, "ok": True, "reason": "", "text": "Na Cl"}).to_parquet(paths["text"])
    pd.DataFrame(
        {
            "mat_id": IDS,
            "ok": image_ok,
            "reason": ["" if ok else "render timed out" for ok in image_ok],
            "image": [f"png/{i}.png" if ok else None for i, ok in zip(IDS, image_ok)],
            "seconds": 0.2,  # bookkeeping, as the real image table has: not a feature
        }
    ).to_parquet(paths["image"])
    split = tmp_path / "split.csv"
    pd.DataFrame({"mat_id": IDS, "repeat": 0, "split": ["train"] * 4 + ["test"] * 2}).to_csv(split, index=False)
    paths["split"] = split
    return paths


def align(paths, min_materials=2, modalities=("text", "image")):
    return align_dataset(
        materials=paths["materials"],
        targets=paths["targets"],
        split=paths["split"],
        cifs=paths["cifs"],
        modality_tables={m: paths[m] for m in modalities},
        min_materials=min_materials,
    )


def test_complete_inputs_align_one_row_per_material(tmp_path):
    aligned, excluded = align(write_inputs(tmp_path))
    assert list(aligned["mat_id"]) == IDS and excluded.empty
    assert list(aligned.columns) == ["mat_id", "formula", "gap", "text", "image"]


def test_each_missing_modality_excludes_the_material_with_its_reason(tmp_path):
    paths = write_inputs(
        tmp_path, image_ok=(True, False, True, True, True, True), cif_ok=(True, True, False, True, True, True),
        text_ids=IDS[:5],
    )
    aligned, excluded = align(paths)
    assert list(aligned["mat_id"]) == ["m0", "m3", "m4"]
    reasons = dict(zip(excluded["mat_id"], excluded["reason"]))
    assert reasons == {
        "m1": "image: render timed out",
        "m2": "structure: bad cif",
        "m5": "text: not produced",
    }


def test_too_few_materials_stops_with_the_config_key(tmp_path):
    paths = write_inputs(tmp_path, image_ok=(True, False, False, False, True, True))
    with pytest.raises(TooFewMaterials, match="data.min_materials is 4"):
        align(paths, min_materials=4)


def test_an_empty_test_split_stops_the_run(tmp_path):
    paths = write_inputs(tmp_path, image_ok=(True, True, True, True, False, False))
    with pytest.raises(TooFewMaterials, match="'test'"):
        align(paths, min_materials=1)
