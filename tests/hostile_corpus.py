"""Generator of hostile FITS files and requests (issue 13): nothing binary is committed.

Each function writes (or returns) one hostile input as an attacker would craft it, small on
disk but expensive for a naive reader. ``write_corpus(folder)`` writes them all; the tests in
tests/api/test_hostile*.py and the bench in benchmarks/bench_files.py use them.

Run ``python -m tests.hostile_corpus OUT_DIR`` to write the corpus for manual testing.
"""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

BLOCK = 2880


def card(key: str, value: Any, comment: str = "") -> str:
    """One 80-character card written by hand (astropy would refuse to write hostile values)."""
    if isinstance(value, bool):
        shown = "T" if value else "F"
    elif isinstance(value, str):
        shown = "'" + value.replace("'", "''").ljust(8) + "'"
    else:
        shown = str(value)
    text = f"{key:<8}= {shown:>20}"
    if comment:
        text += f" / {comment}"
    return text[:80].ljust(80)


def header_bytes(cards: list[str]) -> bytes:
    text = "".join(cards) + "END".ljust(80)
    return text.ljust(-(-len(text) // BLOCK) * BLOCK).encode("ascii")


def image_cards(width: int = 8, height: int = 8, bitpix: int = -32, extra: list[str] | None = None) -> list[str]:
    return [
        card("SIMPLE", True),
        card("BITPIX", bitpix),
        card("NAXIS", 2),
        card("NAXIS1", width),
        card("NAXIS2", height),
        *(extra or []),
    ]


def tan_cards(sip: bool = False) -> list[str]:
    suffix = "-SIP" if sip else ""
    return [
        card("CTYPE1", f"RA---TAN{suffix}"),
        card("CTYPE2", f"DEC--TAN{suffix}"),
        card("CRVAL1", 150.0),
        card("CRVAL2", 2.0),
        card("CRPIX1", 4.5),
        card("CRPIX2", 4.5),
        card("CDELT1", -0.0001),
        card("CDELT2", 0.0001),
    ]


def with_data(cards: list[str], width: int, height: int, bitpix: int = -32) -> bytes:
    nbytes = width * height * abs(bitpix) // 8
    data = b"\0" * nbytes
    return header_bytes(cards) + data + b"\0" * (-nbytes % BLOCK)


def sip_order(order: int = 9999) -> bytes:
    """A ~6 KB file whose SIP order makes astropy loop ``order**2`` keywords (minutes at 9999)."""
    extra = [*tan_cards(sip=True), card("A_ORDER", order), card("B_ORDER", order), card("A_2_0", 1e-6)]
    return with_data(image_cards(extra=extra), 8, 8)


def many_axes() -> bytes:
    """NAXIS = 999 with a WCSAXES to match: a 999-axis WCS."""
    return header_bytes([card("SIMPLE", True), card("BITPIX", 8), card("NAXIS", 0), card("WCSAXES", 999)])


def many_pv(count: int = 5000) -> bytes:
    """Thousands of PV cards (TPV-like distortion tables)."""
    extra = [*tan_cards()] + [card(f"PV{1 + i % 2}_{i // 2 % 99}{chr(65 + i // 198 % 26)}", 0.0) for i in range(count)]
    return with_data(image_cards(extra=extra), 8, 8)


def bad_scaling(key: str = "BZERO", value: str = "abc") -> bytes:
    """An integer image whose BZERO (or BSCALE/BLANK) is a string."""
    return with_data(image_cards(bitpix=16, extra=[card(key, value), *tan_cards()]), 8, 8, 16)


def many_hdus(path: Path, count: int = 3000, celestial: bool = False) -> Path:
    """``count`` tiny image extensions (a 3,000-HDU file froze the old server 12 s). Astropy writes
    the primary HDU and one extension; the extension's bytes are repeated: the file astropy would
    write for ``count`` equal extensions, without its ~4 ms of checks per HDU."""
    header = fits.Header([fits.Card.fromstring(c) for c in tan_cards()] if celestial else [])
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 2), np.float32), header)]).writeto(buffer)
    primary = len(fits.PrimaryHDU().header.tostring())  # an empty primary HDU is its header only
    raw = buffer.getvalue()
    path.write_bytes(raw[:primary] + raw[primary:] * count)
    return path


def huge_header(path: Path, cards: int = 100_000) -> Path:
    """An 8 x 8 image with ``cards`` HISTORY/keyword cards (8 MB of header)."""
    lines = image_cards(8, 8)
    for i in range(cards // 2):
        lines.append(card(f"K{i:07d}", i, f"filler {i}"))
        lines.append(f"HISTORY processing step {i}".ljust(80))
    data = np.arange(64, dtype=">f4").tobytes()
    path.write_bytes(header_bytes(lines) + data + b"\0" * (-len(data) % BLOCK))
    return path


def strip(path: Path, width: int = 4_000_000, height: int = 2) -> Path:
    """A 2 x 4,000,000 strip (8 MB of bytes): thumbnails used to cost the square of the width."""
    data = np.tile(np.arange(256, dtype=np.uint8), width * height // 256 + 1)[: width * height].reshape(height, width)
    fits.PrimaryHDU(data).writeto(path, overwrite=True)
    return path


def truncated(path: Path) -> Path:
    """Two image HDUs, the file cut inside the second one's data."""
    a = fits.ImageHDU(np.ones((64, 64), np.float32), name="GOOD")
    b = fits.ImageHDU(np.ones((512, 512), np.float32), name="CUT")
    fits.HDUList([fits.PrimaryHDU(), a, b]).writeto(path, overwrite=True)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 200 * BLOCK])
    return path


def gzip_bomb(decompressed_mb: int) -> bytes:
    """A valid FITS header then zeros, gzip-compressed: ``decompressed_mb`` MB from ~1 KB per MB."""
    head = header_bytes(image_cards(width=1024, height=decompressed_mb * 256, bitpix=32))
    return gzip.compress(head + b"\0" * (decompressed_mb << 20), compresslevel=9)


def computed_chain(steps: int, base: str = "flux_ujy") -> list[str]:
    """``c0=base, c1=c0+c0, c2=c1+c1, ...``: pasted as text, the SQL doubled at every step."""
    return [f"c0={base}", *(f"c{i}=c{i - 1}+c{i - 1}" for i in range(1, steps + 1))]


def nested_functions(depth: int = 99, column: str = "flux_ujy") -> str:
    """``abs(abs(...(column)...)) > 0``: deep recursion in a recursive-descent parser."""
    return "abs(" * depth + column + ")" * depth + " > 0"


FILES = {
    "sip_order_9999.fits": sip_order,
    "naxis_999_wcsaxes.fits": many_axes,
    "pv_5000.fits": many_pv,
    "bzero_text.fits": lambda: bad_scaling("BZERO", "abc"),
    "blank_text.fits": lambda: bad_scaling("BLANK", "q"),
    "bscale_text.fits": lambda: bad_scaling("BSCALE", "x"),
}


def write_corpus(folder: Path, *, big: bool = True) -> dict[str, Path]:
    """Every hostile file under ``folder``; ``big=False`` skips the multi-MB ones."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, make in FILES.items():
        (folder / name).write_bytes(make())
        out[name] = folder / name
    out["truncated.fits"] = truncated(folder / "truncated.fits")
    if big:
        out["hdus_3000.fits"] = many_hdus(folder / "hdus_3000.fits")
        out["header_100k.fits"] = huge_header(folder / "header_100k.fits")
        out["strip_2x4M.fits"] = strip(folder / "strip_2x4M.fits")
    return out


if __name__ == "__main__":
    for name, path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")).items():
        print(f"{path.stat().st_size:>12,}  {name}")
