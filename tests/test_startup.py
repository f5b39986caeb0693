"""Start-up errors: the run stops before any job, with one short line naming what to set."""

import socket
import subprocess

import pytest
import yaml
from workflow_helpers import SNAKEMAKE, copy_workflow, workflow_env

from conftest import REPO

TABLE_FIXTURE = REPO / "tests" / "data" / "table_fixture"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("startup"))


def run(workdir, override, *args, env=None):
    """snakemake on the tiny config plus `override`; the completed process."""
    (workdir / "override.yaml").write_text(yaml.safe_dump(override))
    cmd = [SNAKEMAKE, *args, "--configfile", "config/tiny.yaml", "override.yaml"]
    return subprocess.run(
        cmd, cwd=workdir, env=env or workflow_env(), capture_output=True, text=True, timeout=600
    )


def assert_short_error_naming(proc, *keys):
    """Failed; short; no traceback; each key named in the error at the end of the output."""
    output = proc.stdout + proc.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert proc.returncode != 0, output
    assert len(lines) < 15 and "Traceback" not in output, output
    # the last line is Snakemake's own `File "Snakefile", line N`; the error is just above it
    end = "\n".join(lines[-2:])
    assert all(key in end for key in keys), output


def closed_port():
    """A local TCP port nothing listens on, so a connect is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TABLE = {"source": "table", "table": {"id_column": "id", "structure_column": "cif"}}


@pytest.mark.parametrize(
    "override, keys",
    [
        ({"data": TABLE}, ["data.table.path"]),
        ({"data": {**TABLE, "table": {"path": "nowhere/mine.csv"}}}, ["data.table.path", "nowhere/mine.csv"]),
        ({"data": {"n_materials": 50, "min_materials": 60}}, ["data.min_materials", "data.n_materials"]),
        (
            {"data": {**TABLE, "table": {"path": str(TABLE_FIXTURE / "materials.csv"), "encoding": "utf-9"}}},
            ["data.table.encoding"],
        ),
    ],
    ids=["table-without-path", "table-path-missing", "min-above-n", "unknown-encoding"],
)
def test_config_errors_stop_before_the_dag_naming_the_key(workdir, override, keys):
    assert_short_error_naming(run(workdir, override, "-n"), *keys)


def test_a_real_run_stops_the_same_way(workdir):
    proc = run(workdir, {"data": TABLE}, "--cores", "1")
    assert_short_error_naming(proc, "data.table.path")
    assert not (workdir / "results").exists()


def test_offline_download_stops_naming_the_local_file_settings(workdir):
    """The README's first command offline: no local files, the download host unreachable."""
    env = workflow_env()
    env.pop("MATFUSE_ALEXANDRIA_FILES")
    base_url = f"http://127.0.0.1:{closed_port()}/data/pbe"
    override = {"data": {"alexandria": {"local_files": [], "base_url": base_url}}}
    proc = run(workdir, override, "-n", env=env)
    assert_short_error_naming(
        proc, "data.alexandria.local_files", "MATFUSE_ALEXANDRIA_FILES", "data.alexandria.base_url"
    )
    assert "Connection refused" in proc.stdout + proc.stderr


def test_files_already_downloaded_need_no_network(tmp_path, alexandria_sample):
    workdir = copy_workflow(tmp_path)
    env = workflow_env()
    env.pop("MATFUSE_ALEXANDRIA_FILES")
    (workdir / "resources" / "alexandria").mkdir(parents=True)
    (workdir / "resources/alexandria/alexandria_000.json.bz2").write_bytes(
        alexandria_sample.read_bytes()
    )
    override = {
        "data": {
            "alexandria": {"local_files": [], "indices": [0], "base_url": f"http://127.0.0.1:{closed_port()}"}
        }
    }
    proc = run(workdir, override, "-n", "results/data/materials.parquet", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sample_materials" in proc.stdout

