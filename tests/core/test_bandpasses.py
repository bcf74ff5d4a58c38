"""The bandpass table: lookups by (instrument, filter) for the SED (never guessed), citations;
bands from header keywords (never file names), pivot ordering (longest red), preset colours (RGB)."""

from __future__ import annotations

import pytest

from neloura.core.bandpasses import (
    CITATIONS,
    TABLE,
    bandpass,
    filter_name,
    from_header,
    lookup,
    nominal_um,
    order_by_wavelength,
    preset_colors,
)


def test_every_instrument_is_cited() -> None:
    assert set(TABLE) == set(CITATIONS)


def test_lookup_by_instrument_and_filter() -> None:
    assert lookup("NIRCam", "f444w").pivot_um == 4.402  # type: ignore[union-attr]
    assert lookup("MIRI", "F770W").pivot_um == 7.639  # type: ignore[union-attr]
    assert lookup("WFC3/IR", "F160W").pivot_um == 1.5369  # type: ignore[union-attr]
    assert lookup("2MASS", "Ks").pivot_um == 2.1638  # type: ignore[union-attr]


def test_an_unknown_or_ambiguous_filter_is_not_guessed() -> None:
    assert lookup("NIRCAM", "F999Z") is None
    assert lookup(None, "F606W") is None  # WFC3/UVIS and ACS/WFC differ
    assert lookup(None, "F2100W") is not None  # only MIRI has it
    assert lookup("SOMECAM", "F150W") is None


def test_from_header_reads_hst_detector_and_acs_filter_wheels() -> None:
    assert from_header({"INSTRUME": "WFC3", "DETECTOR": "IR", "FILTER": "F160W"})[2].pivot_um == 1.5369  # type: ignore[union-attr]
    instrument, band, found = from_header(
        {"INSTRUME": "ACS", "DETECTOR": "WFC", "FILTER1": "CLEAR1L", "FILTER2": "F814W"}
    )
    assert (instrument, band, found.pivot_um if found else None) == ("ACS/WFC", "F814W", 0.8045)
    assert from_header({"INSTRUME": "NIRCAM", "FILTER": "F999Z"})[2] is None


@pytest.mark.parametrize(
    ("headers", "filt", "pivot"),
    [
        ([{"TELESCOP": "HST", "INSTRUME": "WFC3", "FILTER": "F814W"}], "F814W", 0.8039),
        ([{}, {"TELESCOP": "HST", "INSTRUME": "ACS", "FILTER1": "CLEAR1L", "FILTER2": "F814W"}], "F814W", 0.8045),
        ([{"TELESCOP": "JWST", "INSTRUME": "NIRCAM", "FILTER": "F444W", "PUPIL": "CLEAR"}], "F444W", 4.402),
        ([{"TELESCOP": "JWST", "INSTRUME": "NIRCAM", "FILTER": "F444W", "PUPIL": "F405N"}], "F405N", 4.055),
        ([{"TELESCOP": "JWST", "INSTRUME": "MIRI", "FILTER": "F2100W"}], "F2100W", 20.795),
        ([{"TELESCOP": "SDSS 2.5m", "FILTER": "r"}], "r", 0.6176),
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
