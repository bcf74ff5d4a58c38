from __future__ import annotations

from neloura.core.bandpasses import CITATIONS, TABLE, from_header, lookup


def test_every_instrument_is_cited() -> None:
    assert set(TABLE) == set(CITATIONS)


def test_lookup_by_instrument_and_filter() -> None:
    assert lookup("NIRCam", "f444w").pivot_um == 4.421  # type: ignore[union-attr]
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
