"""The conda env files stay honest although conda channels cannot be reached here.

- Every module a rule's script imports, directly or through the matfuse modules it uses, is
  provided by that rule's env: declared there, or required (transitively, per the installed
  packages' metadata) by something declared there.
- Every pin in every env file is the lock's pin, and the env's Python is one pyproject allows;
  the files are exactly what `python -m matfuse.envfiles` makes from requirements.lock.
- pyproject.toml and requirements.lock agree: every declared pin is the lock's, and every
  locked package is required by a declared one (a dropped dependency leaves the lock too).
"""

import ast
import functools
import importlib.metadata
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from matfuse.envfiles import read_lock, required_closure, stale_files

RULE_BLOCK = re.compile(r"^(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n|\n)*)", re.M)


def directive(body, name):
    """A rule directive's single string value, as snakefmt lays it out (`name:` then the value)."""
    found = re.search(rf"^    {name}:\n        \"([^\"]+)\"", body, re.M)
    return found[1] if found else None


def rule_scripts_and_envs(rules_dir):
    """{rule: (script, env file)} for every rule with a script, paths resolved from its .smk."""
    found = {}
    for smk in sorted(Path(rules_dir).glob("*.smk")):
        for name, body in RULE_BLOCK.findall(smk.read_text()):
            script = directive(body, "script")
            if script:
                env = directive(body, "conda")
                found[name] = (smk.parent / script, env and smk.parent / env)
    return found


def module_file(module, src):
    """The source file of a module of the matfuse package, or None when the name is no module."""
    base = Path(src).joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imports_of(path, module):
    """Dotted names `path` imports anywhere in it (function-level imports count: they run too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(script, src):
    """{module: where it is imported} for a script and, transitively, the matfuse modules it uses."""
    found = {}
    queue, seen = [(Path(script), "__main__")], set()
    while queue:
        path, module = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path, module):
            top = name.partition(".")[0]
            if top == "matfuse":
                # importing matfuse.a.b runs matfuse/__init__.py and matfuse/a/__init__.py too
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):
                    dotted = ".".join(parts[:depth])
                    file = module_file(dotted, src)
                    if file:
                        queue.append((file, dotted))
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(name, path.name)
    return found


@functools.cache
def installed_top_levels():
    return importlib.metadata.packages_distributions()


@functools.cache
def distribution_files(dist):
    return {str(f) for f in importlib.metadata.distribution(dist).files or []}


def distributions_of(module):
    """The installed distributions that provide a dotted module; namespace packages (autogluon)
    are narrowed to the distribution that holds the submodule."""
    parts = module.split(".")
    candidates = {canonicalize_name(d) for d in installed_top_levels().get(parts[0], [])}
    for depth in range(len(parts), 1, -1):
        stem = "/".join(parts[:depth])
        holders = {d for d in candidates if any(f.startswith(stem + "/") or f == stem + ".py" for f in distribution_files(d))}
        if holders:
            return holders
    return candidates


def env_declarations(env_file):
    """(Python version, pip requirements) an env file declares."""
    spec = yaml.safe_load(Path(env_file).read_text())
    python, pip = None, []
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            pip += [Requirement(line) for line in dep.get("pip", [])]
        elif dep.startswith("python="):
            python = dep.split("=", 1)[1]
        elif dep != "pip":
            pip.append(Requirement(re.sub(r"^([\w.-]+)=(?!=)", r"\1==", dep)))
    return python, pip


def declared_requirements(pyproject):
    """(allowed Pythons, runtime and dev requirements) of pyproject.toml."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["dev"]
    return SpecifierSet(project["requires-python"]), [Requirement(r) for r in lines]


def lock_specifiers(lock_file):
    return {name: Requirement(line).specifier for name, line in read_lock(lock_file).items()}


def env_problems(rules_dir, src, pyproject):
    """Every way the env files disagree with the scripts or with the lock, in words."""
    requires_python, _ = declared_requirements(pyproject)
    pins = lock_specifiers(Path(pyproject).with_name("requirements.lock"))
    problems = []
    for env_file in sorted(Path(rules_dir).parent.joinpath("envs").glob("*.yaml")):
        python, declared = env_declarations(env_file)
        if python is None or python not in requires_python:
            problems.append(f"{env_file.name}: python={python} is not what pyproject allows ({requires_python})")
        for req in declared:
            pin = pins.get(canonicalize_name(req.name))
            if pin != req.specifier:
                problems.append(f"{env_file.name}: {req} but requirements.lock pins {req.name}{pin or ' nothing'}")
    for rule, (script, env_file) in rule_scripts_and_envs(rules_dir).items():
        if env_file is None:
            problems.append(f"rule {rule}: has a script but no conda env")
            continue
        provided = required_closure(env_declarations(env_file)[1])
        for module, where in sorted(third_party_imports(script, src).items()):
            dists = distributions_of(module)
            if not dists:
                problems.append(f"rule {rule}: {where} imports {module}, which no installed distribution provides")
            elif not dists & provided:
                problems.append(
                    f"rule {rule}: {where} imports {module} ({', '.join(sorted(dists))}), "
                    f"which {env_file.name} does not provide"
                )
    return problems


def test_every_rule_with_a_script_is_found():
    found = rule_scripts_and_envs(REPO / "rules")
    scripts = {p.resolve() for p, _ in found.values()}
    assert {"sample_materials", "fit_model", "metric_figure"} <= set(found)
    assert scripts == {p.resolve() for p in (REPO / "workflow/scripts").glob("*.py")}


def test_imports_are_followed_through_matfuse():
    imports = third_party_imports(REPO / "workflow/scripts/fit_model.py", REPO / "src")
    # fit_model.py imports only matfuse; torch and AutoGluon come in through matfuse.train
    assert {"torch", "autogluon.multimodal", "pandas"} <= set(imports)
    assert distributions_of("autogluon.multimodal") == {"autogluon-multimodal"}


def test_env_files_provide_every_import_and_agree_with_the_lock():
    assert env_problems(REPO / "rules", REPO / "src", REPO / "pyproject.toml") == []


def test_env_files_are_what_the_lock_generates():
    assert stale_files(REPO, write=False) == [], "run: python -m matfuse.envfiles"


def test_pyproject_and_the_lock_agree():
    _, declared = declared_requirements(REPO / "pyproject.toml")
    pins = lock_specifiers(REPO / "requirements.lock")
    assert [str(r) for r in declared if pins.get(canonicalize_name(r.name)) != r.specifier] == []
    assert sorted(set(pins) - required_closure(declared)) == []


def test_a_stale_env_file_is_named(repo_copy):
    env = repo_copy / "envs/automm.yaml"
    env.write_text(env.read_text().replace("      - timm==1.0.3\n", ""))
    assert stale_files(repo_copy, write=False) == [str(env)]
    stale_files(repo_copy, write=True)
    assert env.read_text() == (REPO / "envs/automm.yaml").read_text()


@pytest.fixture
def repo_copy(tmp_path):
    for name in ("rules", "envs", "workflow", "src"):
        shutil.copytree(REPO / name, tmp_path / name, symlinks=True)
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copy(REPO / "requirements.lock", tmp_path)
    return tmp_path


def test_a_missing_package_is_reported(repo_copy):
    env = repo_copy / "envs/report.yaml"
    env.write_text(env.read_text().replace("      - matplotlib==3.11.2\n", ""))
    problems = env_problems(repo_copy / "rules", repo_copy / "src", repo_copy / "pyproject.toml")
    assert any("rule benchmark_summary" in p and "matplotlib" in p and "report.yaml" in p for p in problems), problems


def test_a_pin_that_differs_from_the_lock_is_reported(repo_copy):
    env = repo_copy / "envs/automm.yaml"
    env.write_text(env.read_text().replace("autogluon.multimodal==1.6.3", "autogluon.multimodal==1.5.0"))
    problems = env_problems(repo_copy / "rules", repo_copy / "src", repo_copy / "pyproject.toml")
    assert problems == ["automm.yaml: autogluon.multimodal==1.5.0 but requirements.lock pins autogluon.multimodal==1.6.3"]
