"""Shared fixtures: each test app gets its own data root under tmp_path."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.settings import Settings

# Starlette's TestClient sends ``Host: testserver``: allow that name (and only it) in the tests'
# apps, as a deployment would list its own name; tests of the Host check pass their own list.
os.environ.setdefault("NELOURA_ALLOWED_HOSTS", "testserver")

ASTROPY_DIR = Path(__import__("astropy").__file__).parent
FITS_DATA = ASTROPY_DIR / "io/fits/tests/data"
COMPRESSED_DATA = ASTROPY_DIR / "io/fits/hdu/compressed/tests/data"
WCS_DATA = ASTROPY_DIR / "wcs/tests/data"
WCSAXES_DATA = ASTROPY_DIR / "visualization/wcsaxes/tests/data"
VOTABLE_DATA = ASTROPY_DIR / "io/votable/tests/data"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings rooted in a fresh temporary folder, no demo data, no disk cache."""
    s = Settings(root=tmp_path / "root", demo=False, disk_cache=False, admin=False)
    s.ensure_folders()
    return s


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unique node ids: schemathesis names each operation's item ``test_x[GET /api/...]``, but
    pytest 9 builds a node id from the original name and parametrize's ids only, so all of them
    got the id ``...::test_x``. pytest-xdist schedules by node id: it ran one operation of each
    such test. The id now carries the item's name, ``...::test_x[GET /api/...]``."""
    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1 and item.parent is not None and not item.nodeid.endswith(f"::{item.name}"):
            item._id = type(item._id).parse(f"{item.parent.nodeid}::{item.name}")  # type: ignore[attr-defined]
