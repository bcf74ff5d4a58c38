"""Command line for source detection: ``python peak_finder.py IMAGE.fits --threshold 5 --fwhm 3 -o sources.fits``.

Only parses arguments; the work is done by :func:`neloura.core.detection.find_sources`.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

FORMATS = {".fits": "fits", ".fit": "fits", ".csv": "ascii.csv", ".ecsv": "ascii.ecsv"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peak_finder.py",
        description=(
            "Detect point sources in a FITS image and measure them (aperture photometry with a local "
            "background annulus). The output table has x_pix, y_pix (0-based), x_fits, y_fits (1-based), "
            "ra_deg, dec_deg (ICRS, when the image has a celestial WCS), peak, flux, flux_err, snr, "
            "significance, sky, sky_rms, fwhm_px... with units in the FITS/ECSV metadata. Fluxes of MJy/sr "
            "images are in µJy (through the pixel solid angle); other units are summed and keep their unit."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "image", type=Path, help="FITS image (multi-extension, tile-compressed and scaled integers work)"
    )
    parser.add_argument("--hdu", type=int, default=None, help="HDU index (default: the largest image HDU)")
    parser.add_argument(
        "--plane", type=int, default=0, help="plane of a cube (0-based index along the spectral/3rd axis)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=5.0,
        help="detection threshold in noise sigmas of the matched-filtered image (a Gaussian star of peak S/N p "
        "reaches about 2.26 p for FWHM 3 px)",
    )
    parser.add_argument("--fwhm", type=float, default=3.0, help="source FWHM in pixels: the size of the matched filter")
    parser.add_argument(
        "--beam",
        type=float,
        nargs=3,
        metavar=("MAJOR", "MINOR", "PA"),
        default=None,
        help="elliptical beam instead of --fwhm: major and minor FWHM in pixels, position angle in degrees",
    )
    parser.add_argument(
        "--min-separation", type=float, default=None, help="peaks closer than this (px) merge (default 0.8 FWHM)"
    )
    parser.add_argument(
        "--min-area", type=int, default=1, help="minimum pixels above threshold around a peak (5x5 box)"
    )
    parser.add_argument(
        "--edge", type=int, default=None, help="ignore peaks this close to the border, px (default FWHM/2)"
    )
    parser.add_argument(
        "--no-deblend", action="store_true", help="merge peaks within 3 FWHM instead of deblending them"
    )
    parser.add_argument(
        "--box",
        type=int,
        default=32,
        help="background mesh box size in pixels (sigma-clipped median; 32 follows extended emission)",
    )
    parser.add_argument(
        "--min-snr",
        type=float,
        default=3.0,
        help="keep sources whose aperture S/N (local annulus sky) is at least this; 0 keeps every peak",
    )
    parser.add_argument("--aperture", type=float, default=None, help="aperture radius in pixels (default: the FWHM)")
    parser.add_argument(
        "--psf", type=Path, default=None, help="PSF FITS file: aperture correction from its encircled energy"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="output table: .fits, .csv or .ecsv")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fmt = FORMATS.get(args.output.suffix.lower())
    if fmt is None:
        print(f"error: unsupported output extension {args.output.suffix!r} (use .fits, .csv or .ecsv)", file=sys.stderr)
        return 2
    from neloura.core.detection import find_sources
    from neloura.core.fitsio import list_hdus
    from neloura.errors import NelouraError
    from neloura.runtime.detection import psf_for_image, read_plane

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            print(f"[{fraction * 100:5.1f} %] {message}", file=sys.stderr)

    try:
        hdu = args.hdu
        if hdu is None:
            hdu = list_hdus(args.image)[1]
            if hdu is None:
                raise NelouraError(f"{args.image.name} holds no image")
        data, context = read_plane(str(args.image), hdu, args.plane, progress)
        psf = psf_for_image(args.psf, context["wcs"]) if args.psf is not None else None
        start = time.perf_counter()
        table = find_sources(
            data,
            args.threshold,
            args.fwhm,
            beam=tuple(args.beam) if args.beam else None,
            min_separation_px=args.min_separation,
            min_area_px=args.min_area,
            edge_px=args.edge,
            deblend=not args.no_deblend,
            box_px=args.box,
            min_snr=args.min_snr,
            aperture_radius_px=args.aperture,
            psf=psf,
            plane=args.plane,
            progress=progress,
            **context,
        )
        table.meta["image"] = args.image.name
        table.meta["hdu"] = hdu
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table.write(args.output, format=fmt, overwrite=True)
    except (NelouraError, OSError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{len(table)} sources in {time.perf_counter() - start:.2f} s -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
