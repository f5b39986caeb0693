"""Compatibility shims that crystal-toolkit 2026.7.20 needs with pymatgen 2026.10.

pymatgen renamed the graph constructors ``with_local_env_strategy``/``with_empty_graph``/
``with_edges`` to ``from_*``. Crystal Toolkit still calls the old names inside a ``try`` that
swallows every exception, so without these aliases every structure would be drawn without
bonds (and without any error) -- the worst kind of failure for an image modality.
"""

from pymatgen.analysis.graphs import MoleculeGraph, StructureGraph

_RENAMED = {
    "with_local_env_strategy": "from_local_env_strategy",
    "with_empty_graph": "from_empty_graph",
    "with_edges": "from_edges",
}


def apply_pymatgen_aliases():
    """Give the graph classes the old constructor names where only the new ones exist."""
    for cls in (StructureGraph, MoleculeGraph):
        for old, new in _RENAMED.items():
            if not hasattr(cls, old) and hasattr(cls, new):
                setattr(cls, old, getattr(cls, new))


def apply_deterministic_neighbour_order():
    """Break pymatgen's distance ties between bonded neighbours by (site index, image).

    `StructureGraph.get_connected_sites` sorts a set by distance only, so neighbours at exactly
    the same distance (symmetric ones: most of them) come in set order. That order follows
    hashes that change from process to process (hash(None), the unset bond weight, is an
    address on Python < 3.12; PYTHONHASHSEED does not fix it), and Crystal Toolkit draws bonds
    and polyhedron vertices in that order: translucent polyhedra blend differently, so the same
    structure gave pixels that differed between runs. The tie-break keeps "closest first".
    """
    original = StructureGraph.get_connected_sites
    if getattr(original, "breaks_ties", False):
        return

    def get_connected_sites(self, n, jimage=(0, 0, 0)):
        sites = original(self, n, jimage=jimage)
        return sorted(sites, key=lambda site: (site.dist, site.index, site.jimage))

    get_connected_sites.__doc__ = original.__doc__
    get_connected_sites.breaks_ties = True
    StructureGraph.get_connected_sites = get_connected_sites
