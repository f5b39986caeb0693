"""Scene workers: Python processes that turn CIFs into scene JSON while the browser draws.

Plain subprocesses (`python -m matfuse.render.scene_worker`) talking over pipes, not multiprocessing:
they need no fork of this threaded process and no re-import of whatever script started it.
"""

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

import matfuse
from matfuse.render.errors import RenderError

log = logging.getLogger(__name__)
# Scene JSON of a large cell can be megabytes; the header line is small.
STREAM_LIMIT = 2**20


class SceneError(RuntimeError):
    """A structure that cannot be turned into a scene."""


def _worker_env():
    """This process's environment, with the matfuse it runs first on the path (same code)."""
    source = str(Path(matfuse.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": source + (os.pathsep + path if path else "")}


class SceneWorker:
    """One worker process; restarted if it dies, so one bad structure costs only itself."""

    def __init__(self, name):
        self.name = name
        self.process = None
        self.stderr_task = None
        self.answered = 0

    async def start(self):
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "matfuse.render.scene_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=STREAM_LIMIT,
            env=_worker_env(),
        )
        self.answered = 0
        self.stderr_task = asyncio.create_task(self._log_stderr(self.process.stderr))

    async def _log_stderr(self, stream):
        while line := await stream.readline():
            log.warning("%s: %s", self.name, line.decode(errors="replace").rstrip())

    async def scene(self, cif, camera):
        """(scene JSON text, number of bonds, seconds) for a CIF; SceneError if it cannot be drawn."""
        request = json.dumps({"cif": cif, "camera": camera}).encode() + b"\n"
        try:
            self.process.stdin.write(request)
            await self.process.stdin.drain()
            header = json.loads(await self.process.stdout.readline())
            body = await self.process.stdout.readexactly(header.get("length", 0))
        except (ConnectionError, asyncio.IncompleteReadError, json.JSONDecodeError) as error:
            code = await self.stop()
            if not self.answered:
                # it dies before answering anything: no structure will get a scene
                raise RenderError(f"{self.name} exited ({code}) before its first scene; see the log") from error
            await self.start()
            raise SceneError(f"scene worker died (exit code {code}): {error!r}") from error
        self.answered += 1
        if "error" in header:
            raise SceneError(header["error"])
        return body.decode(), header["bonds"], header["seconds"]

    async def stop(self):
        """Close its input (an idle worker exits), kill it if it does not; returns the exit code."""
        if self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 2)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self.stderr_task
        return self.process.returncode
