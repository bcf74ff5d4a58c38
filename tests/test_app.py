"""The composition root's startup: routes are prepared before the first request (no warning)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.settings import Settings


def test_startup_prepares_the_routes_and_the_first_view_is_served(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    fits.PrimaryHDU(np.ones((64, 64), np.float32)).writeto(settings.files_dir / "a.fits")
    with caplog.at_level(logging.WARNING, logger="neloura"), TestClient(create_app(settings)) as client:
        assert "routes not prepared" not in caplog.text
        info = client.get("/api/images/info", params={"path": "a.fits"})
        assert info.status_code == 200 and info.json()["width"] == 64
        assert client.get("/api/images/info", params={"path": "b.fits"}).status_code == 404
