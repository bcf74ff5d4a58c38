"""The composite tiles' PNG encoder decodes (PIL) to exactly its input, opaque or not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from neloura.runtime.rgb_render import encode_rgba


@pytest.mark.parametrize("transparent", [False, True])
def test_png_round_trip(transparent: bool) -> None:
    rgba = np.random.default_rng(3).integers(0, 256, (37, 53, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    if transparent:
        rgba[:5, :7, 3] = 0
    image = Image.open(io.BytesIO(encode_rgba(rgba)))
    assert image.mode == ("RGBA" if transparent else "RGB")
    assert np.array_equal(np.asarray(image.convert("RGBA")), rgba)
