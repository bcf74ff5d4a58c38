"""Detection jobs: read one plane, run :func:`neloura.core.detection.find_sources`, save the
catalog under catalogs/detections/ as FITS and CSV (the catalog store lists it from there).

The task functions run in a job process (:mod:`neloura.runtime.jobs`); they take only plain,
picklable arguments (absolute paths already confined by the API layer).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from neloura.core.detection import find_sources
from neloura.core.fitsio import FitsImage
from neloura.core.photometry import aperture_photometry
from neloura.core.psf import PsfModel, load_psf_fits
from neloura.core.wcs import ImageWcs
from neloura.errors import InvalidParameter
from neloura.runtime.atomic import atomic_path

DETECTION_OPTIONS = (
    "threshold_sigma",
    "fwhm_px",
    "beam",
    "min_separation_px",
    "min_area_px",
    "edge_px",
    "deblend",
    "box_px",
    "aperture_radius_px",
    "min_snr",
)


def image_context(image: FitsImage) -> dict[str, Any]:
    """WCS, unit and pixel solid angle of an image (pixel area only with a celestial WCS)."""
    wcs = image.wcs
    area = wcs.pixel_area_sr() if wcs.has_celestial else None
    return {"wcs": wcs, "bunit": image.bunit, "pixel_area_sr": area}


def read_plane(image_path: str, hdu: int, plane: int, progress: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """A job's input: the physical values of one plane and its :func:`image_context`."""
    progress(0.01, "reading the image")
    with FitsImage(Path(image_path), hdu) as image:
        return image.plane(plane).full(), image_context(image)


def psf_for_image(psf_path: Path, wcs: ImageWcs) -> PsfModel:
    """A PSF file resampled to the pixel scale of the image of ``wcs`` (which needs a celestial WCS)."""
    if not wcs.has_celestial:
        raise InvalidParameter("a PSF file needs an image with a celestial WCS (for its pixel scale)")
    return load_psf_fits(psf_path, wcs.pixel_scale_arcsec())


def safe_stem(path: Path) -> str:
    stem = path.name.removesuffix(".gz").removesuffix(".fz")
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:60] or "image"


def write_table(table: Table, base: Path) -> dict[str, str]:
    """Write ``base``.fits and ``base``.csv (each renamed into place whole); returns {file name: absolute path}."""
    base.parent.mkdir(parents=True, exist_ok=True)
    files = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ext, fmt in ((".fits", "fits"), (".csv", "ascii.csv")):
            path = base.with_suffix(ext)
            with atomic_path(path) as temp:
                table.write(temp, format=fmt, overwrite=True)
            files[path.name] = str(path)
    return files


def detection_task(
    progress: Any,
    *,
    image_path: str,
    hdu: int,
    plane: int,
    out_dir: str,
    catalogs_root: str,
    job_tag: str,
    params: dict[str, Any],
    segmentation_dir: str | None = None,
    files_root: str | None = None,
) -> dict[str, Any]:
    """Job body: detect sources on one plane and save the catalog (FITS + CSV); with
    ``params["segmentation"]``, also the segmentation map (labels = the catalog's ``id``) under
    ``segmentation_dir`` (inside ``files_root``, so that the viewer opens it as an overlay)."""
    path = Path(image_path)
    data, context = read_plane(image_path, hdu, plane, progress)
    options = {k: v for k, v in params.items() if k in DETECTION_OPTIONS and v is not None}
    if isinstance(options.get("beam"), list):
        options["beam"] = tuple(options["beam"])
    table = find_sources(data, plane=plane, progress=progress, **context, **options)
    table.meta["image"] = path.name
    table.meta["hdu"] = hdu
    table.meta["plane"] = plane
    name = f"{safe_stem(path)}_hdu{hdu}_p{plane}_{job_tag}"
    files = write_table(table, Path(out_dir) / name)
    catalog = str((Path(out_dir) / f"{name}.fits").relative_to(catalogs_root).as_posix())
    flux_unit = str(table.meta.get("flux_unit", ""))
    result: dict[str, Any] = {
        "catalog": catalog,
        "n_sources": len(table),
        "flux_unit": flux_unit,
        "has_sky": "ra_deg" in table.colnames,
        "background_rms": table.meta.get("background_rms_median"),
        "files": files,
    }
    if params.get("segmentation") and segmentation_dir and files_root:
        progress(0.97, "writing the segmentation map")
        segm = write_segmentation(data, table, context, Path(segmentation_dir) / f"{name}_segm.fits", params)
        result["segmentation"] = segm.relative_to(files_root).as_posix()
        files[segm.name] = str(segm)
    return result


def write_segmentation(
    data: np.ndarray, table: Table, context: dict[str, Any], out: Path, params: dict[str, Any]
) -> Path:
    """The detection's segmentation map (:func:`neloura.core.segmentation.detection_segments`,
    labels = ``id``) as an int32 FITS image with the image's celestial WCS, written atomically."""
    from astropy.io import fits

    from neloura.core.background import estimate_background
    from neloura.core.segmentation import detection_segments

    bg = estimate_background(data, int(params.get("box_px") or 64))
    labels = detection_segments(
        data,
        np.asarray(table["x_pix"] if len(table) else [], dtype=np.float64),
        np.asarray(table["y_pix"] if len(table) else [], dtype=np.float64),
        np.asarray(table["id"] if len(table) else [], dtype=np.int64),
        sky=bg.blocks(bg.sky),
        rms=np.maximum(bg.blocks(bg.rms), 0.1 * bg.global_rms),
        fwhm_px=float(params.get("fwhm_px") or 3.0),
        threshold_sigma=min(2.0, float(params.get("threshold_sigma") or 2.0)),
        min_pixels=max(3, int(params.get("min_area_px") or 1)),
    )
    wcs = context["wcs"]
    header = wcs.wcs.celestial.to_header(relax=True) if wcs.has_celestial and wcs.wcs is not None else fits.Header()
    header["EXTNAME"] = "SEGM"
    header["COMMENT"] = "neloura detection segmentation map: label = catalog id, 0 = no source"
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.part")
    fits.PrimaryHDU(labels, header).writeto(part, overwrite=True)
    part.replace(out)
    return out


def photometry_at(
    image: FitsImage,
    plane: int,
    x_pix: np.ndarray,
    y_pix: np.ndarray,
    radius_px: float,
    annulus_px: tuple[float, float] | None,
) -> Table:
    """Aperture photometry at 0-based positions, reading only the window they need."""
    inner = annulus_px[1] if annulus_px else radius_px + 2 + max(4.0, radius_px)
    pad = int(np.ceil(max(radius_px, inner))) + 2
    x0, x1 = int(np.floor(x_pix.min())) - pad, int(np.ceil(x_pix.max())) + pad + 1
    y0, y1 = int(np.floor(y_pix.min())) - pad, int(np.ceil(y_pix.max())) + pad + 1
    x0, y0 = max(0, x0), max(0, y0)
    window = image.plane(plane).read(y0, y1, x0, x1)
    context = image_context(image)
    table = aperture_photometry(
        window,
        x_pix - x0,
        y_pix - y0,
        radius_px,
        annulus_px=annulus_px,
        bunit=context["bunit"],
        pixel_area_sr=context["pixel_area_sr"],
    )
    table["x_pix"] = np.asarray(x_pix, dtype=np.float64)
    table["y_pix"] = np.asarray(y_pix, dtype=np.float64)
    wcs = context["wcs"]
    if wcs.has_celestial and len(table):
        ra, dec = wcs.pixel_to_world(x_pix, y_pix, plane)
        table["ra_deg"], table["dec_deg"] = ra, dec
        table["ra_deg"].unit = table["dec_deg"].unit = "deg"
    return table
