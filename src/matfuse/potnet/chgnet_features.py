"""`chgnet` mode: pretrained CHGNet crystal features, offline from the weights in its wheel.

CHGNet 0.3.0 was pretrained on Materials Project relaxation trajectories (MPtrj): energies,
forces, stresses and magnetic moments. Its features therefore carry information from another,
much larger DFT data set — say so wherever these embeddings are compared with PotNet's.

The 128-d vector is two per-atom means of CHGNet's atom features: after its last
convolution (CHGNet's own crystal feature, which it sums over atoms, divided by the atom count
so it does not grow with the cell) and after the one before (which CHGNet also returns).
"""

import logging

import numpy as np
from pymatgen.core import Structure

from matfuse.potnet.model import EMBEDDING_DIM

log = logging.getLogger(__name__)

CHGNET_MODEL = "0.3.0"
DESCRIPTION = (
    f"chgnet-{CHGNET_MODEL} (pretrained on Materials Project relaxations, MPtrj; "
    "not trained on this study's data)"
)


def chgnet_embeddings(cif_paths, batch_size=16):
    """(vector, "") or (None, reason) per CIF path, in order."""
    from chgnet.model import CHGNet  # heavy import, needed only in this mode

    model = CHGNet.load(model_name=CHGNET_MODEL, use_device="cpu", verbose=False)
    model.eval()
    results = [None] * len(cif_paths)
    structures = {}
    for index, path in enumerate(cif_paths):
        try:
            structures[index] = Structure.from_file(path)
        except Exception as error:
            results[index] = (None, f"pymatgen could not read {path}: {type(error).__name__}: {error}")
    indices = list(structures)
    for start in range(0, len(indices), batch_size):
        batch = indices[start : start + batch_size]
        try:
            vectors = _predict(model, [structures[i] for i in batch], batch_size)
        except Exception:  # one bad structure fails the whole batch: find it one by one
            vectors = []
            for i in batch:
                try:
                    vectors.extend(_predict(model, [structures[i]], 1))
                except Exception as error:
                    vectors.append(f"CHGNet failed: {type(error).__name__}: {error}")
        for i, vector in zip(batch, vectors):
            results[i] = (None, vector) if isinstance(vector, str) else (vector, "")
        log.info("chgnet: %d / %d structures", min(start + batch_size, len(indices)), len(indices))
    return results


def _predict(model, structures, batch_size):
    predictions = model.predict_structure(
        structures,
        task="e",
        return_crystal_feas=True,
        return_atom_feas=True,
        batch_size=batch_size,
    )
    vectors = []
    for structure, prediction in zip(structures, predictions):
        last = np.asarray(prediction["crystal_fea"]) / len(structure)
        before_last = np.asarray(prediction["atom_fea"]).mean(axis=0)
        vectors.append(np.concatenate([last, before_last]).astype(np.float32))
        if vectors[-1].shape != (EMBEDDING_DIM,):
            raise ValueError(f"CHGNet features of shape {vectors[-1].shape}, expected ({EMBEDDING_DIM},)")
    return vectors
