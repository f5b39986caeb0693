"""The text modality: method.md's composition format."""

import json

import pandas as pd
import pytest
import yaml

from matfuse.materials import sample_materials
from matfuse.text import composition_text, text_table

from conftest import REPO


@pytest.mark.parametrize(
    "composition, text",
    [
        ({"Ac": 1, "Hg": 2, "Cd": 2}, "Ac Hg 2 Cd 2"),  # method.md's example, order kept
        ({"Ge": 2.0, "Pt": 2.0, "Ac": 2.0}, "Ge 2 Pt 2 Ac 2"),
        ({"Fe": 1.0}, "Fe"),
        ({"Fe": 0.5, "Ni": 1.5, "O": 1}, "Fe 0.5 Ni 1.5 O"),
        ({"Li": 1 / 3, "Co": 12}, "Li 0.333333 Co 12"),
        ({"Na": 1.0000000001, "Cl": 0.25}, "Na Cl 0.25"),
    ],
)
def test_composition_text(composition, text):
    assert composition_text(composition) == text


@pytest.mark.parametrize(
    "composition", [{}, {"Fe": 0}, {"Fe": -1.0}, {"Fe": float("nan")}, {"Fe": "2"}]
)
def test_bad_compositions_are_refused(composition):
    with pytest.raises(ValueError):
        composition_text(composition)


def test_text_table_on_real_materials(alexandria_sample):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    data = {**config["data"], "n_materials": 117, "min_materials": 2}
    materials = sample_materials([alexandria_sample], data, config["targets"], seed=42)[0]
    table = text_table(materials)
    assert list(table.columns) == ["mat_id", "ok", "reason", "text"]
    assert table["ok"].all() and (table["reason"] == "").all()
    assert list(table["mat_id"]) == list(materials["mat_id"])
    assert table["text"][0] == "Ge 2 Pt 2 Ac 2"  # agm001000110, a 6-site AcGePt cell
    # every element once, the cell's counts, the stored order:
    for text, composition in zip(table["text"], materials["composition"]):
        assert list(read_back(text).items()) == list(json.loads(composition).items())


def read_back(text):
    """The composition a text stands for, in its order (a count follows its element)."""
    composition = {}
    for word in text.split():
        if word[0].isalpha():
            element = word
            composition[element] = 1.0
        else:
            composition[element] = float(word)
    return composition


def test_a_bad_composition_is_a_failed_row():
    materials = pd.DataFrame({"mat_id": ["a", "b"], "composition": ['{"Fe": 2.0}', "{}"]})
    table = text_table(materials)
    assert list(table["ok"]) == [True, False]
    assert list(table["text"]) == ["Fe 2", ""]
    assert table["reason"][1] == "composition '{}': empty composition"
