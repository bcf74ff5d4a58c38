"""File browser and upload benchmark, over HTTP against the real server.

Prints medians of ``--runs`` runs, with a baseline measured in the same run:

* thumbnail of a ``--size``² float32 image: cold (first request: a strided read of about
  128² values) and cached; baseline: ``fits.getdata`` of the whole plane alone;
* upload of a ``--upload-mb`` MB FITS file (stream to disk + FITS validation, nothing kept on
  failure); baseline: ``shutil.copyfile`` of the same bytes;
* recursive case-insensitive search over ``--files`` files in 100 folders: p50/p95;
* the page itself: ``/``, ``main.js`` and OpenSeadragon;
* hostile files (issue 13, 8.3; ``--hostile``, files from tests/hostile_corpus.py): a 2 x 4,000,000
  strip's thumbnail, the HDU listing of a 3,000-HDU file and the first page of a 100,000-card
  header (cold; baselines: astropy listing every HDU / ``fits.getheader``), the refusal of a
  ``c1=c0+c0...`` chain of 20 computed columns, and ``/api/health`` p50/p99/max while hostile
  files (SIP order 9999, 3,000 HDUs, the 100k-card header) are uploaded and opened.

Usage: ``python benchmarks/bench_files.py [--size 8192] [--upload-mb 256] [--files 20000] [--runs 3] [--hostile]``;
``--health-rounds N [--baseline-project /work/main]``: only the health measure, N rounds, alternating
with a server run from another checkout (the baseline, same run).
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from _common import ROOT, Server, pct
from astropy.io import fits

from tests import hostile_corpus as corpus


def _answer(conn: http.client.HTTPConnection, t0: float, what: str) -> tuple[float, bytes]:
    """Read the response of a request sent since ``t0``: (seconds, body); anything but 200 raises."""
    r = conn.getresponse()
    body = r.read()
    dt = time.perf_counter() - t0
    conn.close()
    if r.status != 200:
        raise OSError(f"{what}: {r.status} {body[:200]!r}")
    return dt, body


def get(port: int, path: str) -> tuple[float, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t = time.perf_counter()
    conn.request("GET", path)
    return _answer(conn, t, path)


def upload_bytes(port: int, name: str, data: bytes) -> int:
    """Upload ``data`` as ``name``; returns the status (hostile files are meant to be refused)."""
    boundary = uuid.uuid4().hex
    body = (
        (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n').encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/api/files/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    status = conn.getresponse().status
    conn.close()
    return status


def upload(port: int, path: Path) -> float:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/fits\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t = time.perf_counter()
    conn.putrequest("POST", "/api/files/upload")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            conn.send(chunk)
    conn.send(tail)
    return _answer(conn, t, "upload")[0]


def row(name: str, value: str, baseline: str = "", ratio: str = "") -> None:
    print(f"{name:<44} {value:>14} {baseline:>14} {ratio:>8}")


def hostile(root: Path, runs: int) -> None:
    """The hostile-file figures (see the module doc); a fresh server, files written here."""
    files = root / "files"
    (files / "hostile").mkdir(parents=True, exist_ok=True)
    strips = [corpus.strip(files / "hostile" / f"strip{i}.fits") for i in range(runs)]
    many = [corpus.many_hdus(files / "hostile" / f"many{i}.fits", 3000) for i in range(runs)]
    heads = [corpus.huge_header(files / "hostile" / f"head{i}.fits", 100_000) for i in range(runs)]
    (root / "catalogs").mkdir(exist_ok=True)
    (root / "catalogs" / "small.csv").write_text("ra,dec,flux_ujy\n" + "".join(f"{i},0,{i}\n" for i in range(1000)))
    med = statistics.median
    with Server(root) as server:
        port = server.port
        thumbs = [get(port, f"/api/files/thumbnail?path=hostile/{p.name}")[0] for p in strips]
        row("strip 2x4,000,000 thumbnail cold (ms)", f"{med(thumbs) * 1e3:.0f}")
        listing = [get(port, f"/api/images/hdus?path=hostile/{p.name}")[0] for p in many]
        base = []
        for p in many:
            t = time.perf_counter()
            with fits.open(p, lazy_load_hdus=True) as hdul:
                [h.header.get("NAXIS") for h in hdul]
            base.append(time.perf_counter() - t)
        row("3,000-HDU listing cold (s)", f"{med(listing):.2f}", f"{med(base):.2f}", f"{med(listing) / med(base):.1f}x")
        first = [get(port, f"/api/images/header?path=hostile/{p.name}&hdu=0&limit=500")[0] for p in heads]
        again = [get(port, f"/api/images/header?path=hostile/{heads[0].name}&offset=50000&limit=500")[0]]
        search = [get(port, f"/api/images/header?path=hostile/{heads[0].name}&q=step%2049999&limit=500")[0]]
        base = []
        for p in heads:
            t = time.perf_counter()
            fits.getheader(p)
            base.append(time.perf_counter() - t)
        ratio = f"{med(first) / med(base):.1f}x"
        row("100k-card header, first page cold (s)", f"{med(first):.2f}", f"{med(base):.2f}", ratio)
        row("100k-card header, another page / search (ms)", f"{again[0] * 1e3:.0f} / {search[0] * 1e3:.0f}")
        from urllib.parse import urlencode

        chain = urlencode({"name": "small.csv", "computed": corpus.computed_chain(20)}, doseq=True)
        refused = []
        for _ in range(runs):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            t = time.perf_counter()
            conn.request("GET", f"/api/catalogs/rows?{chain}")
            status = conn.getresponse().status
            refused.append(time.perf_counter() - t)
            conn.close()
        row(f"20-step doubling chain refused ({status}) (ms)", f"{med(refused) * 1e3:.1f}")
        health_under_hostile(port, many[0], runs, "")


def health_under_hostile(port: int, many: Path, runs: int, label: str) -> None:
    """``/api/health`` latencies idle, then while the SIP 9999 and 3,000-HDU files are uploaded
    and the latter opened, and the 100k-card headers (``hostile/head{i}.fits``) read."""
    idle = [get(port, "/api/health")[0] for _ in range(100)]
    latencies: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            latencies.append(get(port, "/api/health")[0])
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    sip = corpus.sip_order(9999)
    data = many.read_bytes()
    for i in range(runs):
        upload_bytes(port, f"sip{i}.fits", sip)
        upload_bytes(port, f"many{i}.fits", data)
        get(port, f"/api/images/info?path=uploads/many{i}.fits")
        get(port, f"/api/images/header?path=hostile/head{i}.fits&limit=200&offset=1000")
    stop.set()
    poller.join()
    row(f"health p50 / p99 idle (ms){label}", f"{pct(idle, 50) * 1e3:.1f} / {pct(idle, 99) * 1e3:.1f}")
    shown = f"{pct(latencies, 50) * 1e3:.1f} / {pct(latencies, 99) * 1e3:.1f} / {max(latencies) * 1e3:.0f}"
    row(f"health p50 / p99 / max under hostile load (ms){label}", shown)


def health_rounds(root: Path, runs: int, rounds: int, baseline: Path | None) -> None:
    """The health measure alone, ``rounds`` times, alternating with a server run from another
    checkout (``baseline``, e.g. the main branch) in the same run: fresh roots each time."""
    for r in range(rounds):
        for project, label in ((ROOT, ""), (baseline, " [baseline]")):
            if project is None:
                continue
            here = root / f"round{r}{'b' if label else ''}"
            (here / "files" / "hostile").mkdir(parents=True)
            many = corpus.many_hdus(here / "many.fits", 3000)
            for i in range(runs):
                corpus.huge_header(here / "files" / "hostile" / f"head{i}.fits", 100_000)
            with Server(here, project=project) as server:
                health_under_hostile(server.port, many, runs, label)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--upload-mb", type=int, default=256)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hostile", action="store_true", help="also measure the hostile files of issue 13")
    ap.add_argument("--health-rounds", type=int, default=0, help="only the health-under-hostile-load measure, N times")
    ap.add_argument("--baseline-project", type=Path, help="with --health-rounds: alternate with this checkout's server")
    args = ap.parse_args()
    med = statistics.median
    if args.health_rounds:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"machine: 2 shared cores (noisy); {args.runs} uploads of each hostile file per round")
            health_rounds(Path(tmp), args.runs, args.health_rounds, args.baseline_project)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = root / "files"
        (files / "big").mkdir(parents=True)
        rng = np.random.default_rng(0)
        images = []
        for i in range(args.runs):  # one image per run: every cold thumbnail is really cold
            path = files / "big" / f"img{i}.fits"
            fits.PrimaryHDU(rng.normal(size=(args.size, args.size)).astype("f4")).writeto(path)
            images.append(path)
        n_side = int(np.sqrt(args.upload_mb * 1024 * 1024 / 4))
        up = root / "up.fits"
        fits.PrimaryHDU(np.zeros((n_side, n_side), "f4")).writeto(up)
        for k in range(args.files):
            folder = files / "many" / f"d{k % 100:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"Field_{k:05d}.fits").write_bytes(b"")
        with Server(root) as server:
            port = server.port
            print(f"machine: 2 shared cores (noisy); medians of {args.runs} runs")
            row("measure", "neloura", "baseline", "ratio")
            cold = [get(port, f"/api/files/thumbnail?path=big/{p.name}&size=128")[0] for p in images]
            warm = [get(port, f"/api/files/thumbnail?path=big/{images[0].name}&size=128")[0] for _ in range(args.runs)]
            base = []
            for p in images:
                t = time.perf_counter()
                fits.getdata(p).astype("f4").sum()
                base.append(time.perf_counter() - t)
            ratio = f"{med(cold) / med(base):.1f}x"
            row(f"thumbnail {args.size}² cold (s)", f"{med(cold):.2f}", f"{med(base):.2f}", ratio)
            row("thumbnail cached (ms)", f"{med(warm) * 1e3:.1f}")
            ups, copies = [], []
            for i in range(args.runs):
                ups.append(upload(port, up))
                t = time.perf_counter()
                shutil.copyfile(up, root / f"copy{i}.fits")
                copies.append(time.perf_counter() - t)
            mb = up.stat().st_size / 1e6
            ratio = f"{med(ups) / med(copies):.1f}x"
            row(f"upload {mb:.0f} MB (MB/s)", f"{mb / med(ups):.0f}", f"{mb / med(copies):.0f}", ratio)
            lat = [get(port, "/api/files/search?q=field_0012")[0] * 1e3 for _ in range(max(5, args.runs * 3))]
            row(f"search {args.files} files p50 (ms)", f"{pct(lat, 50):.1f}")
            row(f"search {args.files} files p95 (ms)", f"{pct(lat, 95):.1f}")
            page = [
                sum(
                    get(port, u)[0]
                    for u in (
                        "/",
                        "/static/js/main.js",
                        "/vendor/openseadragon/build/openseadragon/openseadragon.min.js",
                    )
                )
                for _ in range(args.runs)
            ]
            row("page + main.js + OpenSeadragon (ms)", f"{med(page) * 1e3:.1f}")
        if args.hostile:
            hostile(root / "hostile", args.runs)


if __name__ == "__main__":
    main()
