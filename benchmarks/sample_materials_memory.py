"""Speed and peak memory of sample_materials over 1, 2 and 4 Alexandria-format files, the files
read by 1 vs 2 processes.

Streaming means the peak must stay flat as files are added, and parallel reading must give the
same sample. The files are the 117 real sample entries repeated with new ids (bz2, as the
official files are). Each (files, processes) case runs in its own process, side by side in one
run; peak RSS is the sampling process's, and the largest worker's. Usage:
    PYTHONPATH=src python benchmarks/sample_materials_memory.py [entries_per_file]
"""

import bz2
import copy
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "alexandria" / "sample.json.bz2"
N_SAMPLED = 1000


def write_file(path: Path, entries: list, n: int, file_index: int) -> None:
    with bz2.open(path, "wt", compresslevel=1) as out:
        out.write('{"entries": [')
        for i in range(n):
            entry = copy.deepcopy(entries[i % len(entries)])
            entry["data"]["mat_id"] = f"agm{file_index}{i:08d}"
            out.write(("," if i else "") + json.dumps(entry))
        out.write("]}")


def measure(processes: int, files: list[str]) -> None:
    """Runs in a child process: sample 1,000 and print seconds, CPU-seconds, peak RSS (MiB) of
    this process and of its largest worker, and a digest of the sample, as JSON."""
    import yaml

    from matfuse.materials import sample_materials

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    data = {**config["data"], "n_materials": N_SAMPLED}
    start = time.perf_counter()
    materials, _, rejected = sample_materials(
        files, data, config["targets"], seed=42, processes=processes
    )
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    sample = "\n".join(materials["mat_id"]) + "|" + rejected.to_csv()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime,
                "peak_mib": own.ru_maxrss / 1024,
                "worker_peak_mib": workers.ru_maxrss / 1024,
                "kept": len(materials),
                "digest": hashlib.sha256(sample.encode()).hexdigest()[:12],
            }
        )
    )


def main(entries_per_file: int) -> None:
    with bz2.open(SAMPLE) as f:
        entries = json.load(f)["entries"]
    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp) / f"alexandria_{i:03d}.json.bz2" for i in range(4)]
        for i, path in enumerate(files):
            write_file(path, entries, entries_per_file, i)
        size = sum(p.stat().st_size for p in files) / len(files) / 2**20
        print(
            f"{entries_per_file} entries per file, {size:.1f} MiB compressed each; "
            f"sample of {N_SAMPLED:,}"
        )
        print(
            "files  processes  entries  seconds  entries/s  CPU-s  speed-up"
            "  peak RSS MiB  worker peak MiB  sample"
        )
        for n_files in (1, 2, 4):
            chosen = [str(p) for p in files[:n_files]]
            serial = None
            for processes in (1, 2) if n_files > 1 else (1,):
                run = subprocess.run(
                    [sys.executable, __file__, "--measure", str(processes), *chosen],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                result = json.loads(run.stdout.splitlines()[-1])
                serial = serial or result
                n = n_files * entries_per_file
                print(
                    f"{n_files:5d}  {processes:9d}  {n:7d}  {result['seconds']:7.1f}"
                    f"  {n / result['seconds']:9.0f}  {result['cpu_s']:5.1f}"
                    f"  {serial['seconds'] / result['seconds']:7.2f}x"
                    f"  {result['peak_mib']:12.0f}  {result['worker_peak_mib']:15.0f}"
                    f"  {result['digest']}{'' if result['digest'] == serial['digest'] else ' DIFFERS'}"
                )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(int(sys.argv[2]), sys.argv[3:])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
