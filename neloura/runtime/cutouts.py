"""Cutouts of every covering image at a position (FITS + PNG under images/cutouts/), and batch
cutouts of many sources as a job (a zip of FITS files and a multi-page PDF).

Output names start with a random token per request or job, so two users never write the same
file; only names of that form are ever served back (:func:`cutout_file`).
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neloura.core.cutouts import MAX_CUTOUT_PX, Cutout, cutout, cutout_header, north_up, render_png, to_fits
from neloura.core.fitsio import FitsImage
from neloura.core.footprints import Footprint
from neloura.core.paths import confine_file
from neloura.errors import InvalidParameter, NotFound
from neloura.runtime.memory import MemoryBudget, array_bytes

FILE_NAME = re.compile(r"^[0-9a-f]{12}_[A-Za-z0-9_.+-]{1,200}\.(fits|png)$")
NORTH_UP_MARGIN = 1.5  # the window read before a rotation: the rotated square's corners must be inside
# Peak bytes per pixel of a cutout's window: the read, Cutout2D's copy, the PNG's index and
# palette, the FITS bytes (float32), or a north-up reprojection and an SED's convolution (float64)
WORK_BYTES_PER_PIXEL = 48


def cutout_bytes(image: FitsImage, size_arcsec: float, *, margin: float = 1.0, pad_px: int = 0) -> int:
    """Working memory of a cutout of ``size_arcsec`` (x ``margin``) on ``image``, reserved from
    the server's budget before the window is read (the side clipped to what a cutout may be:
    larger ones are refused by :func:`~neloura.core.cutouts.cutout` itself)."""
    if not image.wcs.has_celestial:
        return 0
    side_px = min(size_arcsec * margin / image.wcs.pixel_scale_arcsec(), MAX_CUTOUT_PX * margin) + 2 * pad_px + 4
    return array_bytes((int(side_px), int(side_px)), np.uint8, WORK_BYTES_PER_PIXEL)


@dataclass(frozen=True)
class Display:
    """How cutout PNGs look: the viewer's stretch, exponent, colormap and inversion."""

    stretch: str = "asinh"
    exponent: float | None = None
    cmap: str = "gray"
    invert: bool = False


def label(footprint: Footprint) -> str:
    parts = [p for p in (footprint.instrument, footprint.filter) if p]
    return " ".join(parts) or Path(footprint.path).name


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text)[:60] or "x"


def is_per_pixel(meta: dict[str, Any]) -> bool:
    """True when pixel values are per pixel (Jy/pixel, counts, e/s): they sum, not average."""
    text = str(meta.get("BUNIT", "")).lower().replace(" ", "")
    return not ("/sr" in text or "sr-1" in text or "beam" in text or "arcsec" in text)


def one_cutout(
    image: FitsImage,
    meta: dict[str, Any],
    ra_deg: float,
    dec_deg: float,
    size_arcsec: float,
    *,
    north_up_scale: float | None = None,
) -> Cutout | None:
    """The cutout of one image (None when the pixel at the position holds no data)."""
    if image.wcs.wcs is None or not image.wcs.has_celestial:
        raise InvalidParameter(f"{image.path.name} has no celestial WCS")
    plane = image.plane(0)
    factor = NORTH_UP_MARGIN if north_up_scale else 1.0
    piece = cutout(plane.read, (image.height, image.width), image.wcs.wcs, ra_deg, dec_deg, size_arcsec * factor)
    ix, iy = int(np.rint(piece.x_pix)), int(np.rint(piece.y_pix))
    inside = 0 <= iy < piece.data.shape[0] and 0 <= ix < piece.data.shape[1]
    if not inside or not np.isfinite(piece.data[iy, ix]):
        return None
    if north_up_scale:
        piece = north_up(piece, ra_deg, dec_deg, size_arcsec, north_up_scale, per_pixel=is_per_pixel(meta))
    return piece


def provenance(path: str, hdu: int, ra_deg: float, dec_deg: float, size_arcsec: float) -> dict[str, Any]:
    return {
        "ORIGFILE": path[-68:],
        "ORIGHDU": hdu,
        "CUT_RA": ra_deg,
        "CUT_DEC": dec_deg,
        "CUT_SIZE": size_arcsec,
    }


def write_cutouts(
    open_image: Callable[[Footprint], FitsImage],
    footprints: list[Footprint],
    ra_deg: float,
    dec_deg: float,
    size_arcsec: float,
    out_dir: Path,
    *,
    north_up_wanted: bool = False,
    scale_arcsec: float | None = None,
    display: Display | None = None,
    budget: MemoryBudget | None = None,
) -> list[dict[str, Any]]:
    """Cutouts of ``footprints`` at the position, written as FITS + PNG into ``out_dir``, one
    at a time, each within ``budget`` (507 when one cannot fit)."""
    display = display or Display()
    budget = budget or MemoryBudget(0)
    scale = None
    if north_up_wanted:
        scale = scale_arcsec or max((open_image(fp).wcs.pixel_scale_arcsec() for fp in footprints), default=None)
    token = uuid.uuid4().hex[:12]
    out_dir.mkdir(parents=True, exist_ok=True)
    answers = []
    margin = NORTH_UP_MARGIN if scale else 1.0
    for footprint in footprints:
        image = open_image(footprint)
        with budget.reserve(cutout_bytes(image, size_arcsec, margin=margin), f"a cutout of {image.path.name}"):
            piece = one_cutout(image, footprint.meta, ra_deg, dec_deg, size_arcsec, north_up_scale=scale)
            if piece is None:
                continue
            name = _safe(footprint.filter or "nofilter")
            stem = f"{token}_{_safe(Path(footprint.path).stem)}_hdu{footprint.hdu}_{name}"
            header = cutout_header(
                piece, footprint.meta, provenance(footprint.path, footprint.hdu, ra_deg, dec_deg, size_arcsec)
            )
            (out_dir / f"{stem}.fits").write_bytes(to_fits(piece, header))
            png = render_png(
                piece.data, stretch=display.stretch, exponent=display.exponent, cmap=display.cmap, invert=display.invert
            )
        (out_dir / f"{stem}.png").write_bytes(png)
        answers.append(
            {
                **footprint.describe(),
                "label": label(footprint),
                "file": f"{stem}.fits",
                "png": f"{stem}.png",
                "x_pix": piece.x_pix,
                "y_pix": piece.y_pix,
                "shape": list(piece.data.shape),
                "scale_arcsec": piece.scale_arcsec,
                "north_up": scale is not None,
                "unit": footprint.bunit or "image units",
            }
        )
    return answers


def cutout_file(out_dir: Path, name: str) -> Path:
    """A cutout file written by :func:`write_cutouts` (404 for any other name)."""
    if not FILE_NAME.match(name):
        raise NotFound(f"no such cutout file: {name[:80]}")
    return confine_file(out_dir, name, NotFound, "cutout")


class _Pages:
    """Pages of the batch PDF: one figure per panel count, reused page after page (only the
    images and titles change), panels scaled to 8-bit grey at the cutout's 0.5/99.5 % and
    embedded unresampled (``interpolation="none"``: the PDF holds the cutout's own pixels)."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.figures: dict[int, tuple[Any, list[Any], list[Any], Any]] = {}

    def _figure(self, n: int) -> tuple[Any, list[Any], list[Any], Any]:
        if n not in self.figures:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(2.6 * n, 3.0))
            axes = [fig.add_subplot(1, n, k + 1) for k in range(n)]
            images = []
            for ax in axes:
                ax.set_xticks([])
                ax.set_yticks([])
                images.append(ax.imshow(np.zeros((2, 2), np.uint8), cmap="gray", vmin=0, vmax=255, origin="lower",
                                        interpolation="none"))  # fmt: skip
            self.figures[n] = (fig, axes, images, fig.suptitle(""))
        return self.figures[n]

    def page(self, source_id: str, ra: float, dec: float, panels: list[tuple[str, np.ndarray]]) -> None:
        from neloura.core.limits import percentile_limits

        fig, axes, images, title = self._figure(max(1, len(panels)))
        for ax, image, (name, data) in zip(axes, images, panels, strict=False):
            finite = data[np.isfinite(data)]
            lo, hi = percentile_limits(finite, 0.5, 99.5) if finite.size else (0.0, 1.0)
            grey = np.nan_to_num(np.clip((data - lo) / (hi - lo) * 255, 0, 255), nan=0).astype(np.uint8)
            height, width = grey.shape
            image.set_data(grey)
            image.set_extent((-0.5, width - 0.5, -0.5, height - 0.5))
            ax.set_xlim(-0.5, width - 0.5)
            ax.set_ylim(-0.5, height - 0.5)
            ax.set_title(name, fontsize=9)
        if not panels:
            images[0].set_data(np.zeros((2, 2), np.uint8))
            axes[0].set_title("no image covers this source", fontsize=9)
        title.set_text(f"{source_id}   RA {ra:.6f}  Dec {dec:+.6f}")
        self.pdf.savefig(fig)


def batch_task(
    progress: Any,
    *,
    sources: list[tuple[str, float, float]],
    images: list[dict[str, Any]],
    size_arcsec: float,
    north_up_scale: float | None,
    out_dir: str,
    tag: str,
    pdf: bool = True,
) -> dict[str, Any]:
    """Job body: cutouts of every source in every image covering it, into ``<tag>_cutouts.zip``
    (FITS with WCS) and ``<tag>_cutouts.pdf`` (one page per source: the strip of panels)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    zip_path, pdf_path = out / f"{tag}_cutouts.zip", out / f"{tag}_cutouts.pdf"
    panels: dict[int, list[tuple[str, np.ndarray]]] = {i: [] for i in range(len(sources))}
    ra = np.array([s[1] for s in sources], dtype=np.float64)
    dec = np.array([s[2] for s in sources], dtype=np.float64)
    written = 0
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for k, spec in enumerate(images):
            progress(0.9 * k / max(1, len(images)), f"cutting {spec['label']}")
            with FitsImage(Path(spec["file"]), spec["hdu"]) as image:
                x, y = image.wcs.world_to_pixel(ra, dec)
                with np.errstate(invalid="ignore"):
                    inside = (x >= -0.5) & (x < image.width - 0.5) & (y >= -0.5) & (y < image.height - 0.5)
                stem = f"{_safe(Path(spec['path']).stem)}_hdu{spec['hdu']}_{_safe(spec['filter'] or 'nofilter')}"
                for i in (int(k) for k in np.flatnonzero(inside)):
                    piece = one_cutout(image, spec["meta"], ra[i], dec[i], size_arcsec, north_up_scale=north_up_scale)
                    if piece is None:
                        continue
                    header = cutout_header(
                        piece, spec["meta"], provenance(spec["path"], spec["hdu"], ra[i], dec[i], size_arcsec)
                    )
                    archive.writestr(f"{_safe(str(sources[i][0]))}/{stem}.fits", to_fits(piece, header))
                    written += 1
                    if pdf:
                        step = max(1, max(piece.data.shape) // 160)
                        panels[i].append((spec["label"], piece.data[::step, ::step].copy()))
    files = {zip_path.name: str(zip_path)}
    if pdf:
        from matplotlib.backends.backend_pdf import PdfPages

        with PdfPages(pdf_path) as document:
            pages = _Pages(document)
            for n, (source_id, sra, sdec) in enumerate(sources):
                if n % 20 == 0:
                    progress(0.9 + 0.1 * n / max(1, len(sources)), f"PDF page {n + 1} of {len(sources)}")
                pages.page(str(source_id), sra, sdec, panels[n])
        files[pdf_path.name] = str(pdf_path)
    return {"n_sources": len(sources), "n_cutouts": written, "files": files}
