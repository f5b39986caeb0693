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
