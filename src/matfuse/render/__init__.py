"""The image modality: Crystal Toolkit renders of crystal structures, drawn by headless Chromium.

Names are imported on first use, so that `python -m matfuse.render.browser --check` and the
scene worker processes load only the modules they run.
"""

import importlib

_HOMES = {
    "render_structures": "matfuse.render.batch",
    "RenderError": "matfuse.render.errors",
    "BrowserNotFound": "matfuse.render.browser",
    "RenderSettings": "matfuse.render.settings",
}
__all__ = sorted(_HOMES)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
