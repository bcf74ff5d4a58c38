"""SED truth: point sources of known flux in images of two pixel scales, two PSF widths, MJy/sr
and e/s with PHOTFNU; fluxes equal the injected ones (3 %, PSF-matched) and photutils called
directly; bad input answered clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import SigmaClip
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

from neloura.settings import Settings
from tests.sed_fields import NIRCAM, PHOTFNU, RA0, SOURCES, WFC3, Band, write_band, write_gaussian_psf

RADIUS = 0.6


@pytest.fixture
def field(settings: Settings) -> Settings:
    write_band(settings.files_dir / "deep", NIRCAM, seed=1)
    write_band(settings.files_dir / "deep", WFC3, seed=2)
    write_gaussian_psf(settings.psf_dir / "F150W.fits", NIRCAM.fwhm_arcsec, 0.015)
    write_gaussian_psf(settings.psf_dir / "psf_wfc3_F160W.fits", WFC3.fwhm_arcsec, 0.04, half=60)
    return settings


def _sed(client: TestClient, ra: float, dec: float, **extra: object) -> dict:
    response = client.post("/api/sed", json={"ra_deg": ra, "dec_deg": dec, "radius_arcsec": RADIUS, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_covering_lists_both_images_with_pivots(field: Settings, client: TestClient) -> None:
    ra, dec, _ = SOURCES[0]
    images = client.get("/api/sky/covering", params={"ra_deg": ra, "dec_deg": dec}).json()["images"]
    assert {(i["path"], i["hdu"], i["filter"], i["pivot_um"]) for i in images} == {
        ("deep/nircam_f150w.fits", 1, "F150W", 1.501),
        ("deep/wfc3_f160w.fits", 1, "F160W", 1.5369),
    }


@pytest.mark.parametrize("source", range(len(SOURCES)))
def test_psf_matched_fluxes_equal_the_injected_ones(field: Settings, client: TestClient, source: int) -> None:
    ra, dec, flux = SOURCES[source]
    answer = _sed(client, ra, dec, psf_match=True)
    assert answer["target_psf"]["source"] == "psf/psf_wfc3_F160W.fits"
    assert len(answer["points"]) == 2
    for point in answer["points"]:
        assert point["snr"] >= 50 and not point["upper_limit"]
        assert point["flux_ujy"] == pytest.approx(flux, rel=0.03), point
        assert point["unit"] == "uJy" and point["psf_matched"]
        assert point["wavelength_um"] in (1.501, 1.5369)


def _direct(path: Path, band: Band, ra: float, dec: float) -> float:
    """The same measurement made with photutils directly on the whole image, in µJy."""
    with fits.open(path) as hdul:
        data, header = hdul[1].data.astype(float), hdul[1].header
    x, y = WCS(header).all_world2pix([[ra, dec]], 0)[0]
    r = RADIUS / band.scale_arcsec
    aperture = CircularAperture((x, y), r=r)
    annulus = CircularAnnulus((x, y), r_in=2 * r, r_out=3 * r)
    background = ApertureStats(data, annulus, sigma_clip=SigmaClip(sigma=3.0, maxiters=10)).median
    total = aperture_photometry(data, aperture, method="exact")["aperture_sum"][0]
    flux = total - background * aperture.area
    if band.unit == "MJy/sr":
        return float(flux * 1e12 * abs(header["CDELT1"] * header["CDELT2"]) * (np.pi / 180) ** 2)
    return float(flux * PHOTFNU * 1e6)


def test_fluxes_equal_photutils_called_directly(field: Settings, client: TestClient) -> None:
    for ra, dec, _ in SOURCES:
        points = _sed(client, ra, dec, aperture_correction=False)["points"]
        by_filter = {p["filter"]: p for p in points}
        for band in (NIRCAM, WFC3):
            direct = _direct(field.files_dir / "deep" / f"{band.name}.fits", band, ra, dec)
            assert by_filter[band.filter]["flux_ujy"] == pytest.approx(direct, rel=1e-6)
            assert by_filter[band.filter]["aperture_correction"] == 1.0


def test_a_position_outside_every_image_is_an_empty_result(field: Settings, client: TestClient) -> None:
    assert client.get("/api/sky/covering", params={"ra_deg": RA0 + 1, "dec_deg": 2.0}).json()["images"] == []
    assert _sed(client, RA0 + 1, 2.0)["points"] == []
    cut = client.post("/api/cutouts", json={"ra_deg": RA0 + 1, "dec_deg": 2.0, "size_arcsec": 3})
    assert cut.status_code == 200 and cut.json()["cutouts"] == []


def test_a_filter_missing_from_the_table_is_asked_for(settings: Settings, client: TestClient) -> None:
    odd = Band("odd", {"INSTRUME": "NIRCAM"}, "F999Z", 0.06, 0.15, "MJy/sr", (200, 200))
    write_band(settings.files_dir, odd, seed=3)
    ra, dec, _ = SOURCES[0]
    answer = _sed(client, ra, dec)
    assert answer["missing_wavelengths"] == ["F999Z"]
    assert answer["points"][0]["wavelength_um"] is None
    assert any("not in the bandpass table" in n for n in answer["points"][0]["notes"])
    given = _sed(client, ra, dec, wavelengths_um={"F999Z": 9.99})
    assert given["missing_wavelengths"] == [] and given["points"][0]["wavelength_um"] == 9.99


def test_an_image_without_bunit_gives_image_units_and_says_so(settings: Settings, client: TestClient) -> None:
    write_band(settings.files_dir, NIRCAM, seed=4, bunit=False)
    ra, dec, _ = SOURCES[1]
    point = _sed(client, ra, dec, aperture_correction=False)["points"][0]
    assert point["unit"] == "image units"
    assert "no BUNIT" in point["calibration"] and any("no BUNIT" in n for n in point["notes"])
    assert point["flux_ujy"] == pytest.approx(point["aperture_flux"])


def _kernel(path: Path, scale: float, *, stated: bool = True) -> None:
    """The Gaussian kernel taking the NIRCam PSF to the WFC3 one, sampled at ``scale``."""
    fwhm = np.sqrt(WFC3.fwhm_arcsec**2 - NIRCAM.fwhm_arcsec**2)
    write_gaussian_psf(path, fwhm, scale, half=40)
    if not stated:
        with fits.open(path, mode="update") as hdul:
            del hdul[0].header["PIXELSCL"]


def test_a_kernel_of_another_pixel_scale_is_resampled(field: Settings, client: TestClient) -> None:
    _kernel(field.kernels_dir / "nircam_to_wfc3.fits", 0.03)  # the NIRCam image has 0.06"
    ra, dec, flux = SOURCES[2]
    answer = _sed(client, ra, dec, psf_match=True, kernels={"F150W": "nircam_to_wfc3.fits"})
    nircam = next(p for p in answer["points"] if p["filter"] == "F150W")
    assert "resampled from 0.03" in nircam["psf_matched"]
    assert nircam["flux_ujy"] == pytest.approx(flux, rel=0.03)


def test_a_kernel_without_a_pixel_scale_is_refused(field: Settings, client: TestClient) -> None:
    _kernel(field.kernels_dir / "unknown.fits", 0.03, stated=False)
    ra, dec, _ = SOURCES[2]
    body = {
        "ra_deg": ra,
        "dec_deg": dec,
        "radius_arcsec": RADIUS,
        "psf_match": True,
        "kernels": {"F150W": "unknown.fits"},
    }
    response = client.post("/api/sed", json=body)
    assert response.status_code == 422 and "states no pixel scale" in response.json()["detail"]


def test_psf_matching_without_a_psf_is_refused(settings: Settings, client: TestClient) -> None:
    write_band(settings.files_dir, NIRCAM, seed=5)
    ra, dec, _ = SOURCES[0]
    body = {"ra_deg": ra, "dec_deg": dec, "radius_arcsec": RADIUS, "psf_match": True}
    response = client.post("/api/sed", json=body)
    assert response.status_code == 422 and "F150W" in response.json()["detail"]


def test_upper_limits_for_non_detections(field: Settings, client: TestClient) -> None:
    ra, dec = RA0 - 6.0 / 3600, 2.0 - 6.0 / 3600  # empty sky
    for point in _sed(client, ra, dec)["points"]:
        assert point["upper_limit"] and point["flux_ujy"] == pytest.approx(3 * point["flux_err_ujy"])


def test_catalog_flux_columns_become_points(field: Settings, client: TestClient) -> None:
    ra, dec, _ = SOURCES[0]
    (field.catalogs_dir / "phangs.ecsv").write_text(
        "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: ra, datatype: float64, unit: deg}\n"
        "# - {name: dec, datatype: float64, unit: deg}\n# - {name: F2100W_flux, datatype: float64, unit: mJy}\n"
        "# - {name: F2100W_flux_err, datatype: float64, unit: mJy}\n"
        f"ra dec F2100W_flux F2100W_flux_err\n{ra} {dec} 1.5 0.1\n{ra + 0.01} {dec} 9.0 1.0\n"
    )
    answer = _sed(client, ra, dec, catalog={"name": "phangs.ecsv"})
    point = next(p for p in answer["points"] if p.get("source") == "catalog")
    assert point["filter"] == "F2100W" and point["wavelength_um"] == 20.795
    assert point["flux_ujy"] == pytest.approx(1500.0) and point["flux_err_ujy"] == pytest.approx(100.0)


def test_sed_exports(field: Settings, client: TestClient) -> None:
    ra, dec, _ = SOURCES[0]
    points = _sed(client, ra, dec)["points"]
    for fmt, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")):
        response = client.post("/api/sed/plot", json={"points": points, "format": fmt, "width_in": 6, "height_in": 4})
        assert response.status_code == 200 and response.content.startswith(magic)
    csv = client.post("/api/sed/plot", json={"points": points, "format": "csv"}).text.splitlines()
    assert csv[0].startswith("filter,instrument,wavelength_um,flux_ujy") and len(csv) == 3


def test_sed_export_with_cutout_insets(field: Settings, client: TestClient) -> None:
    """Each point's image gives a cutout inset above the plot, titled by its filter."""
    import io

    from pypdf import PdfReader

    ra, dec, _ = SOURCES[0]
    points = _sed(client, ra, dec)["points"]
    assert {p["filter"] for p in points} == {"F150W", "F160W"}

    def text(insets: dict | None) -> str:
        body = {"points": points, "format": "pdf", "width_in": 8, "height_in": 6, "insets": insets}
        response = client.post("/api/sed/plot", json=body)
        assert response.status_code == 200, response.text
        return PdfReader(io.BytesIO(response.content)).pages[0].extract_text()

    plain = text(None)
    with_insets = text({"ra_deg": ra, "dec_deg": dec, "size_arcsec": 3})
    for name in ("F150W", "F160W"):  # the point's label, and the inset's title
        assert plain.count(name) == 1 and with_insets.count(name) == 2
    far = text({"ra_deg": (ra + 1.0) % 360, "dec_deg": dec, "size_arcsec": 3})  # off every image: no inset
    assert far.count("F150W") == 1
    bad = client.post("/api/sed/plot", json={"points": points, "insets": {"ra_deg": ra, "dec_deg": 95}})
    assert bad.status_code == 422
