"""PNG checks and the staleness stamp every rendered PNG carries.

A PNG counts as rendered only if it decodes, has the requested size, is opaque and is not
blank: at least a minimum fraction of its pixels differ from the background colour. The stamp
(a tEXt chunk) is a hash of the CIF text and the settings that shape the picture, so a re-run
re-renders exactly the PNGs that are missing, invalid or made from another CIF or look.
"""

import hashlib
import io
import json
import struct
import zlib

import numpy as np
from PIL import Image, UnidentifiedImageError

STAMP_KEY = "matfuse-render"
# A pixel is background when every channel is within this many levels of the background colour
# (antialiasing and lighting never leave a drawn atom that close to white).
BACKGROUND_TOLERANCE = 8
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render_stamp(cif_text, look):
    """Hash of what a picture is made from: the CIF text and the look settings."""
    digest = hashlib.sha256(cif_text.encode())
    digest.update(json.dumps(look, sort_keys=True).encode())
    return digest.hexdigest()


def hex_rgb(colour):
    """'#rrggbb' -> (r, g, b)."""
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def foreground_fraction(pixels, background):
    """Fraction of pixels that differ from the background colour by more than the tolerance."""
    rgb = pixels[..., :3].astype(np.int16)
    return float((np.abs(rgb - np.array(background)) > BACKGROUND_TOLERANCE).any(-1).mean())


def png_problem(png, size, background, min_foreground):
    """Why the PNG (bytes) is not a usable render, or "" when it is."""
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        return f"PNG does not decode: {error}"
    if image.size != (size, size):
        return f"PNG is {image.size[0]}x{image.size[1]}, expected {size}x{size}"
    pixels = np.asarray(image.convert("RGBA"))
    if pixels[..., 3].min() < 255:
        return "PNG background is not opaque"
    fraction = foreground_fraction(pixels, hex_rgb(background))
    if fraction < min_foreground:
        return f"blank render: {fraction:.4f} of pixels drawn, minimum {min_foreground}"
    return ""


def with_stamp(png, stamp):
    """The PNG bytes with a tEXt stamp chunk right after IHDR (read without decoding pixels)."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    ihdr_end = len(PNG_SIGNATURE) + 8 + struct.unpack(">I", png[8:12])[0] + 4
    body = b"tEXt" + STAMP_KEY.encode("latin-1") + b"\0" + stamp.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def read_stamp(png):
    """The stamp in PNG bytes, or None."""
    try:
        return Image.open(io.BytesIO(png)).text.get(STAMP_KEY)
    except (UnidentifiedImageError, OSError, SyntaxError):
        return None
