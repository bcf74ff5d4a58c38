"""What the benchmark scripts share: timing (medians, percentiles), the real server in a
subprocess on a free loopback port and its memory. Chromium's launch options come from
``tests.browser.helpers`` (one place for the tests and the benchmarks).

Imported by the ``bench_*.py`` scripts as ``from _common import ...`` (they run as scripts, so
this folder is on ``sys.path``); it also puts the project root there for ``import neloura``.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time in seconds of ``repeat`` calls of ``fn``, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time in milliseconds of ``repeat`` calls of ``fn``."""
    return timed(fn, repeat)[0] * 1000


def pct(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile of ``values``."""
    return float(np.percentile(list(values), q))


def free_port() -> int:
    """A loopback TCP port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The app under uvicorn in a subprocess (quiet: warnings only, no access log), on a free
    loopback port, started and answering ``/api/health`` when the constructor returns."""

    def __init__(
        self,
        root: Path,
        *,
        demo: bool = False,
        disk_cache: bool = True,
        timeout: float = 60,
        project: Path = ROOT,
        **settings: object,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = "".join(f", {key}={value!r}" for key, value in settings.items())  # more Settings fields
        code = (
            "import uvicorn; from neloura.app import create_app; from neloura.settings import Settings; "
            f"uvicorn.run(create_app(Settings(root={str(root)!r}, demo={demo}, disk_cache={disk_cache}{extra})), "
            f"host='127.0.0.1', port={self.port}, log_level='warning', access_log=False)"
        )
        # ``project``: the checkout whose code runs (another one gives a baseline in the same run)
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=project, stdout=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with status {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def uss_mb(self) -> float:
        """Unique set size of the server process (memory only it holds), MiB."""
        import psutil

        return float(psutil.Process(self.proc.pid).memory_full_info().uss) / 2**20

    def anon_mb(self) -> float:
        """Anonymous resident memory (heap: levels, caches), without file pages mapped from files, MiB."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return float(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
