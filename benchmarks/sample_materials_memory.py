"""Peak memory and speed of sample_materials over 1, 2 and 4 Alexandria-format files.

Streaming means the peak must stay flat as files are added. The files are the 117 real sample
entries repeated with new ids (bz2, as the official files are). Each count runs in its own
process, side by side in one run. Usage:
    PYTHONPATH=src python benchmarks/sample_materials_memory.py [entries_per_file]
"""

import bz2
import copy
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "alexandria" / "sample.json.bz2"


def write_file(path: Path, entries: list, n: int, file_index: int) -> None:
    with bz2.open(path, "wt", compresslevel=1) as out:
        out.write('{"entries": [')
        for i in range(n):
            entry = copy.deepcopy(entries[i % len(entries)])
            entry["data"]["mat_id"] = f"agm{file_index}{i:08d}"
            out.write(("," if i else "") + json.dumps(entry))
        out.write("]}")


def measure(files: list[str]) -> None:
    """Runs in a child process: sample 1,000 and print seconds and peak RSS (MiB) as JSON."""
    import yaml

    from matfuse.materials import sample_materials

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    start = time.perf_counter()
    materials, _, _ = sample_materials(files, config["data"], config["targets"], seed=42)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "kept": len(materials)}))


def main(entries_per_file: int) -> None:
    with bz2.open(SAMPLE) as f:
        entries = json.load(f)["entries"]
    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp) / f"alexandria_{i:03d}.json.bz2" for i in range(4)]
        for i, path in enumerate(files):
            write_file(path, entries, entries_per_file, i)
        size = sum(p.stat().st_size for p in files) / len(files) / 2**20
        print(
            f"{entries_per_file} entries per file, {size:.1f} MiB compressed each; sample of 1,000"
        )
        print("files  entries   seconds  entries/s  peak RSS MiB")
        for n_files in (1, 2, 4):
            chosen = [str(p) for p in files[:n_files]]
            run = subprocess.run(
                [sys.executable, __file__, "--measure", *chosen],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(run.stdout.splitlines()[-1])
            n = n_files * entries_per_file
            print(
                f"{n_files:5d}  {n:7d}  {result['seconds']:8.1f}  {n / result['seconds']:9.0f}"
                f"  {result['peak_mib']:12.0f}"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2:])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
