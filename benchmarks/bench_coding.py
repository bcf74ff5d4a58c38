"""Sandboxed Python runs: start-to-first-output latency.

Targets: a trivial run (``print``) and a run that imports numpy and astropy both show their first
output line within 100 ms on a warm pool (the server keeps ``NELOURA_CODING_WARM`` interpreters
with numpy, astropy and matplotlib already imported).

Rows, each the median of ``--repeat`` runs:

- baseline: ``python -c SCRIPT`` started directly (no sandbox), from spawn to the first line;
- cold sandbox: a new sandboxed interpreter (namespaces, clean environment, warm-up imports) is
  spawned for the run, from spawn to the first line (what a run costs when the pool is empty);
- warm sandbox: an interpreter already waiting is handed the script, from hand-off to the first
  line (limits, audit hook and the run itself included);
- runner: through :class:`~neloura.runtime.coding.CodingRunner` as the server uses it (queue,
  warm pool, scratch folder), from ``submit`` to the first line in the run record.

    python benchmarks/bench_coding.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT  # noqa: F401 - puts the project on sys.path

from neloura.runtime.coding import CodingRunner
from neloura.runtime.coding_sandbox import Isolation, Limits, SandboxProcess, probe_isolation, run_spec, supervise

SCRIPTS = {
    "trivial print": "print('hello')\n",
    "import numpy + astropy": "import numpy, astropy.io.fits, astropy.wcs, astropy.table\nprint(numpy.__version__)\n",
}


def first_line_direct(code: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-I", "-u", "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait()
    return elapsed


def first_line_sandbox(code: str, isolation: Isolation, scratch: Path, mpl: Path, warm: bool) -> float:
    t0 = time.perf_counter()
    proc = SandboxProcess(isolation, mpl)
    proc.wait_ready(timeout=120)
    if warm:
        t0 = time.perf_counter()
    first: list[float] = []

    def output(stream: str, text: str) -> None:
        if not first:
            first.append(time.perf_counter() - t0)

    limits = Limits(timeout_s=60)
    supervise(proc, run_spec(code, limits, scratch, {}), limits, output, lambda m: None, flush_s=0.002)
    return first[0]


def first_line_runner(runner: CodingRunner, code: str) -> float:
    while not (runner._pool and runner._pool[0].wait_ready(timeout=120)):
        time.sleep(0.05)
    t0 = time.perf_counter()
    run = runner.submit("bench", code, Limits(timeout_s=60))
    while not run.stdout:
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    runner.wait(run.id, "bench")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    isolation = probe_isolation()
    base = Path(tempfile.mkdtemp(prefix="bench-coding-"))
    scratch, mpl = base / "scratch", base / "mpl"
    scratch.mkdir()
    print(f"isolation: {isolation.describe()}")
    runner = CodingRunner(
        None, uploads_dir=base / "uploads", catalog_uploads_dir=base / "cat", files_dir=base, cache_dir=base, warm=1
    )
    runner.start()
    rows = []
    for label, code in SCRIPTS.items():
        n = range(args.repeat)
        med = {
            "baseline python -c": statistics.median(first_line_direct(code) for _ in n),
            "cold sandbox": statistics.median(first_line_sandbox(code, isolation, scratch, mpl, False) for _ in n),
            "warm sandbox": statistics.median(first_line_sandbox(code, isolation, scratch, mpl, True) for _ in n),
            "runner (warm pool)": statistics.median(first_line_runner(runner, code) for _ in n),
        }
        rows.append((label, med))
    runner.stop()
    names = list(rows[0][1])
    print(f"\nstart -> first output line, median of {args.repeat} (ms)")
    print(f"{'script':<26}" + "".join(f"{n:>22}" for n in names))
    for label, med in rows:
        print(f"{label:<26}" + "".join(f"{med[n] * 1000:>22.1f}" for n in names))


if __name__ == "__main__":
    main()
