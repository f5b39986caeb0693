"""Crystal Toolkit scene JSON for a structure, made in Python with the Materials Project code path.

The scene comes from the same methods StructureMoleculeComponent runs on the server (CrystalNN
bonds, VESTA colours, uniform radii), with the paper's display options: bonded atoms outside
the unit cell drawn, no compass. The browser only draws it.
"""

import json
import math
import warnings

import numpy as np
from pymatgen.core import Lattice, Structure

from matfuse.render.compat import apply_deterministic_neighbour_order, apply_pymatgen_aliases
from matfuse.render.look import BONDING_STRATEGY, CAMERAS, DISPLAY_OPTIONS


def view_rotation(camera):
    """Rotation matrix that brings the crystal into the camera's view (the scene camera looks down -z)."""
    turn, tilt = (math.radians(a) for a in CAMERAS[camera])
    about_y = np.array(
        [[math.cos(turn), 0, math.sin(turn)], [0, 1, 0], [-math.sin(turn), 0, math.cos(turn)]]
    )
    about_x = np.array(
        [[1, 0, 0], [0, math.cos(tilt), -math.sin(tilt)], [0, math.sin(tilt), math.cos(tilt)]]
    )
    return about_x @ about_y


def oriented(structure, camera):
    """The structure with its Cartesian frame rotated for the camera (fractional coordinates kept)."""
    if CAMERAS[camera] == (0.0, 0.0):
        return structure
    rotation = view_rotation(camera)
    lattice = Lattice(structure.lattice.matrix @ rotation.T)
    return Structure(
        lattice,
        structure.species_and_occu,
        structure.frac_coords,
        site_properties=structure.site_properties,
    )


def component_class():
    """StructureMoleculeComponent, imported on first use (Crystal Toolkit takes seconds to import)."""
    apply_pymatgen_aliases()
    apply_deterministic_neighbour_order()
    from crystal_toolkit.components.structure import StructureMoleculeComponent

    return StructureMoleculeComponent


def remember_connected_sites(graph):
    """Answer this graph's neighbour queries from a memo: Crystal Toolkit asks for each drawn
    site's neighbours twice (to find the sites to draw, then to draw their bonds), and each
    answer rebuilds every neighbour as a new PeriodicSite. The graph is not changed while its
    scene is made; callers get their own list, as before."""
    ask = graph.get_connected_sites
    answers = {}

    def get_connected_sites(n, jimage=(0, 0, 0)):
        key = (n, tuple(jimage))
        if key not in answers:
            answers[key] = ask(n, jimage=jimage)
        return list(answers[key])

    graph.get_connected_sites = get_connected_sites


def structure_scene(structure, camera="top"):
    """Crystal Toolkit scene (a JSON-ready dict) and the number of bonds found."""
    SMC = component_class()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = SMC._preprocess_input_to_graph(
            oriented(structure, camera), bonding_strategy=BONDING_STRATEGY
        )
        remember_connected_sites(graph)
        # get_scene_and_legend only stores the legend on `self`: a bare instance is enough and
        # avoids registering a Dash component per structure.
        scene, _legend = SMC.get_scene_and_legend(SMC.__new__(SMC), graph, **DISPLAY_OPTIONS)
    return scene, graph.graph.number_of_edges()


def _builtin(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot put {type(value).__name__} into a scene")


def scene_json(scene):
    """Compact JSON text of a scene; non-finite coordinates are an error, not a blank image."""
    try:
        return json.dumps(scene, default=_builtin, allow_nan=False, separators=(",", ":"))
    except ValueError as error:
        raise ValueError("scene has non-finite coordinates") from error


def cif_scene_json(cif_path, camera="top"):
    """Scene JSON text and bond count for a CIF file: what the batch's scene workers run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structure = Structure.from_file(cif_path)
    scene, n_bonds = structure_scene(structure, camera)
    return scene_json(scene), n_bonds

