"""Sky frames: images in Galactic, FK5 and ecliptic coordinates report ICRS, and take input in any frame."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import FK5, ICRS, BarycentricMeanEcliptic, Galactic, SkyCoord

from neloura.core.frames import frame_name, input_frame, transform_lonlat
from neloura.core.synthetic import make_wcs_header
from neloura.core.wcs import ImageWcs
from neloura.errors import InvalidParameter

MAS_DEG = 1.0 / 3.6e6


def _separation_deg(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    a = SkyCoord(lon1 * u.deg, lat1 * u.deg)
    b = SkyCoord(lon2 * u.deg, lat2 * u.deg)
    return np.asarray(a.separation(b).to_value(u.deg))


def test_galactic_image_reports_icrs() -> None:
    header = make_wcs_header((101, 101), 0.0, 0.0, 1.0)
    header["CTYPE1"], header["CTYPE2"] = "GLON-TAN", "GLAT-TAN"
    del header["RADESYS"]
    image_wcs = ImageWcs.from_header(header)
    ra, dec = image_wcs.pixel_to_world([50.0], [50.0])  # CRPIX: l = b = 0
    centre = SkyCoord(0 * u.deg, 0 * u.deg, frame=Galactic()).icrs
    assert image_wcs.summary()["frame"] == "galactic"
    assert _separation_deg(ra, dec, np.array([centre.ra.deg]), np.array([centre.dec.deg]))[0] < MAS_DEG
    assert abs(ra[0] - 266.405) < 0.001 and abs(dec[0] + 28.936) < 0.001  # the Galactic centre
    x, y = image_wcs.world_to_pixel([centre.ra.deg], [centre.dec.deg])
    np.testing.assert_allclose([x[0], y[0]], [50.0, 50.0], atol=1e-6)
    x, y = image_wcs.world_to_pixel([0.0], [0.0], frame="galactic")
    np.testing.assert_allclose([x[0], y[0]], [50.0, 50.0], atol=1e-6)


def test_fk5_image_is_converted_to_icrs() -> None:
    """FK5 J2000 and ICRS differ by ~20 mas: the conversion must happen, not be skipped."""
    header = make_wcs_header((50, 50), 150.0, 2.0, 0.1, radesys="FK5")
    ra, dec = ImageWcs.from_header(header).pixel_to_world([24.5], [24.5])
    truth = SkyCoord(150.0 * u.deg, 2.0 * u.deg, frame="fk5", equinox="J2000").icrs
    offset = _separation_deg(ra, dec, np.array([150.0]), np.array([2.0]))[0]
    assert offset > 5 * MAS_DEG
    assert _separation_deg(ra, dec, np.array([truth.ra.deg]), np.array([truth.dec.deg]))[0] < MAS_DEG


def test_ecliptic_image_reports_icrs() -> None:
    header = make_wcs_header((64, 64), 120.0, 10.0, 2.0)
    header["CTYPE1"], header["CTYPE2"] = "ELON-TAN", "ELAT-TAN"
    del header["RADESYS"]
    image_wcs = ImageWcs.from_header(header)
    assert image_wcs.has_celestial and "ecliptic" in str(image_wcs.frame_name).lower()
    ra, dec = image_wcs.pixel_to_world([31.5], [31.5])
    truth = SkyCoord(120.0 * u.deg, 10.0 * u.deg, frame=BarycentricMeanEcliptic(equinox="J2000")).icrs
    assert _separation_deg(ra, dec, np.array([truth.ra.deg]), np.array([truth.dec.deg]))[0] < MAS_DEG
    assert _separation_deg(ra, dec, np.array([120.0]), np.array([10.0]))[0] > 1.0  # really converted
    x, y = image_wcs.world_to_pixel([120.0], [10.0], frame="ecliptic")
    np.testing.assert_allclose([x[0], y[0]], [31.5, 31.5], atol=1e-6)


def test_input_frame_names_and_unknown_frame() -> None:
    assert input_frame(" Native ") is None
    assert isinstance(input_frame("FK5"), FK5)
    assert frame_name(input_frame("galactic")) == "galactic" and frame_name(None) == ""
    with pytest.raises(InvalidParameter, match="unknown frame 'altaz'"):
        input_frame("altaz")


def test_transform_lonlat_matches_skycoord_and_keeps_icrs_untouched() -> None:
    lon, lat = np.array([10.0, 200.0]), np.array([-30.0, 45.0])
    same_lon, same_lat = transform_lonlat(lon, lat, ICRS(), ICRS())
    assert same_lon is lon and same_lat is lat
    gal_lon, gal_lat = transform_lonlat(lon, lat, ICRS(), Galactic())
    truth = SkyCoord(lon * u.deg, lat * u.deg, frame="icrs").galactic
    assert np.all(_separation_deg(gal_lon, gal_lat, truth.l.deg, truth.b.deg) < MAS_DEG)
