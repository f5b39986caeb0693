"""Unit tests of the image modality that need no browser: scenes, PNG checks, settings, shards."""

import io
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pandas as pd
import psutil
import pytest
import yaml
from PIL import Image
from pymatgen.analysis.graphs import StructureGraph
from render_helpers import REAL_IDS, REPO, perovskite, real_cif, rock_salt, write_cif

from matfuse.render import BrowserNotFound, RenderSettings, render_structures
from matfuse.render.browser import find_browser, launch_flags
from matfuse.render.compat import apply_pymatgen_aliases
from matfuse.render.modality import image_table, join_shards, shard_rows
from matfuse.render.scene import cif_scene_json, oriented, scene_json, structure_scene
from matfuse.render.scene_worker import serve_requests
from matfuse.render.validate import png_problem, read_stamp, render_stamp, with_stamp


def primitive_counts(scene):
    """(group name, primitive type) -> number of drawn items, hidden groups marked."""
    counts = Counter()

    def walk(node, group):
        for item in node.get("contents", []):
            if "type" in item:
                counts[group, item["type"]] += len(item.get("positions") or item.get("positionPairs") or [])
            else:
                hidden = " (hidden)" if item.get("visible") is False else ""
                walk(item, item["name"] + hidden)

    walk(scene, "")
    return counts


def png_bytes(pixels):
    stream = io.BytesIO()
    Image.fromarray(pixels).save(stream, format="PNG")
    return stream.getvalue()


def test_rock_salt_scene_has_bonds_atoms_outside_the_cell_and_no_compass():
    scene, n_bonds = structure_scene(rock_salt())
    counts = primitive_counts(scene)
    assert n_bonds == 24  # 4 Na, each bonded to 6 Cl, in the conventional cell
    assert counts["bonds", "cylinders"] > 0
    assert counts["atoms", "spheres"] > 8  # the 8 sites plus bonded neighbours outside the cell
    assert counts["axes (hidden)", "arrows"] == 3  # the compass exists, hidden
    assert not any(group.startswith("axes") and "hidden" not in group for group, _ in counts)


def test_pymatgen_aliases_give_crystal_toolkit_its_old_constructor_names():
    apply_pymatgen_aliases()
    assert StructureGraph.with_local_env_strategy == StructureGraph.from_local_env_strategy
    assert StructureGraph.with_empty_graph == StructureGraph.from_empty_graph


def test_oblique_camera_turns_the_crystal_without_changing_it():
    structure = perovskite()
    assert oriented(structure, "top") is structure
    turned = oriented(structure, "oblique")
    np.testing.assert_allclose(turned.frac_coords, structure.frac_coords)
    np.testing.assert_allclose(turned.distance_matrix, structure.distance_matrix, atol=1e-9)
    assert not np.allclose(turned.cart_coords, structure.cart_coords)


def test_non_finite_scene_is_an_error_not_a_blank_picture():
    with pytest.raises(ValueError, match="non-finite"):
        scene_json({"contents": [{"positions": [[float("nan"), 0, 0]]}]})


def test_scene_worker_answers_each_request_and_survives_a_broken_cif(tmp_path):
    good = write_cif(perovskite(), tmp_path / "SrTiO3.cif")
    broken = tmp_path / "broken.cif"
    broken.write_text("data_broken\n_cell_length_a 1\nthis is not a CIF\n")
    requests = [json.dumps({"cif": str(path), "camera": "top"}) + "\n" for path in (broken, good)]
    replies = io.BytesIO()
    serve_requests(requests, replies)
    stream = io.BytesIO(replies.getvalue())
    first = json.loads(stream.readline())
    assert "error" in first and first.get("length") is None
    second = json.loads(stream.readline())
    scene = json.loads(stream.read(second["length"]))
    assert second["bonds"] > 0 and scene["name"] == "StructureMoleculeComponentScene"
    assert cif_scene_json(good)[0] == stream.getvalue()[-second["length"] :].decode()


PRINT_SCENES = """
import sys
from matfuse.render.scene import cif_scene_json
for cif in sys.argv[1:]:
    print(cif_scene_json(cif)[0])
"""


def test_a_structure_gets_the_same_scene_in_every_process(tmp_path):
    """Neighbours at equal distances once came in an order that changed from process to process
    (see compat), and with it the order of bonds and translucent polyhedron vertices: the same
    structure gave pictures that differed in a few pixels between runs."""
    cifs = [str(write_cif(rock_salt(), tmp_path / "NaCl.cif")), str(real_cif(REAL_IDS[0]))]
    here = [cif_scene_json(cif)[0] for cif in cifs]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-c", PRINT_SCENES, *cifs],
            env=env, capture_output=True, text=True, check=True,
        )
        assert run.stdout.splitlines() == here


def test_png_checks_name_what_is_wrong():
    drawn = np.full((64, 64, 4), 255, np.uint8)
    drawn[16:48, 16:48, :3] = 40  # a quarter of the picture drawn
    assert png_problem(png_bytes(drawn), 64, "#ffffff", 0.2) == ""
    assert "blank render: 0.2500" in png_problem(png_bytes(drawn), 64, "#ffffff", 0.3)
    assert "expected 32x32" in png_problem(png_bytes(drawn), 32, "#ffffff", 0.2)
    see_through = drawn.copy()
    see_through[0, 0, 3] = 0
    assert "not opaque" in png_problem(png_bytes(see_through), 64, "#ffffff", 0.2)
    assert "does not decode" in png_problem(b"\x89PNG\r\n\x1a\n garbage", 64, "#ffffff", 0.2)


def test_stamp_rides_in_the_png_without_changing_its_pixels():
    pixels = np.random.default_rng(0).integers(0, 255, (8, 8, 4), np.uint8)
    pixels[..., 3] = 255
    stamped = with_stamp(png_bytes(pixels), "abc123")
    assert read_stamp(stamped) == "abc123"
    assert read_stamp(png_bytes(pixels)) is None
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(stamped))), pixels)


def test_stamp_changes_with_the_cif_and_with_the_look():
    look = RenderSettings().look()
    assert render_stamp("cif a", look) == render_stamp("cif a", dict(look))
    assert render_stamp("cif a", look) != render_stamp("cif b", look)
    assert render_stamp("cif a", look) != render_stamp("cif a", RenderSettings(camera="oblique").look())
    assert RenderSettings(pages=1).look() == look  # how fast is not what it looks like


def test_settings_from_the_shipped_config():
    images = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["images"]
    settings = RenderSettings.from_config(images, threads=1)
    assert (settings.size, settings.camera, settings.gl) == (512, "top", "llvmpipe")
    assert settings.page_count == 1  # two pages configured, one core given
    with pytest.raises(ValueError, match="unknown camera"):
        RenderSettings(camera="sideways")


def test_llvmpipe_flags_never_disable_the_gpu_path():
    assert "--disable-gpu" not in launch_flags("llvmpipe")
    assert launch_flags("llvmpipe", ["--foo"])[-1] == "--foo"
    with pytest.raises(ValueError, match="unknown GL backend"):
        launch_flags("opengl")


def test_shards_are_contiguous_disjoint_and_complete():
    manifest = pd.DataFrame({"mat_id": [f"m{i}" for i in range(10)]})
    shards = [shard_rows(manifest, k, 3) for k in range(3)]
    assert [list(s["mat_id"]) for s in shards] == [
        ["m0", "m1", "m2", "m3"], ["m4", "m5", "m6"], ["m7", "m8", "m9"],
    ]
    assert join_shards(shards)["mat_id"].tolist() == manifest["mat_id"].tolist()
    with pytest.raises(ValueError, match="out of range"):
        shard_rows(manifest, 3, 3)
    with pytest.raises(ValueError, match="more than one shard"):
        join_shards([shards[0], shards[0]])


def test_materials_without_a_usable_cif_keep_their_reason_and_start_no_browser(tmp_path, caplog):
    manifest = pd.DataFrame(
        {
            "mat_id": ["agm1", "agm2"],
            "ok": [False, True],
            "reason": ["structure: overlapping sites", ""],
            "cif": ["", str(tmp_path / "missing.cif")],
        }
    )
    caplog.set_level(logging.INFO)
    table = image_table(manifest, tmp_path / "png", RenderSettings(), logging.getLogger("test"))
    assert table.columns.tolist() == ["mat_id", "ok", "reason", "image", "seconds"]
    assert table["mat_id"].tolist() == ["agm1", "agm2"] and not table["ok"].any()
    assert table.loc[0, "reason"] == "no CIF: structure: overlapping sites"
    assert table.loc[1, "reason"].startswith("CIF unreadable")
    assert "started" not in caplog.text


def test_missing_browser_fails_fast_saying_how_to_install_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserNotFound, match="apt-get install chromium.*playwright install chromium"):
        find_browser("auto", playwright_download=str(tmp_path / "no-such-chrome"))
    start = time.perf_counter()
    items = [("agm001153991", real_cif("agm001153991"))]
    with pytest.raises(BrowserNotFound, match="apt-get install chromium"):
        render_structures(items, tmp_path / "png", RenderSettings(browser=str(tmp_path / "chromium")))
    assert time.perf_counter() - start < 15
    assert not psutil.Process().children(recursive=True)  # no scene worker, no driver left
