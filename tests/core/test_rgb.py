"""Composites: additive in linear light (one white channel is its grey tile), Lupton equal to astropy."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.visualization import make_lupton_rgb

from neloura.core import stretch as stretches
from neloura.core.colormaps import palette
from neloura.core.rgb import ChannelDisplay, compose, hex_color, linear_to_srgb, srgb_to_linear
from neloura.errors import InvalidParameter

LINEAR = stretches.lookup_table("linear")


def _field(seed: int, shape: tuple[int, int] = (40, 50)) -> np.ndarray:
    values = np.random.default_rng(seed).uniform(-0.2, 1.2, shape).astype(np.float32)
    values[0, :5] = np.nan
    return values


def _display(color: str, **kw: object) -> ChannelDisplay:
    return ChannelDisplay(hex_color(color), 0.0, 1.0, LINEAR, **kw)  # type: ignore[arg-type]


def test_one_white_channel_is_its_grey_tile() -> None:
    a, b = _field(1), _field(2)
    rgba = compose([a, b], [_display("#ffffff"), _display("#ff0000", visible=False)])
    grey = palette("gray").rgb[stretches.apply(a, 0.0, 1.0, LINEAR)]
    finite = np.isfinite(a)
    assert np.abs(rgba[..., :3].astype(int) - grey.astype(int))[finite].max() <= 1
    assert (rgba[..., 3][finite] == 255).all() and (rgba[..., 3][~finite] == 0).all()


def test_primaries_fill_their_own_component_only() -> None:
    r, g, b = _field(1), _field(2), _field(3)
    rgba = compose([r, g, b], [_display("ff0000"), _display("00ff00"), _display("0000ff")])
    for k, data in enumerate((r, g, b)):
        expected = palette("gray").rgb[stretches.apply(data, 0.0, 1.0, LINEAR)][..., 0]
        ok = np.isfinite(data)
        assert np.abs(rgba[..., k].astype(int) - expected.astype(int))[ok].max() <= 1


def test_channels_add_in_linear_light_and_clip() -> None:
    a = np.full((4, 4), 0.5, np.float32)
    rgba = compose([a, a], [_display("#804020"), _display("#2040ff", weight=0.5)])
    s = srgb_to_linear(np.rint(0.5 * 254) / 254)
    c1 = srgb_to_linear(np.array([0x80, 0x40, 0x20]) / 255)
    c2 = srgb_to_linear(np.array([0x20, 0x40, 0xFF]) / 255)
    expected = np.rint(linear_to_srgb(np.clip(s * c1 + 0.5 * s * c2, 0, 1)) * 255)
    assert np.abs(rgba[0, 0, :3].astype(int) - expected.astype(int)).max() <= 1
    bright = compose([a * 10, a * 10], [_display("#ffffff"), _display("#ffffff")])
    assert (bright[..., :3] == 255).all()  # clipped, not wrapped


def test_blank_in_one_channel_is_not_blank_in_the_composite() -> None:
    a, b = _field(1), _field(2)
    b[5, 5] = np.nan
    rgba = compose([a, b], [_display("#ff0000"), _display("#00ffff")])
    assert rgba[5, 5, 3] == 255 and rgba[0, 0, 3] == 0  # row 0 cols 0..4 blank in both


def test_lupton_equals_astropy_make_lupton_rgb() -> None:
    r, g, b = (np.abs(_field(s)) for s in (1, 2, 3))
    for x in (r, g, b):
        x[0, :5] = 0.0
    rgba = compose([r, g, b], [_display("ff0000"), _display("00ff00"), _display("0000ff")], "lupton", q=5, stretch=0.3)
    expected = make_lupton_rgb(r, g, b, minimum=0.0, stretch=0.3, Q=5)
    assert np.array_equal(rgba[..., :3], expected)


@pytest.mark.parametrize("bad", ["#12", "notacolour", "#gggggg"])
def test_bad_colours_are_422(bad: str) -> None:
    with pytest.raises(InvalidParameter):
        hex_color(bad)


def test_bad_channel_counts_and_limits_are_refused() -> None:
    a = _field(1)
    with pytest.raises(InvalidParameter, match="2 to 5"):
        compose([a], [_display("#ffffff")])
    with pytest.raises(InvalidParameter, match="2 to 5"):
        compose([a] * 6, [_display("#ffffff")] * 6)
    with pytest.raises(InvalidParameter, match="vmin"):
        ChannelDisplay("#ffffff", 1.0, 1.0, LINEAR)
    with pytest.raises(InvalidParameter, match="mode"):
        compose([a, a], [_display("#ffffff")] * 2, "screen")
