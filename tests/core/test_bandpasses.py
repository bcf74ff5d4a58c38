"""Bands from header keywords (never file names), pivot ordering (longest red), preset colours."""

from __future__ import annotations

import pytest

from neloura.core.bandpasses import bandpass, filter_name, nominal_um, order_by_wavelength, preset_colors


@pytest.mark.parametrize(
    ("headers", "filt", "pivot"),
    [
        ([{"TELESCOP": "HST", "INSTRUME": "WFC3", "FILTER": "F814W"}], "F814W", 0.8039),
        ([{}, {"TELESCOP": "HST", "INSTRUME": "ACS", "FILTER1": "CLEAR1L", "FILTER2": "F814W"}], "F814W", 0.8046),
        ([{"TELESCOP": "JWST", "INSTRUME": "NIRCAM", "FILTER": "F444W", "PUPIL": "CLEAR"}], "F444W", 4.421),
        ([{"TELESCOP": "JWST", "INSTRUME": "NIRCAM", "FILTER": "F444W", "PUPIL": "F405N"}], "F405N", 4.055),
        ([{"TELESCOP": "JWST", "INSTRUME": "MIRI", "FILTER": "F2100W"}], "F2100W", 20.80),
        ([{"TELESCOP": "SDSS 2.5m", "FILTER": "r"}], "r", 0.6175),
    ],
)
def test_bands_come_from_header_keywords(headers: list[dict], filt: str, pivot: float) -> None:
    band = bandpass(headers)
    assert band.filter == filt and band.pivot_um == pytest.approx(pivot) and band.source == "table"


def test_photplam_wins_and_unknown_names_fall_back_to_the_convention() -> None:
    assert bandpass([{"TELESCOP": "HST", "INSTRUME": "WFC3", "FILTER": "F814W", "PHOTPLAM": 8045.0}]).pivot_um == 0.8045
    assert bandpass([{"TELESCOP": "JWST", "INSTRUME": "NIRISS", "FILTER": "F356W"}]).pivot_um == pytest.approx(3.56)
    assert nominal_um("F600LP", "HST") == 0.6
    unknown = bandpass([{"OBJECT": "M51"}])
    assert unknown.pivot_um is None and unknown.filter == "" and filter_name([{"FILTER": "CLEAR"}]) == ""


@pytest.mark.parametrize(
    ("telescope", "instrument", "filters"),
    [
        ("HST", "WFC3", ["F438W", "F814W", "F555W"]),
        ("JWST", "NIRCAM", ["F150W", "F444W", "F277W"]),
        ("JWST", "NIRCAM", ["F300M", "F360M", "F335M"]),
        ("JWST", "MIRI", ["F770W", "F2100W", "F1130W"]),
    ],
)
def test_presets_order_longest_first(telescope: str, instrument: str, filters: list[str]) -> None:
    bands = [bandpass([{"TELESCOP": telescope, "INSTRUME": instrument, "FILTER": f}]) for f in filters]
    ordered = [bands[i].filter for i in order_by_wavelength(bands)]
    assert ordered == sorted(filters, key=lambda f: -int(f[1:-1]))


def test_unknown_bands_keep_their_order_after_known_ones() -> None:
    bands = [bandpass([{}]), bandpass([{"TELESCOP": "HST", "INSTRUME": "WFC3", "FILTER": "F438W"}]), bandpass([{}])]
    assert order_by_wavelength(bands) == [1, 0, 2]


def test_preset_colours_run_from_red_to_blue() -> None:
    assert preset_colors(3) == ["#ff0000", "#00ff00", "#0000ff"]
    assert preset_colors(2) == ["#ff0000", "#00ffff"]
    assert preset_colors(5) == ["#ff0000", "#ffff00", "#00ff00", "#00ffff", "#0000ff"]
