"""Real renders in headless Chromium: pictures, failures, staleness, clean shutdown.

Run `MATFUSE_UPDATE_DOC_IMAGES=1 pytest tests/test_render_browser.py` to rewrite the README's
pictures in docs/images/ from the pipeline (otherwise they are compared with fresh renders).
"""

import asyncio
import base64
import io
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
import pytest
from PIL import Image
from render_helpers import (
    DOC_IMAGES, REAL_IDS, REPO, huge_cell, perovskite, real_cif, rock_salt, write_cif,
)

from matfuse.render import RenderSettings, render_structures
from matfuse.render.app import FIT_FOR_BATCHES_JS, PAGE_READY_JS, RENDER_JS, build_app, serve
from matfuse.render.browser import chromium
from matfuse.render.scene import cif_scene_json
from matfuse.render.validate import foreground_fraction

pytestmark = pytest.mark.render

SIZE = 256  # small pictures keep the tests quick; the pipeline default is 512
VESTA = {"Na": (249, 220, 60), "Cl": (49, 252, 2)}


class Watch:
    """Records, while a batch runs, every process below this one and the page server's port."""

    def __init__(self):
        self.processes = {}
        self.ports = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.handler = logging.Handler()
        self.handler.emit = self._record_port

    def _poll(self):
        me = psutil.Process()
        while not self.stop.wait(0.05):
            for process in me.children(recursive=True):
                try:
                    self.processes.setdefault(process.pid, (process, " ".join(process.cmdline())))
                except psutil.Error:
                    pass

    def _record_port(self, record):
        if match := re.search(r"http://127\.0\.0\.1:(\d+)/", record.getMessage()):
            self.ports.append(int(match.group(1)))

    def __enter__(self):
        logging.getLogger("matfuse").addHandler(self.handler)
        logging.getLogger("matfuse").setLevel(logging.INFO)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        logging.getLogger("matfuse").removeHandler(self.handler)

    def alive(self):
        return [
            command for process, command in self.processes.values()
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        ]


def pixels(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One batch: four real Alexandria structures, NaCl, SrTiO3 and three that cannot be drawn."""
    folder = tmp_path_factory.mktemp("render")
    cifs = folder / "cif"
    cifs.mkdir()
    garbage = cifs / "garbage.cif"
    garbage.write_text("data_garbage\nloop_\n_atom_site_label\nX1 this is not a structure\n")
    items = [(mat_id, real_cif(mat_id)) for mat_id in REAL_IDS] + [
        ("NaCl", write_cif(rock_salt(), cifs / "NaCl.cif")),
        ("SrTiO3", write_cif(perovskite(), cifs / "SrTiO3.cif")),
        ("huge", write_cif(huge_cell(), cifs / "huge.cif")),
        ("garbage", garbage),
        ("missing", cifs / "missing.cif"),
    ]
    settings = RenderSettings(size=SIZE, pages=2)
    with Watch() as watch:
        table = render_structures(items, folder / "png", settings).set_index("mat_id")
    return {"folder": folder, "items": items, "settings": settings, "table": table, "watch": watch}


def test_real_structures_become_centred_filled_opaque_pictures(batch):
    table = batch["table"]
    for mat_id in REAL_IDS + ["NaCl", "SrTiO3"]:
        row = table.loc[mat_id]
        assert row["ok"] and row["reason"] == "" and row["seconds"] > 0, (mat_id, row["reason"])
        image = Image.open(row["image"])
        assert image.size == (SIZE, SIZE)
        rgba = np.asarray(image.convert("RGBA"))
        assert rgba[..., 3].min() == 255  # opaque
        drawn = (np.abs(rgba[..., :3].astype(int) - 255) > 8).any(-1)
        assert foreground_fraction(rgba, (255, 255, 255)) > 0.1
        rows, cols = np.nonzero(drawn)
        # centred, and filling the frame along at least one axis (the 0.9 zoom leaves a margin)
        assert abs((rows.min() + rows.max()) / 2 - SIZE / 2) < 0.1 * SIZE, mat_id
        assert abs((cols.min() + cols.max()) / 2 - SIZE / 2) < 0.1 * SIZE, mat_id
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) > 0.75 * SIZE, mat_id


def test_rock_salt_shows_crystal_toolkits_vesta_colours(batch):
    rgb = pixels(batch["table"].loc["NaCl", "image"])
    for element, colour in VESTA.items():
        close = (np.abs(rgb - np.array(colour)) < 30).all(-1)
        assert close.mean() > 0.01, f"{element} colour {colour} missing"


def test_structures_that_cannot_be_drawn_are_recorded_with_their_reason(batch):
    table = batch["table"]
    assert table.loc["garbage", "reason"].startswith("no scene: ")
    assert table.loc["missing", "reason"].startswith("CIF unreadable")
    assert table.loc["huge", "reason"].startswith("blank render: ")
    for mat_id in ["garbage", "missing", "huge"]:
        assert not table.loc[mat_id, "ok"] and table.loc[mat_id, "image"] == ""
        assert not (batch["folder"] / "png" / f"{mat_id}.png").exists()
    assert table["ok"].sum() == len(REAL_IDS) + 2


def test_browser_workers_and_server_are_gone_after_the_job(batch):
    watch = batch["watch"]
    commands = [command for _, command in watch.processes.values()]
    assert any("chromium" in command for command in commands)
    assert any("matfuse.render.scene_worker" in command for command in commands)
    assert watch.alive() == []
    assert len(watch.ports) >= 1
    for port in watch.ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_rerun_draws_only_what_is_missing_or_stale(batch, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    pngs = tmp_path / "png"
    shutil.copytree(batch["folder"] / "png", pngs)
    drawn = batch["table"].index[batch["table"]["ok"]]
    items = [
        (mat_id, shutil.copy(cif, tmp_path / f"{mat_id}.cif"))
        for mat_id, cif in batch["items"]
        if mat_id in drawn
    ]
    before = {path.name: path.stat().st_mtime_ns for path in pngs.glob("*.png")}

    start = time.perf_counter()
    again = render_structures(items, pngs, batch["settings"]).set_index("mat_id")
    assert "started" not in caplog.text  # nothing to draw: no browser at all
    assert time.perf_counter() - start < 10
    assert again["ok"].all() and (again["seconds"] == 0).all()
    assert {path.name: path.stat().st_mtime_ns for path in pngs.glob("*.png")} == before

    write_cif(perovskite().scale_lattice(70.0), tmp_path / "SrTiO3.cif")  # changed CIF
    (pngs / "NaCl.png").write_bytes(b"not a png")  # a damaged picture
    caplog.clear()
    third = render_structures(items, pngs, batch["settings"]).set_index("mat_id")
    assert "2 to render" in caplog.text
    redrawn = {p.name for p in pngs.glob("*.png") if p.stat().st_mtime_ns != before.get(p.name)}
    assert redrawn == {"SrTiO3.png", "NaCl.png"}
    assert third.loc["SrTiO3", "ok"] and third.loc["NaCl", "ok"]
    assert not np.array_equal(pixels(pngs / "SrTiO3.png"), pixels(batch["table"].loc["SrTiO3", "image"]))


# three.js's own counters: frames drawn, geometries held in WebGL buffers.
SCENE_COUNTERS_JS = """() => {
  const info = window.matfuse.findScene().renderer.info;
  return [info.render.frame, info.memory.geometries];
}"""


def test_page_fitted_for_batches_draws_once_shares_geometries_frees_old_scenes_same_pixels():
    scenes = [cif_scene_json(real_cif(mat_id))[0] for mat_id in REAL_IDS[:2]]
    sequence = scenes * 3  # the same two structures, again and again

    async def draw(fitted):
        async with chromium("auto", "llvmpipe") as browser:
            with serve(build_app(SIZE, "#ffffff", 0.9)) as url:
                page = await browser.new_page(viewport={"width": SIZE, "height": SIZE})
                await page.goto(url)
                await page.wait_for_function(PAGE_READY_JS)
                if fitted:
                    assert await page.evaluate(FIT_FOR_BATCHES_JS)
                pictures, counters = [], []
                for scene in sequence:
                    pictures.append(await page.evaluate(RENDER_JS, scene))
                    counters.append(await page.evaluate(SCENE_COUNTERS_JS))
                return pictures, counters

    def decode(url):
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",")[1]))))

    plain_pictures, plain = asyncio.run(draw(fitted=False))
    fitted_pictures, fitted = asyncio.run(draw(fitted=True))
    for picture, same in zip(plain_pictures, fitted_pictures):
        np.testing.assert_array_equal(decode(picture), decode(same))
    frames = lambda counters: np.diff([frame for frame, _ in counters])  # noqa: E731
    assert (frames(fitted) == 1).all() and (frames(plain) >= 2).all()
    geometries = lambda counters: [held for _, held in counters]  # noqa: E731
    assert geometries(fitted)[-2:] == geometries(fitted)[:2]  # old scenes freed
    assert geometries(fitted)[0] < geometries(plain)[0] / 2  # alike spheres and bonds share one
    assert geometries(plain)[-1] > geometries(plain)[1]  # Crystal Toolkit alone keeps them


def test_a_render_that_times_out_is_retried_then_recorded(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    items = [("agm001153991", real_cif("agm001153991"))]
    settings = RenderSettings(size=SIZE, pages=1, timeout=0.01, retries=1)
    table = render_structures(items, tmp_path, settings)
    assert not table.loc[0, "ok"]
    assert table.loc[0, "reason"] == "render timed out after 0.01 s"
    assert "attempt 1 of 2 failed" in caplog.text and "attempt 2 of 2 failed" in caplog.text


RENDER_MANY = """
import logging, sys
from matfuse.render import RenderSettings, render_structures
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
items = [(line.split()[0], line.split()[1]) for line in sys.stdin]
render_structures(items, sys.argv[1], RenderSettings(size=256, pages=1))
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_stopped_job_leaves_no_browser_worker_or_server_behind(tmp_path, stop):
    cifs = sorted(real_cif(REAL_IDS[0]).parent.glob("alexandria_agm00*.cif"))[:40]
    listing = "".join(f"{path.stem.split('_')[1]} {path}\n" for path in cifs)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    job = subprocess.Popen(
        [sys.executable, "-c", RENDER_MANY, str(tmp_path)], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    job.stdin.write(listing)
    job.stdin.close()
    output = []
    for line in job.stdout:  # wait until drawing is under way
        output.append(line)
        if "done (" in line:
            break
    below = psutil.Process(job.pid).children(recursive=True)
    assert any("chromium" in " ".join(p.cmdline()) for p in below)
    assert any("scene_worker" in " ".join(p.cmdline()) for p in below)
    port = int(re.search(r"127\.0\.0\.1:(\d+)/", "".join(output)).group(1))
    job.send_signal(stop)
    output.append(job.stdout.read())
    assert job.wait(timeout=60) != 0
    if stop == signal.SIGTERM:  # a clean shutdown, said so; SIGKILL leaves it to the children
        assert "rendering was terminated" in "".join(output)
    psutil.wait_procs(below, timeout=10)
    assert [p for p in below if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_readme_pictures_come_from_the_pipeline(batch, tmp_path):
    """docs/images: NaCl and SrTiO3 from the top (the default) and SrTiO3 oblique."""
    oblique = render_structures(
        [("SrTiO3", write_cif(perovskite(), tmp_path / "SrTiO3.cif"))],
        tmp_path,
        RenderSettings(size=SIZE, pages=1, camera="oblique"),
    )
    fresh = {
        "NaCl_top.png": batch["table"].loc["NaCl", "image"],
        "SrTiO3_top.png": batch["table"].loc["SrTiO3", "image"],
        "SrTiO3_oblique.png": oblique.loc[0, "image"],
    }
    if os.environ.get("MATFUSE_UPDATE_DOC_IMAGES"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        for name, path in fresh.items():
            shutil.copy(path, DOC_IMAGES / name)
    for name, path in fresh.items():
        # the same picture, up to rasteriser differences between machines
        differs = (np.abs(pixels(path) - pixels(DOC_IMAGES / name)) > 32).any(-1)
        assert differs.mean() < 0.01, name
    assert not np.array_equal(pixels(fresh["SrTiO3_top.png"]), pixels(fresh["SrTiO3_oblique.png"]))
