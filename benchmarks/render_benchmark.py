"""CPU and wall seconds per image of the renderer on real Alexandria structures, old vs new code.

The paper's loop took ~4.2 s an image (70 min for 1,000). Each variant (the code: this
checkout's `src/` and an older commit's, `--old`, by default the renderer before its CPU work;
the page count; the GL backend if several are given) renders the same structures from scratch
into its own folder, in rounds that alternate the variants, so all see the same machine load.
Each run is a fresh Python process on that code's `src/` (the old code is taken from git,
nothing of it is kept in the package). Printed: wall seconds per image with and without
start-up, CPU seconds per image with and without start-up (the whole process tree: less
sensitive to other jobs on a shared machine; the driver process counted from the call of
`render_structures`, not its imports, and this monitor not at all; "after start-up" is from the
pages being ready, which a batch of thousands approaches), that CPU by process kind, old and
new side by side,
failures with their reasons, whether old and new give the same pixels, and the 2D/1D vacuum
cells (ids agm1000.../agm2000...) apart.

    PYTHONPATH=src python benchmarks/render_benchmark.py            # all 2,475 structures
    PYTHONPATH=src python benchmarks/render_benchmark.py --every 10 # a fixed tenth (248)
    PYTHONPATH=src python benchmarks/render_benchmark.py --every 10 --pages 2 --gl llvmpipe,swiftshader
    PYTHONPATH=src python benchmarks/render_benchmark.py --every 10 --code new  # no old code
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from PIL import Image

from matfuse.render.look import BACKGROUND
from matfuse.render.validate import foreground_fraction, hex_rgb

REPO = Path(__file__).resolve().parents[1]
# The 2,475 structures live beside the repository, not in it (data/ ships 44 of them).
CIFS = REPO.parent / "shared" / "data" / "alexandria" / "lemat_genbench_structures_only"
PAPER_SECONDS = 4.2
# The renderer before its CPU work (shared geometries, neighbour memo): the "old" code.
OLD_CODE = "02db18a58929c84915c08399853f120c36be8a0e"
DRIVER = "render driver"

# One run in a fresh process on the code under test: the structures in, the table and the
# driver's own CPU seconds (from the call on, not its imports) and times out, as JSON.
RUN = """
import json, logging, resource, sys, time
from matfuse.render import RenderSettings, render_structures

class Ready(logging.Handler):
    at = cpu_at = None
    def emit(self, record):
        if "page(s) ready" in record.getMessage():
            Ready.at, Ready.cpu_at = time.perf_counter(), cpu()

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.WARNING)
logging.getLogger("matfuse").setLevel(logging.INFO)
logging.getLogger("matfuse").addHandler(Ready())
job = json.load(sys.stdin)
start_cpu, start = cpu(), time.perf_counter()
table = render_structures(job["items"], job["out"], RenderSettings(**job["settings"]))
end = time.perf_counter()
table.to_json(job["table"])
json.dump({"cpu": cpu() - start_cpu, "cpu_ready": (Ready.cpu_at or start_cpu) - start_cpu,
           "wall": end - start, "steady": end - (Ready.at or start)}, sys.stdout)
"""


class TreeMonitor:
    """CPU seconds (by process kind) and peak memory (summed PSS) of the processes below this one."""

    def __init__(self):
        self.cpu = {}
        self.kinds = {}
        self.peak_memory = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    @staticmethod
    def kind(process):
        command = process.cmdline()
        for arg in command:
            if arg.startswith("--type="):
                return "chromium " + arg.split("=", 1)[1]
        if any("scene_worker" in arg for arg in command):
            return "scene worker"
        if "-c" in command and command[0] == sys.executable:
            return DRIVER
        return Path(command[0]).name if command else None

    def _poll(self):
        me = psutil.Process()
        while not self.stop.wait(0.2):
            memory = 0
            for process in me.children(recursive=True):
                try:
                    times = process.cpu_times()
                    memory += process.memory_full_info().pss
                    # the last name it had: an exiting process has no command line left,
                    # and a starting one may still be a wrapper script (/usr/bin/chromium)
                    self.kinds[process.pid] = self.kind(process) or self.kinds.get(process.pid)
                    self.cpu[process.pid] = times.user + times.system
                except psutil.Error:
                    pass
            self.peak_memory = max(self.peak_memory, memory)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.by_kind = self.snapshot()

    def snapshot(self):
        """CPU seconds so far by process kind (as of the last poll)."""
        by_kind = Counter()
        for pid, seconds in list(self.cpu.items()):
            by_kind[self.kinds[pid] or "(unnamed)"] += seconds
        return by_kind


def code_path(code, scratch):
    """The `src/` folder that a variant's code runs from: this checkout's, or an old commit's."""
    if code == "new":
        return REPO / "src"
    folder = scratch / f"src-{code[:12]}"
    if not folder.exists():
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", code, "src"], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
    return folder / "src"


def run(items, out, settings, src):
    """One variant's run in a fresh process on `src`; the figures of that run.

    The tree's CPU is also noted when the driver logs that its pages are ready, to tell the
    start-up (browser, page loads, worker imports), paid once per batch, from the drawing.
    """
    env = {**os.environ, "PYTHONPATH": str(src)}
    job = {"items": items, "out": str(out), "settings": settings, "table": str(out) + ".json"}
    with TreeMonitor() as monitor:
        driver = subprocess.Popen(
            [sys.executable, "-c", RUN], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        driver.stdin.write(json.dumps(job))
        driver.stdin.close()
        log = []
        for line in driver.stderr:
            log.append(line)
            if "page(s) ready" in line:
                at_ready = monitor.snapshot()
            elif " WARNING " in line or " ERROR " in line:
                print("   ", line.rstrip())
        figures = json.loads(driver.stdout.read() or "null")
        if driver.wait():
            raise RuntimeError("the render run failed:\n" + "".join(log)[-4000:])
    monitor.by_kind[DRIVER] = figures["cpu"]  # from the call on: its imports are not rendering
    at_ready[DRIVER] = figures["cpu_ready"]
    table = pd.read_json(job["table"], dtype={"mat_id": str})
    return {**figures, "table": table, "cpu": monitor.by_kind, "cpu_ready": at_ready,
            "peak_memory": monitor.peak_memory}


def main():
    args = parse_args()
    if args.out:
        benchmark(args, Path(args.out))
    else:
        with tempfile.TemporaryDirectory(prefix="matfuse-render-benchmark-") as out:
            benchmark(args, Path(out))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=1, help="take every n-th structure (sorted by id)")
    parser.add_argument("--code", default="old,new", help="code to compare, comma-separated: old, new, or commits")
    parser.add_argument("--old", default=OLD_CODE, help="the commit that is the old code")
    parser.add_argument("--pages", default="1,2", help="page counts to compare")
    parser.add_argument("--gl", default="llvmpipe", help="GL backends to compare")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds the set is cut into")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--camera", default="top")
    parser.add_argument("--out", help="keep the PNGs here (default: a temporary folder, removed)")
    parser.add_argument("--cifs", type=Path, default=CIFS, help="folder of alexandria_*.cif")
    return parser.parse_args()


def benchmark(args, out):
    cifs = sorted(args.cifs.glob("alexandria_*.cif"))[:: args.every]
    items = [(path.stem.removeprefix("alexandria_"), str(path)) for path in cifs]
    codes = args.code.split(",")
    sources = {code: code_path(args.old if code == "old" else code, out) for code in codes}
    variants = [
        (code, gl, int(pages))
        for gl in args.gl.split(",") for pages in args.pages.split(",") for code in codes
    ]
    rounds = np.array_split(np.arange(len(items)), args.rounds)
    print(f"{len(items)} structures from {args.cifs} in {args.rounds} rounds; size {args.size}, "
          f"camera {args.camera}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; "
          f"old code: {args.old[:12]}")

    results = {variant: [] for variant in variants}
    for number, round_ in enumerate(rounds):
        for variant in variants if number % 2 == 0 else variants[::-1]:
            code, gl, pages = variant
            settings = {"size": args.size, "camera": args.camera, "pages": pages, "gl": gl}
            part = [items[i] for i in round_]
            folder = out / f"{code}_{gl}_pages{pages}" / f"round{number}"
            result = run(part, folder, settings, sources[code])
            results[variant].append(result)
            print(f"  round {number}, {code}, {gl}, {pages} page(s): {len(part)} in "
                  f"{result['wall']:.1f} s (load average {os.getloadavg()[0]:.1f})")

    print(f"\n{'code':>4} {'gl':>11} {'pages':>5} {'images':>7} {'ok':>6} {'s/image':>8} "
          f"{'steady':>7} {'CPU s/im':>8} {'steady':>7} {'vs paper':>9} {'peak MB':>8}")
    tables, cpu = {}, {}
    for variant, parts in results.items():
        code, gl, pages = variant
        table = tables[variant] = pd.concat([r["table"] for r in parts], ignore_index=True)
        n = len(table)
        cpu[variant] = sum((r["cpu"] for r in parts), Counter())
        drawing = sum(sum(r["cpu"].values()) - sum(r["cpu_ready"].values()) for r in parts) / n
        wall = sum(r["wall"] for r in parts) / n
        steady = sum(r["steady"] for r in parts) / n
        peak = max(r["peak_memory"] for r in parts) / 2**20
        print(f"{code:>4} {gl:>11} {pages:>5} {n:>7} {int(table['ok'].sum()):>6} {wall:>8.3f} "
              f"{steady:>7.3f} {sum(cpu[variant].values()) / n:>8.3f} {drawing:>7.3f} "
              f"{PAPER_SECONDS / wall:>8.1f}x {peak:>8.0f}")

    after_start = {
        variant: sum((r["cpu"] - r["cpu_ready"] for r in parts), Counter())
        for variant, parts in results.items()
    }
    by_process(cpu, tables, variants, "CPU seconds per image by process, start-up included")
    by_process(after_start, tables, variants, "... and after start-up (pages ready)")

    if "old" in codes and "new" in codes:
        for gl in args.gl.split(","):
            for pages in args.pages.split(","):
                compare_pixels(tables["old", gl, int(pages)], tables["new", gl, int(pages)],
                               f"{gl}, {pages} page(s)")
    table = tables[variants[-1]]
    report_table(table, f"{variants[-1][0]} code, {variants[-1][1]}, {variants[-1][2]} page(s)")


def by_process(cpu, tables, variants, title):
    """One row per process kind, one column per variant: old and new side by side."""
    kinds = sorted({kind for c in cpu.values() for kind in c}, key=lambda k: -cpu[variants[-1]][k])
    names = [f"{code} {gl} {pages}p" for code, gl, pages in variants]
    print(f"\n{title}\n{'':>24}" + "".join(f"{name:>20}" for name in names))
    for kind in kinds + ["total"]:
        row = [
            (sum(cpu[v].values()) if kind == "total" else cpu[v][kind]) / len(tables[v])
            for v in variants
        ]
        print(f"{kind:>24}" + "".join(f"{value:>20.3f}" for value in row))


def compare_pixels(old, new, label):
    """Old and new code's pictures of the same structures: identical bytes, or how they differ."""
    both = old.merge(new, on="mat_id", suffixes=("_old", "_new"))
    both = both[both["ok_old"] & both["ok_new"]]
    identical, fractions, largest = 0, [], 0
    for row in both.itertuples():
        a = np.asarray(Image.open(row.image_old).convert("RGBA")).astype(int)
        b = np.asarray(Image.open(row.image_new).convert("RGBA")).astype(int)
        identical += np.array_equal(a, b)
        fractions.append((a != b).any(-1).mean())
        largest = max(largest, int(np.abs(a - b).max()))
    print(f"\nold vs new pictures ({label}): {len(both)} drawn by both, {identical} pixel-identical; "
          f"differing pixels: mean {np.mean(fractions):.2e}, max {np.max(fractions):.2e} of a picture; "
          f"largest channel difference {largest}; ok old {int(old['ok'].sum())}, new {int(new['ok'].sum())}")


def report_table(table, label):
    print(f"\n{label}:")
    print(f"render seconds per material (scene + drawing, overlapping others): median "
          f"{table['seconds'].median():.3f}, 95th percentile {table['seconds'].quantile(0.95):.3f}, "
          f"max {table['seconds'].max():.2f}")
    failed = table[~table["ok"]]
    print(f"failed: {len(failed)}")
    for reason, count in Counter(failed["reason"].str.slice(0, 90)).most_common(10):
        print(f"  {count} x {reason}")
    fractions = np.array([
        foreground_fraction(np.asarray(Image.open(path).convert("RGBA")), hex_rgb(BACKGROUND))
        for path in table.loc[table["ok"], "image"]
    ])
    print(f"drawn fraction of pixels: min {fractions.min():.3f}, 1st percentile "
          f"{np.quantile(fractions, 0.01):.3f}, median {np.median(fractions):.3f}")
    vacuum = table["mat_id"].str.match(r"agm[12]000")
    print(f"2D/1D vacuum cells (agm1000.../agm2000...): {int(vacuum.sum())}, "
          f"{int(table.loc[vacuum, 'ok'].sum())} drawn")


if __name__ == "__main__":
    main()
