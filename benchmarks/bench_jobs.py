"""The durable job store (SQLite, WAL): what a status read and a progress write cost.

Targets: a status read (``GET /api/jobs/{id}`` reads the store, whatever process serves it)
<= 1 ms; a progress write (one short transaction) <= 2 ms, so ten progress messages a second
per running job cost the server well under 2 % of a core. Baseline in the same run: the plain
dict lookup the registry used before the store.

    .venv/bin/python benchmarks/bench_jobs.py [--jobs 2000] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from _common import median_ms

from neloura.runtime.job_store import JobRecord, JobStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs in the store")
    parser.add_argument("--repeat", type=int, default=2000, help="timed calls per figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = JobStore(Path(folder) / "jobs.sqlite")
        records = {}
        now = time.time()
        for i in range(args.jobs):
            record = JobRecord(f"{i:032x}", "detection", f"owner{i % 50}", state="done", created=now + i)
            record.result = {"catalog": f"detections/x_{i}.fits", "n_sources": i, "files": {"a.fits": "/x/a.fits"}}
            store.insert(record)
            records[record.id] = record
        ids = list(records)
        running = JobRecord("f" * 32, "completeness", "owner0", state="running", created=now)
        store.insert(running)
        rows = [
            ("status read, dict (baseline)", median_ms(lambda: records[random.choice(ids)].public(), args.repeat)),
            ("status read, store", median_ms(lambda: store.get(random.choice(ids)).public(), args.repeat)),  # type: ignore[union-attr]
            ("list of one owner (40 jobs), store", median_ms(lambda: store.list("owner7"), max(50, args.repeat // 20))),
        ]

        def progress() -> None:
            running.progress = min(1.0, running.progress + 1e-4)
            store.save(running)

        rows.append(("progress write (one transaction)", median_ms(progress, args.repeat)))
        rows.append(
            ("cancel-flag poll (running jobs)", median_ms(lambda: store.cancel_requested([running.id]), args.repeat))
        )
    print(f"{'figure':<40} {'median ms':>10}")
    for name, ms in rows:
        print(f"{name:<40} {ms:>10.3f}")


if __name__ == "__main__":
    main()
