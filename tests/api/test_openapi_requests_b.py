"""Schema-valid requests are accepted (issue 8 part 6, route group B): schemathesis generates
positive requests only for the cube, pixel-table, region, RGB, segmentation and contour routes and
runs its ``positive_data_acceptance`` check (a valid request must not be rejected with 400, 413,
415 or 422), beside the usual conformance checks.

The requests are drawn as in ``test_openapi_conformance.py``: every other generated query's
``path``/``name`` points at the demo image/catalog (tests/api/conftest.py's world), so that the
routes are reached past their 404 for an unknown file. ``STILL_REJECTED`` lists the operations
whose schema cannot say everything the route checks (the answer depends on the file: a pixel
outside this image, a 2-D image given to a cube route); it may only shrink.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, reject, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from neloura.app import create_app
from neloura.settings import Settings
from tests.api.robustness_table import CATALOG, IMAGE

OPERATIONS = (
    "GET /api/cubes/axis",
    "GET /api/cubes/limits",
    "GET /api/cubes/spectrum",
    "POST /api/cubes/convolve",
    "POST /api/cubes/moment",
    "POST /api/cubes/smooth",
    "GET /api/images/pixel-table",
    "GET /api/regions/links/{link_id}",
    "POST /api/regions/catalog",
    "POST /api/regions/convert",
    "POST /api/regions/from-catalog",
    "POST /api/regions/histogram",
    "POST /api/regions/links",
    "POST /api/regions/parse",
    "POST /api/regions/profile",
    "POST /api/regions/stats",
    "GET /api/rgb/{rgb_id}",
    "GET /api/rgb/{rgb_id}/limits",
    "GET /api/rgb/{rgb_id}/pixel",
    "POST /api/rgb",
    "POST /api/rgb/presets",
    "GET /api/segmentation/info",
    "GET /api/segmentation/label",
    "GET /api/segmentation/segment",
    "POST /api/contours",
)
# Valid by the schema, refused (422) by the file named: see the module docstring.
STILL_REJECTED: frozenset[str] = frozenset(
    {
        "GET /api/cubes/axis",  # a 2-D image is not a cube
        "GET /api/cubes/limits",  # a 2-D image is not a cube
        "GET /api/cubes/spectrum",  # a 2-D image is not a cube; x and y, or a region
        "GET /api/images/pixel-table",  # an HDU, plane or pixel the image does not have
        "GET /api/segmentation/info",  # a plane the image does not have; a map that is not integer
        "GET /api/segmentation/label",  # a plane the image does not have; a map that is not integer
        "GET /api/segmentation/segment",  # a label, or x and y; a label not in the map
        "POST /api/regions/links",  # region text that does not parse (refused so the link loads again)
    }
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
]
EXAMPLES_PER_OPERATION = 5


def _spec() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        return create_app(Settings(root=Path(root), demo=False)).openapi()


schema = schemathesis.openapi.from_dict(_spec())
schema.config.generation.update(modes=[GenerationMode.POSITIVE])


@schema.hook
def map_query(ctx: schemathesis.HookContext, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """Point every other generated ``path``/``name`` at the demo image/catalog."""
    if query and hash(repr(sorted(query.items(), key=str))) % 2 == 0:
        if isinstance(query.get("path"), str):
            query["path"] = IMAGE
        if isinstance(query.get("name"), str):
            query["name"] = CATALOG
    return query


def _call(api: TestClient, case: schemathesis.Case) -> httpx.Response:
    sent = case.as_transport_kwargs(base_url=str(api.base_url))
    kwargs = {key: sent[key] for key in ("headers", "params", "json") if key in sent}
    data = sent.get("data")
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    try:
        return api.request(sent["method"], sent["url"], follow_redirects=False, **kwargs)
    except httpx.InvalidURL:  # a generated query longer than httpx sends: not a request at all
        reject()


def test_the_operations_exist() -> None:
    labels = {operation.label for operation in (r.ok() for r in schema.get_all_operations())}
    assert set(OPERATIONS) <= labels, sorted(set(OPERATIONS) - labels)
    assert STILL_REJECTED <= set(OPERATIONS)


@schema.include(name=[op for op in OPERATIONS if op not in STILL_REJECTED]).parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_valid_requests_are_accepted(case: schemathesis.Case, api: TestClient) -> None:
    case.validate_response(_call(api, case), checks=CHECKS)


# The region routes that answer a JSONResponse (non-finite values as null) bypass FastAPI's
# response validation: their models are checked here on every kind of shape.
SHAPES = (
    "image\ncircle(100,120,12)\nannulus(60,60,4,9)\nellipse(30,200,8,4,30)\nbox(200,40,10,6,0)\n"
    "polygon(10,10,30,10,20,25)\npoint(50,50) # point=cross text={p}\n-circle(100,120,3)\n"
    "line(5,5,40,40)\n# text(70,70) text={label}\ncircle(-500,-500,3)\n"
)


@pytest.mark.parametrize(
    ("route", "model", "extra"),
    [
        ("stats", "RegionsStatsOut", {}),
        ("parse", "ParseOut", {}),
        ("profile", "ProfileOut", {"index": 1}),
        ("histogram", "RegionHistogramOut", {"index": 9}),
        ("convert", "ConvertOut", {"to": "crtf", "system": "pixel"}),
    ],
)
def test_region_answers_match_their_models(api: TestClient, route: str, model: str, extra: dict[str, Any]) -> None:
    from neloura.api import regions

    response = api.post(f"/api/regions/{route}", json={"path": IMAGE, "hdu": 1, "regions": SHAPES, **extra})
    assert response.status_code == 200, response.text[:300]
    out = getattr(regions, model).model_validate(response.json())
    if route == "stats":
        by_shape = {row.shape: row for row in out.regions}
        assert by_shape["annulus"].model_extra is not None and "net_flux" in by_shape["annulus"].model_extra
        assert out.regions[-1].mean is None and out.regions[-1].npix == 0  # off the image: nulls, no NaN
    if route == "parse":
        assert {r.shape for r in out.regions} >= {"circle", "annulus", "ellipse", "box", "polygon", "point", "line"}
