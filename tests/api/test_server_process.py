"""Issue 13.1/13.5 and 8.3 against the real server process (``python main.py``):

- while hostile files are uploaded and opened (a SIP order of 9999, 3,000 HDUs, a 100,000-card
  header), ``/api/health`` keeps answering: the event loop never parses FITS;
- after ``kill -9`` of the server, no process of its tree (fork server, parse workers, a
  running job and its workers) is alive 5 s later;
- issue 8.2: a compressed bomb (a 1 MB file of 256 MB of pixels) is served by tile without the
  server's USS passing ``NELOURA_MEMORY_MB``, and one beyond ``NELOURA_DECOMPRESSED_MAX_MB`` is
  refused with 413.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from astropy.io import fits

from neloura.core.synthetic import make_wcs_header
from tests import hostile_corpus as corpus

PROJECT = Path(__file__).resolve().parents[2]
# one browser session for every request of these tests (jobs belong to the session cookie)
SESSION = {"Cookie": "neloura_session=" + "s" * 43}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, root: Path, **settings: str) -> None:
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "NELOURA_DEMO": "false", "NELOURA_DISK_CACHE": "false", "NELOURA_JOB_WORKERS": "1"}
        env.update({f"NELOURA_{key.upper()}": value for key, value in settings.items()})
        env.pop("NELOURA_ALLOWED_HOSTS", None)
        self.log = (root / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(PROJECT / "main.py"), "--root", str(root), "--port", str(self.port)],
            cwd=PROJECT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((root / "server.log").read_text()[-3000:])
            try:
                self.get("/api/health", timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def get(self, path: str, timeout: float = 60) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=SESSION), timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def post(self, path: str, body: bytes, content_type: str, timeout: float = 120) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=body, headers={**SESSION, "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def upload(self, name: str, data: bytes) -> int:
        return self.upload_answer(name, data)[0]

    def upload_answer(self, name: str, data: bytes) -> tuple[int, bytes]:
        boundary = "neloura-test-boundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.post("/api/files/upload", body, f"multipart/form-data; boundary={boundary}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    live = Server(tmp_path)
    try:
        yield live
    finally:
        live.stop()


def _health_latencies(server: Server, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        server.get("/api/health", timeout=60)
        out.append(time.perf_counter() - start)
        time.sleep(0.02)


def _p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def test_health_answers_while_hostile_files_are_uploaded_and_opened(server: Server, tmp_path: Path) -> None:
    files = server.root / "files"
    corpus.huge_header(files / "header_100k.fits", 100_000)
    idle: list[float] = []
    stop = threading.Event()
    threading.Timer(2.0, stop.set).start()
    _health_latencies(server, stop, idle)

    many = corpus.many_hdus(tmp_path / "many.fits", 3000).read_bytes()
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=_health_latencies, args=(server, stop, latencies))
    poller.start()
    try:
        assert server.upload("sip.fits", corpus.sip_order(9999)) == 422
        status, answer = server.upload_answer("many.fits", many)  # 17 MB received, validated, listed
        assert status == 200 and len(json.loads(answer)["hdus"]) == 3001
        status, body = server.get("/api/images/hdus?path=uploads/many.fits")
        assert status == 200 and len(json.loads(body)["hdus"]) == 3001
        status, body = server.get("/api/images/header?path=header_100k.fits&hdu=0&limit=200")
        assert status == 200 and json.loads(body)["count"] > 100_000
        assert server.get("/api/images/info?path=uploads/many.fits")[0] == 200  # the recommended HDU
    finally:
        stop.set()
        poller.join()
    print(f"\nhealth p99 idle {_p99(idle) * 1e3:.1f} ms, under hostile load {_p99(latencies) * 1e3:.1f} ms")
    # The old server froze for 12-26 s (minutes for A_ORDER = 9999). The bounds leave room for a
    # loaded test machine (2 cores shared by many jobs); benchmarks/README.md records the p99
    # measured by benchmarks/bench_files.py (issue 8.3 asks <= 50 ms, issue 13 <= 100 ms).
    assert max(latencies) < 2.0
    assert _p99(latencies) <= max(0.25, 4 * _p99(idle))


def _completeness_job(server: Server) -> str:
    header = make_wcs_header((1024, 1024), 150.0, 2.0, 0.1)
    data = np.random.default_rng(3).normal(0, 1, (1024, 1024)).astype(np.float32)
    fits.PrimaryHDU(data, header).writeto(server.root / "files" / "noise.fits")
    body = json.dumps(
        {"path": "noise.fits", "hdu": 0, "n": 300, "iterations": 200, "flux_min": 1, "flux_max": 100}
    ).encode()
    status, answer = server.post("/api/completeness", body, "application/json")
    assert status == 200, answer
    return str(json.loads(answer)["id"])


def test_no_process_of_the_server_survives_kill_9(server: Server) -> None:
    job = _completeness_job(server)
    (server.root / "files" / "a.fits").write_bytes(corpus.with_data(corpus.image_cards(), 8, 8))
    assert server.get("/api/images/hdus?path=a.fits")[0] == 200  # a parse worker is alive now
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = json.loads(server.get(f"/api/jobs/{job}")[1])["state"]
        if state == "running":
            break
        time.sleep(0.2)
    assert state == "running"
    time.sleep(1.0)  # the job's own worker processes start
    tree = psutil.Process(server.proc.pid).children(recursive=True)
    assert len(tree) >= 3  # fork server, parse worker, job (and its workers)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    time.sleep(5.0)
    alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in alive:  # leave nothing behind even when the test fails
        p.kill()
    assert alive == []
    again = Server(server.root)  # a restart on the same data root: the job store says what happened
    try:
        status, body = again.get(f"/api/jobs/{job}")
        assert status == 200, body
        record = json.loads(body)
        assert record["state"] == "failed"
        assert record["error"] == "interrupted: the server stopped before the job finished"
        assert [j["id"] for j in json.loads(again.get("/api/jobs")[1])["jobs"]] == [job]
    finally:
        again.stop()


def _peak_uss(pid: int, stop: threading.Event, out: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        out.append(process.memory_full_info().uss)
        time.sleep(0.05)


def test_a_compressed_bomb_is_served_by_tile_within_the_memory_budget(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    zeros = np.zeros((8192, 8192), np.int16)  # 256 MB of float32 once decompressed
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(zeros, compression_type="RICE_1")]).writeto(
        files / "bomb.fits.fz"
    )
    del zeros
    assert (files / "bomb.fits.fz").stat().st_size < 2_000_000
    big = np.zeros((9000, 8192), np.uint8)  # 281 MB decompressed: over the ceiling below
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(big, compression_type="GZIP_1")]).writeto(files / "big.fits.fz")
    del big
    budget_mb = 640  # the server itself takes ~250 MB; decompressing the bomb whole would pass it
    live = Server(tmp_path, memory_mb=str(budget_mb), decompressed_max_mb="270")
    samples: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_peak_uss, args=(live.proc.pid, stop, samples))
    watcher.start()
    try:
        status, body = live.get("/api/images/info?path=big.fits.fz&hdu=1")
        assert status == 413 and "NELOURA_DECOMPRESSED_MAX_MB" in json.loads(body)["detail"]
        status, body = live.get("/api/images/info?path=bomb.fits.fz&hdu=1")
        assert status == 200, body
        top = json.loads(body)["max_level"]  # 13: full resolution
        for level, col, row in ((top, 16, 16), (top, 0, 31), (top - 3, 1, 1), (top - 5, 0, 0)):
            status, _ = live.get(f"/api/images/tiles/{level}/{col}_{row}.png?path=bomb.fits.fz&hdu=1")
            assert status == 200
        assert live.get("/api/images/histogram?path=bomb.fits.fz&hdu=1")[0] == 200
        status, body = live.get("/api/images/pixel?path=bomb.fits.fz&hdu=1&x=4000&y=5000")
        assert status == 200 and json.loads(body)["value"] == 0.0
    finally:
        stop.set()
        watcher.join()
        live.stop()
    peak_mb = max(samples) / 2**20
    print(f"\nserver USS peak {peak_mb:.0f} MB (budget {budget_mb} MB)")
    assert peak_mb < budget_mb
