"""Palettes: every matplotlib colormap and its reverse, invert, NaN colour."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from neloura.core.colormaps import colormap_names, palette, parse_color
from neloura.core.stretch import NAN_INDEX
from neloura.errors import InvalidParameter


def test_every_matplotlib_colormap_and_its_reverse_is_available() -> None:
    names = set(colormap_names())
    assert set(matplotlib.colormaps) <= names
    for name in ("viridis", "gray", "inferno", "coolwarm"):
        assert name in names and f"{name}_r" in names
    for name in names:
        assert palette(name).rgb.shape == (256, 3)


def test_palette_samples_the_colormap_evenly() -> None:
    pal = palette("viridis")
    expected = np.rint(matplotlib.colormaps["viridis"](np.linspace(0, 1, 255))[:, :3] * 255)
    np.testing.assert_array_equal(pal.rgb[:255], expected)
    gray = palette("gray").rgb
    assert gray[0].tolist() == [0, 0, 0] and gray[254].tolist() == [255, 255, 255]


def test_reverse_and_invert_flip_the_data_entries() -> None:
    np.testing.assert_array_equal(palette("magma", invert=True).rgb[:255], palette("magma").rgb[:255][::-1])
    # matplotlib's own reverse samples its 256-entry table at mirrored positions: equal within a step
    diff = palette("magma_r").rgb[:255].astype(int) - palette("magma").rgb[:255][::-1]
    assert np.abs(diff).max() <= 4


def test_nan_colour_is_transparent_by_default_or_the_given_colour() -> None:
    pal = palette("gray")
    assert pal.alpha[NAN_INDEX] == 0 and not pal.opaque
    red = palette("gray", nan_color="red")
    assert red.rgb[NAN_INDEX].tolist() == [255, 0, 0] and red.opaque
    half = palette("gray", nan_color="#00ff0080")
    assert half.rgb[NAN_INDEX].tolist() == [0, 255, 0] and half.alpha[NAN_INDEX] == 128
    assert parse_color("0000ff") == (0, 0, 255, 255)


@pytest.mark.parametrize("bad", ["nocolour", "#12345", "rgb(1,2,3)", "__import__('os')"])
def test_bad_colours_and_colormaps_are_invalid(bad: str) -> None:
    with pytest.raises(InvalidParameter):
        palette("gray", nan_color=bad)
    with pytest.raises(InvalidParameter):
        palette(bad)
