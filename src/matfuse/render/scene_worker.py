"""Scene worker process: `python -m matfuse.render.scene_worker`, fed by matfuse.render.workers."""

import json
import os
import sys
import time

from matfuse.render.scene import component_class, cif_scene_json


def serve_requests(requests, replies):
    """Scene worker loop: one JSON request per line in; a JSON header line plus the scene out.

    Request: {"cif": path, "camera": name}. Reply header: {"length", "bonds", "seconds"} followed
    by `length` bytes of scene JSON, or {"error": "..."} for a structure that cannot be drawn.
    """
    for line in requests:
        request = json.loads(line)
        start = time.perf_counter()
        try:
            text, n_bonds = cif_scene_json(request["cif"], request["camera"])
        except Exception as error:  # a bad structure is an answer, not the end of the worker
            header, body = {"error": f"{type(error).__name__}: {error}"}, b""
        else:
            body = text.encode()
            header = {"length": len(body), "bonds": n_bonds, "seconds": time.perf_counter() - start}
        replies.write(json.dumps(header).encode() + b"\n" + body)
        replies.flush()


if __name__ == "__main__":
    # Replies get the real stdout; anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    component_class()  # import while the browser starts, not on the first request
    serve_requests(sys.stdin.buffer, replies)
    replies.close()
    os._exit(0)  # nothing to clean up; tearing down Crystal Toolkit's imports takes seconds
