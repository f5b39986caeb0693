"""The error that stops a whole batch (as opposed to one material's recorded failure)."""


class RenderError(RuntimeError):
    """The renderer itself cannot work (no WebGL, browser or scene worker gone)."""
