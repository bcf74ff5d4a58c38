"""The robustness sweep's table: one valid request per route (see tests/api/robustness.py).

Add a row here in the same commit as a new route; ``test_every_route_is_in_the_table`` fails
until every route of the app has one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

IMAGE = "demo/galaxy.fits"
CATALOG = "demo_sources.csv"
SECRET = "NELOURA-OUTSIDE-SECRET-7f3a"  # written only outside the data root
PASSWD_MARK = "root:x:0:0"


# --------------------------------------------------------------------------------------------
# One valid request per route
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A valid request to one route; ``paths`` names the parameters that carry a data path,
    as ``(where, name, root)`` with where in query/path/body and root the data folder."""

    method: str
    template: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    paths: tuple[tuple[str, str, str], ...] = ()
    ok: tuple[int, ...] = (200,)
    image: bool = False  # reads a FITS image from files/ named by the ``path`` field

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


IMG_Q = {"path": IMAGE, "hdu": 1}
FILE_PATH = (("query", "path", "files"),)
BODY_PATH = (("body", "path", "files"),)
CAT_NAME = (("query", "name", "catalogs"),)
SEG_Q = {**IMG_Q, "seg": IMAGE, "seg_hdu": 3}
SEG_PATHS = (*FILE_PATH, ("query", "seg", "files"))

REGION_BODY = {"path": IMAGE, "hdu": 1, "regions": "image\ncircle(100,120,12)\n"}
REGION_PATHS = BODY_PATH
CUBE = "demo/cube.fits"
CUBE_Q = {"path": CUBE, "hdu": 0}
PathSpec = tuple[tuple[str, str, str], ...]


def image_get(template: str, *, paths: PathSpec = FILE_PATH, base: dict[str, Any] = IMG_Q, **query: Any) -> Endpoint:
    """A GET of an image route: ``base`` (the demo image, HDU 1) and ``query`` in the query string."""
    return Endpoint("GET", template, query={**base, **query}, paths=paths, image=True)


def image_post(template: str, *, paths: PathSpec = BODY_PATH, **body: Any) -> Endpoint:
    """A POST of an image route: the demo image (HDU 1) and ``body`` in the JSON body."""
    return Endpoint("POST", template, body={"path": IMAGE, "hdu": 1, **body}, paths=paths, image=True)


def missing(
    template: str,
    path_params: dict[str, str],
    *,
    method: str = "GET",
    query: dict[str, Any] | None = None,
    path_names: Iterable[str] | None = None,
) -> Endpoint:
    """A request to a route whose path names something that does not exist (404); ``path_names``
    (default: every path parameter) get the path-escape cases."""
    names = path_params if path_names is None else path_names
    paths = tuple(("path", name, "none") for name in names)
    return Endpoint(method, template, path_params=path_params, query=query or {}, paths=paths, ok=(404,))


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/health"),
    image_get("/api/images/hdus", base={"path": IMAGE}),
    image_get("/api/images/header"),
    image_get("/api/images/info"),
    image_get("/api/images/pixel", x=10, y=12),
    image_get("/api/images/pixel-table", x=10, y=12),
    image_post("/api/images/pixel-to-world", x=[1.0, 2.0], y=[3.0, 4.0]),
    image_post("/api/images/world-to-pixel", ra_deg=[24.17], dec_deg=[15.78]),
    *(
        Endpoint(
            "GET",
            f"/api/images/{kind}/{{level}}/{{name}}",
            path_params={"level": "3", "name": f"0_0.{suffix}"},
            query=IMG_Q,
            paths=(*FILE_PATH, ("path", "name", "none")),
            image=True,
        )
        for kind, suffix in (("tiles", "png"), ("data-tiles", "u16"))
    ),
    image_get("/api/images/stretch-table", stretch="histequ"),
    image_get("/api/images/histogram"),
    Endpoint("GET", "/api/files", query={"folder": "demo"}, paths=(("query", "folder", "files"),)),
    Endpoint("GET", "/api/files/search", query={"q": "gal"}),
    image_get("/api/files/thumbnail"),
    Endpoint("POST", "/api/files/upload", ok=(200, 422)),  # multipart: see the upload tests
    Endpoint("GET", "/api/config"),
    Endpoint("GET", "/admin/system", ok=(403,)),  # admin mode is off in these settings
    Endpoint("POST", "/admin/erase-uploads", ok=(403,)),
    *(
        Endpoint(
            method, "/local-coding/{rest}", path_params={"rest": "run"}, paths=(("path", "rest", "none"),), ok=(403,)
        )
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    ),
    # sandboxed Python (admin mode is off here: every route is 403; tests/api/test_coding.py runs them)
    Endpoint("POST", "/local-coding/run", body={"code": "print(1)", "image": {"path": IMAGE, "hdu": 1}}, ok=(403,)),
    Endpoint("GET", "/local-coding/runs/{run_id}", path_params={"run_id": "ab12"}, ok=(403,)),
    Endpoint("DELETE", "/local-coding/runs/{run_id}", path_params={"run_id": "ab12"}, ok=(403,)),
    Endpoint(
        "GET", "/local-coding/runs/{run_id}/figures/{index}", path_params={"run_id": "ab12", "index": "0"}, ok=(403,)
    ),
    Endpoint("GET", "/api/images/colormaps"),
    Endpoint(
        "GET", "/api/images/colormaps/{name}.png", path_params={"name": "viridis"}, paths=(("path", "name", "none"),)
    ),
    image_get("/api/images/limits", mode="zscale"),
    image_get("/api/images/colorbar"),
    Endpoint("GET", "/"),
    Endpoint("GET", "/open/{path}", path_params={"path": IMAGE}, ok=(307,)),
    Endpoint("GET", "/search/{text}", path_params={"text": "gal"}, ok=(307,)),
    *(
        Endpoint(
            "GET", f"/{where}/{{relative}}", path_params={"relative": file}, paths=(("path", "relative", "static"),)
        )
        for where, file in (("static", "index.html"), ("vendor", "openseadragon/package.json"))
    ),
    Endpoint("GET", "/api/catalogs"),
    Endpoint("POST", "/api/catalogs/upload", ok=(200, 422)),  # multipart: see the upload tests
    *(
        Endpoint("GET", f"/api/catalogs/{route}", query={"name": CATALOG, **extra}, paths=CAT_NAME)
        for route, extra in (
            ("open", {}),
            ("columns", {}),
            ("rows", {"filter": "mag_ab < 25", "sort": "-flux_ujy"}),
            ("stats", {"column": "mag_ab"}),
            ("export", {"format": "csv"}),
            ("cone", {"ra": "24.174", "dec": "15.784", "radius_arcsec": 10}),
            ("box", {"ra_min": "24.17", "ra_max": "24.18", "dec_min": "15.78", "dec_max": "15.79"}),
        )
    ),
    Endpoint(
        "POST",
        "/api/catalogs/crossmatch",
        body={"a": CATALOG, "b": CATALOG, "radius_arcsec": 1.0},
        paths=(("body", "a", "catalogs"), ("body", "b", "catalogs")),
    ),
    Endpoint(
        "GET",
        "/api/catalogs/crossmatch/export",
        query={"a": CATALOG, "b": CATALOG, "radius_arcsec": 1.0, "join": "left"},
        paths=(("query", "a", "catalogs"), ("query", "b", "catalogs")),
    ),
    Endpoint(
        "GET",
        "/api/catalogs/overlay",
        query={"name": CATALOG, "path": IMAGE, "hdu": 1},
        paths=(("query", "name", "catalogs"), ("query", "path", "files")),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/catalogs/overlay/rows",
        body={"name": CATALOG, "rows": [0, 1]},
        paths=(("body", "name", "catalogs"),),
    ),
    Endpoint("GET", "/api/jobs"),
    missing("/api/jobs/{job_id}", {"job_id": "nope"}),
    missing("/api/jobs/{job_id}", {"job_id": "nope"}, method="DELETE"),
    missing("/api/jobs/{job_id}/files/{name}", {"job_id": "nope", "name": "sources.csv"}),
    # Jobs are only queued (the worker pool runs them); the sweep sends invalid bodies, which never queue.
    image_post("/api/detection", threshold_sigma=50.0),
    image_post("/api/photometry", x_pix=[100.0], y_pix=[120.0]),
    Endpoint("GET", "/api/psf"),
    image_get("/api/completeness/defaults", paths=(*FILE_PATH, ("query", "psf", "psf")), psf="gauss.fits"),
    image_post(
        "/api/completeness",
        paths=(*BODY_PATH, ("body", "psf", "psf")),
        n=5,
        iterations=1,
        flux_min=1.0,
        flux_max=10.0,
        psf="gauss.fits",
    ),
    *(
        Endpoint("POST", f"/api/regions/{route}", body={**REGION_BODY, **extra}, paths=REGION_PATHS, image=True)
        for route, extra in (
            ("stats", {}),
            ("convert", {"to": "crtf", "system": "pixel"}),
            ("parse", {}),
            ("cutout", {"index": 0}),
            ("histogram", {"index": 0, "bins": 16}),
            ("profile", {"index": 0, "step_px": 2.0}),
        )
    ),
    Endpoint(
        "POST",
        "/api/regions/catalog",
        body={**REGION_BODY, "name": CATALOG},
        paths=(*BODY_PATH, ("body", "name", "catalogs")),
        image=True,
    ),
    Endpoint("POST", "/api/regions/links", body={"regions": "image\ncircle(100,120,12)\n"}),
    missing("/api/regions/links/{link_id}", {"link_id": "0123456789abcdef01234567"}),
    image_post(
        "/api/regions/from-catalog", paths=(*BODY_PATH, ("body", "name", "catalogs")), name=CATALOG, rows=[0, 1]
    ),
)
RGB_ID = {"rgb_id": "0123456789abcdef0123456789abcdef"}  # no such composite: the routes answer 404
ENDPOINTS += (
    Endpoint("POST", "/api/rgb", body={"channels": [{"path": IMAGE, "hdu": 1}, {"path": IMAGE, "hdu": 1, "plane": 0}]}),
    Endpoint("POST", "/api/rgb/presets", body={"channels": [{"path": IMAGE, "hdu": 1}]}),
    missing("/api/rgb/{rgb_id}", RGB_ID),
    missing("/api/rgb/{rgb_id}/tiles/{level}/{name}", {**RGB_ID, "level": "8", "name": "0_0.png"}, path_names=RGB_ID),
    missing("/api/rgb/{rgb_id}/png", RGB_ID, query={"width": 64}),
    missing("/api/rgb/{rgb_id}/fits", RGB_ID),
    missing("/api/rgb/{rgb_id}/pixel", RGB_ID, query={"x": 1, "y": 2}),
    missing("/api/rgb/{rgb_id}/limits", RGB_ID, query={"channel": 0}),
    Endpoint("GET", "/open-rgb", query={"r": IMAGE, "g": IMAGE}, paths=(("query", "r", "files"),), ok=(307,)),
    image_post("/api/contours", n_levels=3),
    image_post("/api/contours/ds9", sigma_levels=[3, 10]),
)
# plotter and segmentation
ENDPOINTS += (
    Endpoint(
        "GET",
        "/api/plotter/data",
        query={"name": CATALOG, "x": "mag_ab", "y": "-2.5*log10(flux_ujy) + 23.9", "color": "dec"},
        paths=CAT_NAME,
    ),
    Endpoint(
        "POST",
        "/api/plotter/export",
        body={"name": CATALOG, "rows": [0, 2], "format": "csv"},
        paths=(("body", "name", "catalogs"),),
    ),
    # the demo's DQ extension (0 on the footprint, 1 outside) is an integer map on the same grid
    *(
        image_get(f"/api/segmentation/{route}", paths=paths, base=SEG_Q, **extra)
        for route, extra, paths in (
            ("info", {}, SEG_PATHS),
            ("label", {"x": 3, "y": 4}, SEG_PATHS),
            ("segment", {"label": 1, "catalog": CATALOG}, (*SEG_PATHS, ("query", "catalog", "catalogs"))),
            ("render.png", {"x0": -0.5, "y0": -0.5, "x1": 255.5, "y1": 255.5, "width": 64, "height": 64}, SEG_PATHS),
        )
    ),
)
ENDPOINTS += (
    image_get("/api/cubes/axis", base=CUBE_Q, unit="km/s"),
    image_get("/api/cubes/spectrum", base=CUBE_Q, x=10, y=12),
    image_get("/api/cubes/spectrum/export", base=CUBE_Q, region="image; circle(100,100,5)", format="fits"),
    image_get("/api/cubes/limits", base=CUBE_Q),
    image_get("/api/cubes/channels", base=CUBE_Q, count=2),
    *(
        Endpoint("POST", f"/api/cubes/{route}", body={"path": CUBE, **extra}, paths=BODY_PATH, image=True)
        for route, extra in (
            ("moment", {"order": 0}),
            ("smooth", {"kernel": "rebin", "width_channels": 2}),
            ("convolve", {"beam": [3.0, 2.0, 0.0]}),
        )
    ),
)
ENDPOINTS += (  # cutouts, SED, figures (issue 10)
    Endpoint("GET", "/api/sky/covering", query={"ra_deg": 24.174, "dec_deg": 15.784}),
    Endpoint("GET", "/api/sky/resolve", query={"text": "01:36:41.7 +15:47:01", "frame": "icrs"}),
    Endpoint(
        "POST",
        "/api/cutouts",
        body={"ra_deg": 24.174, "dec_deg": 15.784, "size_arcsec": 2.0, "images": [{"path": IMAGE, "hdu": 1}]},
    ),
    missing("/api/cutouts/files/{file}", {"file": "0123456789ab_none.fits"}),
    Endpoint(
        "POST",
        "/api/cutouts/batch",
        body={"catalog": CATALOG, "size_arcsec": 2.0, "filter": "mag_ab < 22", "pdf": False},
        paths=(("body", "catalog", "catalogs"),),
    ),
    Endpoint(
        "POST",
        "/api/sed",
        body={"ra_deg": 24.174, "dec_deg": 15.784, "radius_arcsec": 0.3, "images": [{"path": IMAGE, "hdu": 1}]},
    ),
    Endpoint(
        "POST",
        "/api/sed/plot",
        body={"points": [{"filter": "F200W", "wavelength_um": 1.99, "flux_ujy": 10.0}], "format": "csv"},
    ),
    image_post("/api/figures", format="png", width_in=4, height_in=4, dpi=50),
)
BY_KEY = {e.key: e for e in ENDPOINTS}
