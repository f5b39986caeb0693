"""Render a batch of structures in one browser session: the image modality's driver.

One Chromium and one page server serve the whole batch. Scene generation (Python, in worker
processes) runs ahead of drawing (browser pages) through a bounded queue, so both stay busy;
several pages draw at once when cores allow. A render that times out, crashes its page or
comes back invalid is retried on a fresh page, then recorded as failed with its reason; the
batch goes on. PNGs that are current (same CIF, same look, valid) are kept, not redrawn.
"""

import asyncio
import base64
import contextlib
import dataclasses
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path

import pandas as pd
from playwright.async_api import Error as PlaywrightError

from matfuse.render.app import FIT_FOR_BATCHES_JS, PAGE_READY_JS, RENDER_JS, build_app, serve
from matfuse.render.browser import WEBGL_RENDERER_JS, chromium
from matfuse.render.errors import RenderError
from matfuse.render.look import BACKGROUND, ZOOM
from matfuse.render.validate import png_problem, read_stamp, render_stamp, with_stamp
from matfuse.render.workers import SceneError, SceneWorker

COLUMNS = ["mat_id", "ok", "reason", "image", "seconds"]
# Loading the page (Dash and three.js bundles, ~6 MB of JavaScript) takes seconds; generous
# because the machine may be busy. Separate from the per-render timeout in the settings.
PAGE_LOAD_SECONDS = 120
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]+$")
LOCAL_URL = re.compile(r"^(http://127\.0\.0\.1[:/]|data:|blob:)")


@dataclasses.dataclass(frozen=True)
class Job:
    mat_id: str
    cif: str
    png: Path
    stamp: str


def _row(mat_id, ok, reason="", image="", seconds=0.0):
    return {"mat_id": mat_id, "ok": ok, "reason": reason, "image": image, "seconds": seconds}


def render_structures(items, out_dir, settings, log=None):
    """Render `(mat_id, cif_path)` items to `out_dir/{mat_id}.png`.

    Returns one row per item, in order: mat_id, ok, reason ("" when ok), image (PNG path, ""
    when not ok), seconds (scene generation + drawing of that material; 0 when reused).
    """
    log = log or logging.getLogger(__name__)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = [mat_id for mat_id, _ in items]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate mat_id in the items to render")
    look = settings.look()
    rows, jobs = {}, []
    for mat_id, cif in items:
        if not SAFE_ID.match(mat_id):
            rows[mat_id] = _row(mat_id, False, f"mat_id {mat_id!r} is not a safe file name")
            continue
        png = out_dir / f"{mat_id}.png"
        try:
            stamp = render_stamp(Path(cif).read_text(), look)
        except (OSError, UnicodeDecodeError) as error:
            rows[mat_id] = _row(mat_id, False, f"CIF unreadable: {error}")
            png.unlink(missing_ok=True)
            continue
        if _is_current(png, stamp, settings):
            rows[mat_id] = _row(mat_id, True, image=str(png))
        else:
            jobs.append(Job(mat_id, str(cif), png, stamp))
    log.info(
        "%d materials: %d current PNGs kept, %d to render, %d unusable input",
        len(items), sum(r["ok"] for r in rows.values()), len(jobs),
        sum(not r["ok"] for r in rows.values()),
    )
    if jobs:
        start = time.perf_counter()
        rows.update(_run_until_done(_render_jobs(jobs, settings, log)))
        wall = time.perf_counter() - start
        failed = sum(not rows[job.mat_id]["ok"] for job in jobs)
        log.info(
            "rendered %d, failed %d in %.1f s (%.3f s per material incl. start-up)",
            len(jobs) - failed, failed, wall, wall / len(jobs),
        )
    return pd.DataFrame([rows[mat_id] for mat_id in ids], columns=COLUMNS)


def _is_current(png, stamp, settings):
    try:
        data = png.read_bytes()
    except OSError:
        return False
    problem = png_problem(data, settings.size, BACKGROUND, settings.min_foreground)
    return read_stamp(data) == stamp and not problem


def _run_until_done(coroutine):
    """Run the batch; SIGTERM cancels it like Ctrl-C, so browser, pages and server are shut down."""

    async def main():
        task = asyncio.current_task()
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coroutine
        finally:
            if in_main_thread:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        raise RenderError("rendering was terminated; browser and page server shut down") from None


@contextlib.asynccontextmanager
async def _scene_workers(count):
    """Started first, so their imports overlap the browser start and the page load."""
    workers = [SceneWorker(f"scene worker {i}") for i in range(count)]
    try:
        for worker in workers:
            await worker.start()
        yield workers
    finally:
        for worker in workers:
            if worker.process is not None:
                await worker.stop()


async def _render_jobs(jobs, settings, log):
    env = {**os.environ, "LP_NUM_THREADS": str(settings.threads)}  # Mesa's rasteriser threads
    async with (
        chromium(settings.browser, settings.gl, settings.browser_flags, env) as browser,
        _scene_workers(settings.scene_workers) as workers,
    ):
        with serve(build_app(settings.size, BACKGROUND, ZOOM)) as url:
            context = await browser.new_context(
                viewport={"width": settings.size, "height": settings.size}, device_scale_factor=1
            )
            blocked = []
            await context.route("**/*", lambda route: _local_only(route, blocked))
            drawing = _Drawing(browser, context, url, settings, log, len(jobs))
            pages = await asyncio.gather(*[drawing.open_page() for _ in range(settings.page_count)])
            renderer = await pages[0].evaluate(WEBGL_RENDERER_JS)
            log.info("%d page(s) ready, WebGL by %s; rendering %d", len(pages), renderer, len(jobs))
            if settings.gl not in str(renderer).lower():
                log.warning("asked for gl=%s but pages draw with %s", settings.gl, renderer)
            queue = asyncio.Queue(maxsize=len(pages) + 2)
            try:
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(_make_scenes(jobs, workers, queue, settings.camera, len(pages)))
                    for page in pages:
                        tasks.create_task(drawing.draw_all(page, queue))
            except ExceptionGroup as failure:  # the first cause reads better than the group
                raise failure.exceptions[0] from None
            if blocked:
                log.warning("blocked %d request(s) off this machine, e.g. %s", len(blocked), blocked[0])
    return drawing.results


async def _local_only(route, blocked):
    """The page may only talk to its own server: nothing from the network, no waiting on it."""
    if LOCAL_URL.match(route.request.url):
        await route.continue_()
    else:
        blocked.append(route.request.url)
        await route.abort()


async def _make_scenes(jobs, workers, queue, camera, n_pages):
    """Workers take jobs in turn and run at most a queue's length ahead of the drawing pages."""
    todo = iter(jobs)

    async def feed(worker):
        for job in todo:
            try:
                scene = await worker.scene(job.cif, camera)
            except SceneError as error:
                scene = error
            await queue.put((job, scene))

    await asyncio.gather(*[feed(worker) for worker in workers])
    for _ in range(n_pages):
        await queue.put(None)


class _Drawing:
    """The browser side of a batch: pages that draw scenes into validated PNGs, with retries."""

    def __init__(self, browser, context, url, settings, log, total):
        self.browser, self.context, self.url = browser, context, url
        self.settings, self.log = settings, log
        self.results = {}
        self.progress = _Progress(total, log)

    async def open_page(self):
        """A page with the scene mounted; RenderError (with the page's errors) if it never is."""
        page = await self.context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            await page.goto(self.url, timeout=PAGE_LOAD_SECONDS * 1000)
            await page.wait_for_function(PAGE_READY_JS, timeout=PAGE_LOAD_SECONDS * 1000)
            if not await page.evaluate(FIT_FOR_BATCHES_JS):
                self.log.warning(
                    "cannot reach the scene object: every frame is drawn (slower) and replaced "
                    "scenes are not freed (memory grows with each structure)"
                )
        except PlaywrightError as error:
            await page.close()
            raise RenderError(
                f"the Crystal Toolkit page did not load within {PAGE_LOAD_SECONDS} s "
                f"(page errors: {errors or 'none'}; if WebGL with gl={self.settings.gl!r} is "
                f"unavailable, try images.browser.gl: swiftshader): {error}"
            ) from error
        return page

    async def draw_all(self, page, queue):
        """One page's loop: the next scene from the queue, until the end marker."""
        while (entry := await queue.get()) is not None:
            job, scene = entry
            if isinstance(scene, SceneError):  # a bad structure: record it, go on
                self._record(job, f"no scene: {scene}")
                continue
            scene_text, n_bonds, scene_seconds = scene
            if n_bonds == 0:
                self.log.warning("%s: no bonds found; drawn as isolated atoms", job.mat_id)
            start = time.perf_counter()
            page, problem = await self._draw(page, job, scene_text)
            self._record(job, problem, scene_seconds + time.perf_counter() - start)
        if page is not None:
            await page.close()

    async def _draw(self, page, job, scene_text):
        """Draw with retries, each on a fresh page; returns the page to go on with and the problem."""
        settings = self.settings
        for attempt in range(1, settings.retries + 2):
            try:
                page = page or await self.open_page()
                data_url = await asyncio.wait_for(
                    page.evaluate(RENDER_JS, scene_text), settings.timeout
                )
                problem = await asyncio.to_thread(_store, data_url, job, settings)
            except TimeoutError:
                problem = f"render timed out after {settings.timeout} s"
            except (PlaywrightError, RenderError) as error:
                if not self.browser.is_connected():
                    raise RenderError(f"the browser went away while drawing {job.mat_id}") from error
                problem = f"page failed: {str(error).splitlines()[0]}"
            if not problem:
                return page, ""
            self.log.warning(
                "%s: attempt %d of %d failed: %s", job.mat_id, attempt, settings.retries + 1, problem
            )
            page = await _discard(page)
        return page, problem

    def _record(self, job, problem, seconds=0.0):
        if problem:
            job.png.unlink(missing_ok=True)  # a stale picture must not stand in for a failed render
            self.results[job.mat_id] = _row(job.mat_id, False, problem, seconds=seconds)
        else:
            self.results[job.mat_id] = _row(job.mat_id, True, image=str(job.png), seconds=seconds)
        self.progress.done(ok=not problem)


def _store(data_url, job, settings):
    """Validate the page's PNG, stamp it and write it atomically; the problem, or ""."""
    png = base64.b64decode(data_url.split(",", 1)[1])
    problem = png_problem(png, settings.size, BACKGROUND, settings.min_foreground)
    if not problem:
        partial = job.png.with_suffix(".png.part")
        partial.write_bytes(with_stamp(png, job.stamp))
        os.replace(partial, job.png)
    return problem


async def _discard(page):
    if page is not None:
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(page.close(), 10)
    return None


class _Progress:
    """A log line every 5% of the batch with the running rate."""

    def __init__(self, total, log):
        self.total, self.log = total, log
        self.count = self.failed = 0
        self.every = max(1, total // 20)
        self.start = time.perf_counter()

    def done(self, ok):
        self.count += 1
        self.failed += not ok
        if self.count % self.every == 0 or self.count == self.total:
            elapsed = time.perf_counter() - self.start
            self.log.info(
                "%d/%d done (%d failed), %.3f s per material",
                self.count, self.total, self.failed, elapsed / self.count,
            )
