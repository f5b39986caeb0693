"""What shapes a picture, with nothing but the standard library: the fit's environment records it
in the model's description (`matfuse_model.json`), `matfuse predict` checks it against the look
this matfuse draws, and every PNG's stamp hashes it."""

# The paper's look: Crystal Toolkit's defaults, plus bonds to atoms outside the cell, no compass.
DISPLAY_OPTIONS = {
    "color_scheme": "VESTA",
    "radius_strategy": "uniform",
    "draw_image_atoms": True,
    "bonded_sites_outside_unit_cell": True,
    "hide_incomplete_bonds": True,
    "show_compass": False,
}
BONDING_STRATEGY = "CrystalNN"
# White, opaque background; the structure fills 90% of the frame.
BACKGROUND = "#ffffff"
ZOOM = 0.9

# Camera directions as (turn about the vertical screen axis, tilt towards the viewer), degrees.
# "top" is Crystal Toolkit's own view, down the Cartesian z axis: perpendicular to the a-b
# plane in pymatgen's lattice convention (a along x, b in the x-y plane); what the paper used.
# "oblique" turns and tilts the crystal so that three faces of a box-shaped cell show.
CAMERAS = {"top": (0.0, 0.0), "oblique": (30.0, 25.0)}


def look(size, camera):
    """Everything that shapes the picture of a structure (JSON-ready)."""
    return {
        "size": size,
        "camera": [camera, list(CAMERAS[camera])],
        "background": BACKGROUND,
        "zoom": ZOOM,
        "bonding": BONDING_STRATEGY,
        "display": DISPLAY_OPTIONS,
    }
