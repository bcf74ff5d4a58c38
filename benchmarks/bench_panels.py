"""Panels: the cost of one exact WCS-lock round, as the page pays it.

One round of the lock (static/js/features/panels-lock.js) is one ``POST /api/images/pixel-to-world``
of 5 leader pixels (the centre and +-1 px on each axis) then one ``POST /api/images/world-to-pixel``
of those 5 sky points per follower (in parallel in the page, sequential here: an upper bound).
Baseline, same run: astropy's ``WCS.pixel_to_world_values`` / ``world_to_pixel_values`` called
directly in this process on already-built WCS objects (what the server computes, without HTTP).
Images: the three star fields of the browser test (0.03", 0.06" flipped, 0.11"), and a 4-panel
variant (3 followers).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
from _common import Server, timed
from astropy.io import fits
from astropy.wcs import WCS

from tests.core.rgb_fields import write_fields


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        out: dict = json.loads(response.read())
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="rounds per measurement (median)")
    args = parser.parse_args()
    xs, ys = [230.0, 231.0, 229.0, 230.0, 230.0], [230.0, 230.0, 230.0, 231.0, 229.0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "files").mkdir()
        names = write_fields(root / "files")
        wcs = [WCS(fits.getheader(root / "files" / n)) for n in names]
        with Server(root, disk_cache=False) as server:
            api = server.url + "/api/images"

            def http_round(followers: list[str]) -> list:
                sky = _post(api + "/pixel-to-world", {"path": names[0], "x": xs, "y": ys})
                return [
                    _post(api + "/world-to-pixel", {"path": f, "ra_deg": sky["ra_deg"], "dec_deg": sky["dec_deg"]})
                    for f in followers
                ]

            def direct_round(followers: list[WCS]) -> list:
                ra, dec = wcs[0].pixel_to_world_values(np.array(xs), np.array(ys))
                return [w.world_to_pixel_values(ra, dec) for w in followers]

            http_round(names[1:])  # warm: the images are opened and cached once
            rows = []
            for label, followers, direct in (
                ("1x2 (1 follower)", names[1:2], wcs[1:2]),
                ("3 images in 2x2 (2 followers)", names[1:], wcs[1:]),
                ("2x2 (3 followers)", [names[1], names[2], names[1]], [wcs[1], wcs[2], wcs[1]]),
            ):
                t_http, _ = timed(lambda f=followers: http_round(f), args.runs)
                t_direct, _ = timed(lambda d=direct: direct_round(d), args.runs)
                rows.append((label, t_http * 1000, t_direct * 1000))
    print(f"{'layout':30s} {'lock round HTTP ms':>20s} {'astropy direct ms':>18s} {'ratio':>7s}")
    for label, http_ms, direct_ms in rows:
        print(f"{label:30s} {http_ms:20.2f} {direct_ms:18.3f} {http_ms / direct_ms:7.1f}")


if __name__ == "__main__":
    main()
