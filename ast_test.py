"""Command line for artificial-source (completeness) tests::

    python ast_test.py IMAGE.fits --psf psf/F770W.fits --n 500 --iterations 20 \
        --flux-range 1 100 --seed 1 -o completeness.png

Writes the figure (the -o name, plus a PDF beside it), completeness.json beside the figure and the
per-source table (completeness.fits/.csv). Only parses arguments; the work is done by
:func:`neloura.core.completeness.run_completeness`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ast_test.py",
        description=(
            "Inject artificial point sources into a FITS image at seeded random positions on valid data, "
            "re-run the same detection as peak_finder.py, match injected to recovered sources and report "
            "completeness versus flux (binomial errors, logistic fit with the 50 %% and 90 %% fluxes), flux "
            "bias and scatter, position error and false positives."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("image", type=Path, help="FITS image")
    parser.add_argument("--hdu", type=int, default=None, help="HDU index (default: the largest image HDU)")
    parser.add_argument("--plane", type=int, default=0, help="plane of a cube")
    parser.add_argument(
        "--psf",
        type=Path,
        default=None,
        help="PSF FITS file (PIXELSCL or CDELT gives its scale); resampled to the image scale with flux conserved",
    )
    parser.add_argument(
        "--fwhm",
        type=float,
        default=3.0,
        help="without --psf: FWHM (px) of the Gaussian injected; also the detection filter FWHM",
    )
    parser.add_argument("--n", type=int, default=500, help="sources injected per iteration")
    parser.add_argument("--iterations", type=int, default=20, help="number of iterations (independent images)")
    parser.add_argument(
        "--flux-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        required=True,
        help="injected fluxes, drawn log-uniformly; µJy for MJy/sr images, otherwise the pixel unit summed",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed (iteration i uses the seed sequence [seed, i])"
    )
    parser.add_argument("--threshold", type=float, default=5.0, help="detection threshold (matched-filter sigmas)")
    parser.add_argument("--box", type=int, default=64, help="background mesh box size in pixels")
    parser.add_argument(
        "--match-radius", type=float, default=1.5, help="injected and recovered match within this radius (px)"
    )
    parser.add_argument(
        "--min-separation",
        type=float,
        default=None,
        help="minimum distance between injected sources and from existing detections (px; default 2.5 FWHM)",
    )
    parser.add_argument(
        "--allow-on-sources", action="store_true", help="do not keep injected sources away from existing detections"
    )
    parser.add_argument("--bins", type=int, default=12, help="number of log-spaced flux bins")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="local processes running iterations in parallel"
    )
    parser.add_argument(
        "--dask", default="", help="address of a Dask distributed scheduler (runs the iterations there)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("completeness.png"), help="figure (.png); a .pdf is written beside it"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from neloura.core.completeness import CompletenessConfig, run_completeness
    from neloura.core.completeness_report import plot
    from neloura.core.fitsio import list_hdus
    from neloura.core.psf import PsfModel
    from neloura.errors import NelouraError
    from neloura.runtime.detection import psf_for_image, read_plane, write_table

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            print(f"[{fraction * 100:5.1f} %] {message}", file=sys.stderr)

    try:
        hdu = args.hdu if args.hdu is not None else list_hdus(args.image)[1]
        if hdu is None:
            raise NelouraError(f"{args.image.name} holds no image")
        data, context = read_plane(str(args.image), hdu, args.plane, progress)
        fwhm = args.fwhm
        if args.psf is not None:
            psf = psf_for_image(args.psf, context["wcs"])
            fwhm = psf.fwhm_px
        else:
            psf = PsfModel.gaussian(fwhm)
        config = CompletenessConfig(
            n_per_iteration=args.n,
            iterations=args.iterations,
            flux_range=(args.flux_range[0], args.flux_range[1]),
            seed=args.seed,
            match_radius_px=args.match_radius,
            min_separation_px=args.min_separation,
            avoid_detections=not args.allow_on_sources,
            n_bins=args.bins,
            bunit=context["bunit"],
            pixel_area_sr=context["pixel_area_sr"],
            detection={"threshold_sigma": args.threshold, "fwhm_px": fwhm, "box_px": args.box},
        )
        outcome = run_completeness(data, config, psf, n_workers=args.workers, dask_address=args.dask, progress=progress)
        summary = outcome["summary"]
        summary["image"] = args.image.name
        out = args.output if args.output.suffix else args.output.with_suffix(".png")
        out.parent.mkdir(parents=True, exist_ok=True)
        plot(summary, [out, out.with_suffix(".pdf")], title=f"{args.image.name} [HDU {hdu}]")
        (out.parent / "completeness.json").write_text(json.dumps(summary, indent=2))
        write_table(outcome["table"], out.parent / "completeness")
    except (NelouraError, OSError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    if not args.quiet:
        f50, f90, unit = summary["flux_50"], summary["flux_90"], summary["flux_unit"]
        print(
            f"50 %: {f50} {unit}   90 %: {f90} {unit}   -> {out}, {out.parent / 'completeness.json'}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
