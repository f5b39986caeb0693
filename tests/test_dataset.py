"""Alignment keeps exactly the materials that have every enabled modality, and says why not."""

import pandas as pd
import pytest

from matfuse.dataset import TooFewMaterials, align_dataset, modality_columns, source_column

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


def test_several_embedding_methods_keep_their_own_columns(tmp_path):
    """Two structure views side by side: each method's columns named by its method, found by
    its view's name, and traced back to the modality table's names (the leak check reads them)."""
    paths = write_inputs(tmp_path)
    for method, offset in (("random", 0.0), ("chgnet", 10.0)):
        paths[f"tabular-{method}"] = tmp_path / f"potnet_{method}.parquet"
        pd.DataFrame({"mat_id": IDS, "ok": True, "reason": "", "emb_000": offset, "emb_001": offset + 1}).to_parquet(
            paths[f"tabular-{method}"]
        )
    aligned, _ = align(paths, modalities=("tabular-random", "tabular-chgnet", "text"))
    assert [c for c in aligned.columns if "emb_" in c] == ["random_emb_000", "random_emb_001", "chgnet_emb_000", "chgnet_emb_001"]
    assert modality_columns(aligned.columns, "tabular-chgnet") == ["chgnet_emb_000", "chgnet_emb_001"]
    assert (aligned["chgnet_emb_001"] == 11.0).all() and (aligned["random_emb_000"] == 0.0).all()
    assert source_column("tabular-chgnet", "chgnet_emb_001") == "emb_001" == source_column("tabular", "emb_001")
    # one method keeps the study's plain names
    single, _ = align(paths, modalities=("tabular-random",))
    renamed = {**paths, "tabular": paths["tabular-random"]}
    plain, _ = align(renamed, modalities=("tabular",))
    assert modality_columns(plain.columns, "tabular") == ["emb_000", "emb_001"]
    assert modality_columns(single.columns, "tabular-random") == ["random_emb_000", "random_emb_001"]
