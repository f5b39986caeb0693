"""Finding and starting the headless Chromium that Playwright drives.

WebGL on a machine without a GPU needs a software rasteriser. Two work here:
- "llvmpipe": Mesa's multi-threaded LLVM rasteriser through ANGLE's OpenGL/EGL backend
  (Debian's libegl-mesa0 and libgl1-mesa-dri, which the chromium package pulls in). About
  twice as fast as SwiftShader here. --disable-gpu must not be given: it forces SwiftShader.
- "swiftshader": Chromium's bundled CPU Vulkan; works wherever Chromium runs, slower.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

log = logging.getLogger(__name__)

# A closed network: nothing may phone home, update itself or wait on QUIC.
QUIET_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
GL_FLAGS = {
    "llvmpipe": ["--use-gl=angle", "--use-angle=gl-egl", "--ignore-gpu-blocklist"],
    "swiftshader": [
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--ignore-gpu-blocklist",
    ],
}
SYSTEM_BROWSERS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
INSTALL_HINT = (
    "Install one: `apt-get install chromium` on Debian/Ubuntu, or "
    "`python -m playwright install chromium` elsewhere; or set images.browser.executable "
    "to a Chromium/Chrome binary."
)


# The WebGL renderer a page gets, e.g. "ANGLE (Mesa, llvmpipe (LLVM 15.0.6, 256 bits), ...)";
# null when the page gets no WebGL at all.
WEBGL_RENDERER_JS = """() => {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) { return null; }
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}"""


class BrowserNotFound(RuntimeError):
    """No Chromium the renderer can drive."""


def launch_flags(gl, extra_flags=()):
    """Chromium flags for a backend; `extra_flags` from config come last so they can override."""
    if gl not in GL_FLAGS:
        raise ValueError(f"unknown GL backend {gl!r}; choose one of {sorted(GL_FLAGS)}")
    return QUIET_FLAGS + GL_FLAGS[gl] + list(extra_flags)


def find_browser(executable, playwright_download=None):
    """The Chromium binary to use: an explicit path, or "auto" (system package, then Playwright's).

    Fails fast, before any page is served, with a message that says how to install one.
    """
    if executable != "auto":
        path = shutil.which(executable) or executable
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise BrowserNotFound(f"browser {executable!r} not found or not executable. {INSTALL_HINT}")
        return path
    for name in SYSTEM_BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if playwright_download and os.path.isfile(playwright_download):
        return playwright_download
    raise BrowserNotFound(
        f"no Chromium found (looked for {', '.join(SYSTEM_BROWSERS)} on PATH and for "
        f"Playwright's download). {INSTALL_HINT}"
    )


@contextlib.asynccontextmanager
async def chromium(executable, gl, extra_flags=(), env=None):
    """A headless Chromium for the duration; closed (its process group killed) on any exit.

    Playwright gives it a fresh temporary profile and --no-sandbox (needed as root), starts it
    in its own process group and kills that group on close or when this process goes away.
    """
    async with async_playwright() as playwright:
        path = find_browser(executable, playwright.chromium.executable_path)
        flags = launch_flags(gl, extra_flags)
        browser = await playwright.chromium.launch(executable_path=path, args=flags, env=env)
        log.info("started %s (Chromium %s) with %s", path, browser.version, " ".join(flags))
        try:
            yield browser
        finally:
            try:
                await browser.close()
                log.info("closed the browser")
            except PlaywrightError as error:  # already gone with its driver (e.g. Ctrl-C)
                log.info("browser already gone: %s", str(error).splitlines()[0])


async def webgl_renderer(executable="auto", gl="llvmpipe"):
    """(browser version, WebGL renderer or None) of a Chromium started as the renderer starts it."""
    async with chromium(executable, gl) as browser:
        page = await browser.new_page()
        return browser.version, await page.evaluate(WEBGL_RENDERER_JS)


def main(argv=None):
    """`python -m matfuse.render.browser --check`: exit 0 when a Chromium with WebGL is usable."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--check", action="store_true", required=True, help="check the browser")
    parser.add_argument("--executable", default="auto", help="browser path, or auto (default)")
    parser.add_argument("--gl", default="llvmpipe", choices=sorted(GL_FLAGS))
    args = parser.parse_args(argv)
    try:
        version, renderer = asyncio.run(webgl_renderer(args.executable, args.gl))
    except BrowserNotFound as error:
        print(error, file=sys.stderr)
        return 1
    if not renderer:
        print(f"Chromium {version} starts but gives pages no WebGL with gl={args.gl}", file=sys.stderr)
        return 1
    print(f"Chromium {version}: WebGL by {renderer}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
