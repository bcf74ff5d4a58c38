"""A cube's restoring beam(s) and the units they give: Jy/beam <-> K, pixel scale and north.

One beam from BMAJ/BMIN/BPA or one per plane from CASA's BEAMS table (read through radio-beam),
as :class:`CubeBeams`; :func:`jy_per_beam_to_k` equals ``SpectralCube.to(u.K)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits

from neloura.core.cubes import spectral_axis
from neloura.core.fitsio import FitsImage
from neloura.errors import InvalidParameter


@dataclass(frozen=True)
class CubeBeams:
    """The restoring beam: one (``per_plane`` False) or one per plane (CASA's BEAMS table)."""

    major_arcsec: np.ndarray
    minor_arcsec: np.ndarray
    pa_deg: np.ndarray
    per_plane: bool

    def at(self, plane: int) -> tuple[float, float, float]:
        i = plane if self.per_plane else 0
        return float(self.major_arcsec[i]), float(self.minor_arcsec[i]), float(self.pa_deg[i])

    def area_sr(self) -> np.ndarray:
        """Gaussian beam solid angle per plane (one value when not per plane)."""
        fwhm = (1 / (8 * math.log(2))) * 2 * math.pi
        return np.asarray(fwhm * self.major_arcsec * self.minor_arcsec * (math.pi / 180 / 3600) ** 2)

    def spread(self) -> float:
        """Largest relative difference of beam areas from their minimum (0 for one beam)."""
        area = self.area_sr()
        return float(area.max() / area.min() - 1) if len(area) > 1 and area.min() > 0 else 0.0


def read_beams(path: Path, hdu: int, header: fits.Header, planes: int) -> CubeBeams | None:
    """The beam of a cube: the ``BEAMS`` binary table (first polarisation) when the file has
    one with a row per plane, else BMAJ/BMIN/BPA (degrees) from the header, else None."""
    from radio_beam import Beams

    try:
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
            names = [h.name.upper() for h in hdul]
            if "BEAMS" in names:
                table = hdul[names.index("BEAMS")]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    beams = Beams.from_fits_bintable(table)
                    pol = np.asarray(table.data["POL"]) if "POL" in table.columns.names else None
                if pol is not None and len(pol) == len(beams):
                    beams = beams[pol == pol.min()]
                if len(beams) == planes:
                    return CubeBeams(
                        np.asarray(beams.major.to_value(u.arcsec)),
                        np.asarray(beams.minor.to_value(u.arcsec)),
                        np.asarray(beams.pa.to_value(u.deg)),
                        True,
                    )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass  # an unreadable table means: fall back to the header's beam
    try:
        major, minor = float(header["BMAJ"]) * 3600, float(header["BMIN"]) * 3600
        pa = float(header.get("BPA", 0.0) or 0.0)
    except (KeyError, TypeError, ValueError):
        return None
    if not (major > 0 and minor > 0 and math.isfinite(major + minor + pa)):
        return None
    return CubeBeams(np.array([major]), np.array([minor]), np.array([pa]), False)


def jy_per_beam_to_k(image: FitsImage, beams: CubeBeams | None) -> np.ndarray:
    """Kelvin per (BUNIT) of each plane, Rayleigh-Jeans (``radio_beam.Beam.jtok``, as
    ``SpectralCube.to(u.K)``). 422 unless BUNIT is a flux per beam, there is a beam and the
    spectral axis converts to frequency."""
    from radio_beam import Beam

    try:
        bunit = u.Unit(image.bunit.replace("JY", "Jy").replace("BEAM", "beam"), format="fits", parse_strict="silent")
    except (ValueError, TypeError):
        bunit = None
    if bunit is None or not (bunit * u.beam).is_equivalent(u.Jy):
        raise InvalidParameter(f"Kelvin needs data in Jy/beam (BUNIT is {image.bunit or 'empty'})")
    if beams is None:
        raise InvalidParameter("Kelvin needs the beam (BMAJ/BMIN or a BEAMS table)")
    freq = spectral_axis(image, "Hz").values
    factors = np.empty(image.planes)
    scale = (1 * bunit * u.beam).to_value(u.Jy)
    for plane in range(image.planes):
        major, minor, pa = beams.at(plane)
        beam = Beam(major=major * u.arcsec, minor=minor * u.arcsec, pa=pa * u.deg)
        factors[plane] = scale * beam.jtok(freq[plane] * u.Hz).to_value(u.K)
    return factors


def sky_orientation(image: FitsImage) -> tuple[float, float] | None:
    """(pixel scale in arcsec, angle of north from the +y pixel axis towards -x in degrees) at
    the image centre, through the full WCS; None without a celestial WCS. A beam's PA (east of
    north) is drawn at ``angle + BPA`` from +y towards -x."""
    wcs = image.wcs
    if not wcs.has_celestial:
        return None
    scale = wcs.pixel_scale_arcsec()
    cx, cy = (image.width - 1) / 2, (image.height - 1) / 2
    lon, lat = wcs.pixel_to_native([cx], [cy])
    step = scale / 3600 * (1 if lat[0] < 89 else -1)
    nx, ny = wcs.world_to_pixel(lon, lat + step, frame="native")
    north = math.degrees(math.atan2(-(float(nx[0]) - cx), float(ny[0]) - cy))
    return scale, north if step > 0 else north + 180.0
