"""Render settings, read from the `images:` section of the workflow config."""

import dataclasses
import os

from matfuse.render.look import CAMERAS, look


@dataclasses.dataclass(frozen=True)
class RenderSettings:
    """How to render. `look()` is the part that changes pixels (it goes into each PNG's stamp)."""

    size: int = 512
    camera: str = "top"
    pages: int = 2
    scene_workers: int = 1
    timeout: float = 60.0
    retries: int = 1
    min_foreground: float = 0.01
    browser: str = "auto"
    gl: str = "llvmpipe"
    browser_flags: tuple = ()
    threads: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)

    def __post_init__(self):
        if self.camera not in CAMERAS:
            raise ValueError(f"unknown camera {self.camera!r}; choose one of {sorted(CAMERAS)}")

    @classmethod
    def from_config(cls, images, threads=None):
        """From the `images:` config section; `threads` (a job's cores) caps pages and GL threads."""
        browser = images.get("browser", {})
        fields = {
            "size": images.get("size"),
            "camera": images.get("camera"),
            "pages": images.get("pages"),
            "scene_workers": images.get("scene_workers"),
            "timeout": images.get("timeout"),
            "retries": images.get("retries"),
            "min_foreground": images.get("min_foreground"),
            "browser": browser.get("executable"),
            "gl": browser.get("gl"),
            "browser_flags": tuple(browser.get("flags", ())),
            "threads": threads,
        }
        return cls(**{name: value for name, value in fields.items() if value is not None})

    @property
    def page_count(self):
        """Pages drawing at once: as configured, but no more than the job's cores."""
        return max(1, min(self.pages, self.threads))

    def look(self):
        """Everything that shapes the picture."""
        return look(self.size, self.camera)
