"""The robustness sweep's table: one valid request per route (see tests/api/robustness.py).

Add a row here in the same commit as a new route; ``test_every_route_is_in_the_table`` fails
until every route of the app has one.
"""

from __future__ import annotations

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
CAT_NAME = (("query", "name", "catalogs"),)
SEG_Q = {**IMG_Q, "seg": IMAGE, "seg_hdu": 3}
SEG_PATHS = (*FILE_PATH, ("query", "seg", "files"))

REGION_BODY = {"path": IMAGE, "hdu": 1, "regions": "image\ncircle(100,120,12)\n"}
REGION_PATHS = (("body", "path", "files"),)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/health"),
    Endpoint("GET", "/api/images/hdus", query={"path": IMAGE}, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/header", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/info", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/pixel", query={**IMG_Q, "x": 10, "y": 12}, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/pixel-table", query={**IMG_Q, "x": 10, "y": 12}, paths=FILE_PATH, image=True),
    Endpoint(
        "POST",
        "/api/images/pixel-to-world",
        body={"path": IMAGE, "hdu": 1, "x": [1.0, 2.0], "y": [3.0, 4.0]},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/images/world-to-pixel",
        body={"path": IMAGE, "hdu": 1, "ra_deg": [24.17], "dec_deg": [15.78]},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "GET",
        "/api/images/tiles/{level}/{name}",
        path_params={"level": "3", "name": "0_0.png"},
        query=IMG_Q,
        paths=(*FILE_PATH, ("path", "name", "none")),
        image=True,
    ),
    Endpoint(
        "GET",
        "/api/images/data-tiles/{level}/{name}",
        path_params={"level": "3", "name": "0_0.u16"},
        query=IMG_Q,
        paths=(*FILE_PATH, ("path", "name", "none")),
        image=True,
    ),
    Endpoint(
        "GET",
        "/api/images/stretch-table",
        query={**IMG_Q, "stretch": "histequ"},
        paths=FILE_PATH,
        image=True,
    ),
    Endpoint("GET", "/api/images/histogram", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/files", query={"folder": "demo"}, paths=(("query", "folder", "files"),)),
    Endpoint("GET", "/api/files/search", query={"q": "gal"}),
    Endpoint("GET", "/api/files/thumbnail", query=IMG_Q, paths=FILE_PATH, image=True),
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
    Endpoint("GET", "/api/images/limits", query={**IMG_Q, "mode": "zscale"}, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/colorbar", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/"),
    Endpoint("GET", "/open/{path}", path_params={"path": IMAGE}, ok=(307,)),
    Endpoint("GET", "/search/{text}", path_params={"text": "gal"}, ok=(307,)),
    Endpoint(
        "GET", "/static/{relative}", path_params={"relative": "index.html"}, paths=(("path", "relative", "static"),)
    ),
    Endpoint(
        "GET",
        "/vendor/{relative}",
        path_params={"relative": "openseadragon/package.json"},
        paths=(("path", "relative", "static"),),
    ),
    Endpoint("GET", "/api/catalogs"),
    Endpoint("POST", "/api/catalogs/upload", ok=(200, 422)),  # multipart: see the upload tests
    Endpoint("GET", "/api/catalogs/open", query={"name": CATALOG}, paths=CAT_NAME),
    Endpoint("GET", "/api/catalogs/columns", query={"name": CATALOG}, paths=CAT_NAME),
    Endpoint(
        "GET",
        "/api/catalogs/rows",
        query={"name": CATALOG, "filter": "mag_ab < 25", "sort": "-flux_ujy"},
        paths=CAT_NAME,
    ),
    Endpoint("GET", "/api/catalogs/stats", query={"name": CATALOG, "column": "mag_ab"}, paths=CAT_NAME),
    Endpoint("GET", "/api/catalogs/export", query={"name": CATALOG, "format": "csv"}, paths=CAT_NAME),
    Endpoint(
        "GET",
        "/api/catalogs/cone",
        query={"name": CATALOG, "ra": "24.174", "dec": "15.784", "radius_arcsec": 10},
        paths=CAT_NAME,
    ),
    Endpoint(
        "GET",
        "/api/catalogs/box",
        query={"name": CATALOG, "ra_min": "24.17", "ra_max": "24.18", "dec_min": "15.78", "dec_max": "15.79"},
        paths=CAT_NAME,
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
    Endpoint(
        "GET", "/api/jobs/{job_id}", path_params={"job_id": "nope"}, paths=(("path", "job_id", "none"),), ok=(404,)
    ),
    Endpoint(
        "DELETE", "/api/jobs/{job_id}", path_params={"job_id": "nope"}, paths=(("path", "job_id", "none"),), ok=(404,)
    ),
    Endpoint(
        "GET",
        "/api/jobs/{job_id}/files/{name}",
        path_params={"job_id": "nope", "name": "sources.csv"},
        paths=(("path", "job_id", "none"), ("path", "name", "none")),
        ok=(404,),
    ),
    # Jobs are only queued (the worker pool runs them); the sweep sends invalid bodies, which never queue.
    Endpoint(
        "POST",
        "/api/detection",
        body={"path": IMAGE, "hdu": 1, "threshold_sigma": 50.0},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/photometry",
        body={"path": IMAGE, "hdu": 1, "x_pix": [100.0], "y_pix": [120.0]},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint("GET", "/api/psf"),
    Endpoint(
        "GET",
        "/api/completeness/defaults",
        query={**IMG_Q, "psf": "gauss.fits"},
        paths=(*FILE_PATH, ("query", "psf", "psf")),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/completeness",
        body={"path": IMAGE, "hdu": 1, "n": 5, "iterations": 1, "flux_min": 1.0, "flux_max": 10.0, "psf": "gauss.fits"},
        paths=(("body", "path", "files"), ("body", "psf", "psf")),
        image=True,
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
        paths=(("body", "path", "files"), ("body", "name", "catalogs")),
        image=True,
    ),
    Endpoint("POST", "/api/regions/links", body={"regions": "image\ncircle(100,120,12)\n"}),
    Endpoint(
        "GET",
        "/api/regions/links/{link_id}",
        path_params={"link_id": "0123456789abcdef01234567"},
        paths=(("path", "link_id", "none"),),
        ok=(404,),
    ),
    Endpoint(
        "POST",
        "/api/regions/from-catalog",
        body={"path": IMAGE, "hdu": 1, "name": CATALOG, "rows": [0, 1]},
        paths=(("body", "path", "files"), ("body", "name", "catalogs")),
        image=True,
    ),
)
RGB_ID = {"rgb_id": "0123456789abcdef0123456789abcdef"}  # no such composite: the routes answer 404
RGB_PATH = (("path", "rgb_id", "none"),)
ENDPOINTS += (
    Endpoint("POST", "/api/rgb", body={"channels": [{"path": IMAGE, "hdu": 1}, {"path": IMAGE, "hdu": 1, "plane": 0}]}),
    Endpoint("POST", "/api/rgb/presets", body={"channels": [{"path": IMAGE, "hdu": 1}]}),
    Endpoint("GET", "/api/rgb/{rgb_id}", path_params=RGB_ID, paths=RGB_PATH, ok=(404,)),
    Endpoint(
        "GET",
        "/api/rgb/{rgb_id}/tiles/{level}/{name}",
        path_params={**RGB_ID, "level": "8", "name": "0_0.png"},
        paths=RGB_PATH,
        ok=(404,),
    ),
    Endpoint("GET", "/api/rgb/{rgb_id}/png", path_params=RGB_ID, query={"width": 64}, paths=RGB_PATH, ok=(404,)),
    Endpoint("GET", "/api/rgb/{rgb_id}/fits", path_params=RGB_ID, paths=RGB_PATH, ok=(404,)),
    Endpoint("GET", "/api/rgb/{rgb_id}/pixel", path_params=RGB_ID, query={"x": 1, "y": 2}, paths=RGB_PATH, ok=(404,)),
    Endpoint("GET", "/api/rgb/{rgb_id}/limits", path_params=RGB_ID, query={"channel": 0}, paths=RGB_PATH, ok=(404,)),
    Endpoint("GET", "/open-rgb", query={"r": IMAGE, "g": IMAGE}, paths=(("query", "r", "files"),), ok=(307,)),
    Endpoint(
        "POST",
        "/api/contours",
        body={"path": IMAGE, "hdu": 1, "n_levels": 3},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/contours/ds9",
        body={"path": IMAGE, "hdu": 1, "sigma_levels": [3, 10]},
        paths=(("body", "path", "files"),),
        image=True,
    ),
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
        Endpoint("GET", f"/api/segmentation/{route}", query={**SEG_Q, **extra}, paths=paths, image=True)
        for route, extra, paths in (
            ("info", {}, SEG_PATHS),
            ("label", {"x": 3, "y": 4}, SEG_PATHS),
            ("segment", {"label": 1, "catalog": CATALOG}, (*SEG_PATHS, ("query", "catalog", "catalogs"))),
            ("render.png", {"x0": -0.5, "y0": -0.5, "x1": 255.5, "y1": 255.5, "width": 64, "height": 64}, SEG_PATHS),
        )
    ),
)
CUBE = "demo/cube.fits"
CUBE_Q = {"path": CUBE, "hdu": 0}
ENDPOINTS += (
    Endpoint("GET", "/api/cubes/axis", query={**CUBE_Q, "unit": "km/s"}, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/cubes/spectrum", query={**CUBE_Q, "x": 10, "y": 12}, paths=FILE_PATH, image=True),
    Endpoint(
        "GET",
        "/api/cubes/spectrum/export",
        query={**CUBE_Q, "region": "image; circle(100,100,5)", "format": "fits"},
        paths=FILE_PATH,
        image=True,
    ),
    Endpoint("GET", "/api/cubes/limits", query=CUBE_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/cubes/channels", query={**CUBE_Q, "count": 2}, paths=FILE_PATH, image=True),
    Endpoint(
        "POST", "/api/cubes/moment", body={"path": CUBE, "order": 0}, paths=(("body", "path", "files"),), image=True
    ),
    Endpoint(
        "POST",
        "/api/cubes/smooth",
        body={"path": CUBE, "kernel": "rebin", "width_channels": 2},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/cubes/convolve",
        body={"path": CUBE, "beam": [3.0, 2.0, 0.0]},
        paths=(("body", "path", "files"),),
        image=True,
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
    Endpoint(
        "GET",
        "/api/cutouts/files/{file}",
        path_params={"file": "0123456789ab_none.fits"},
        paths=(("path", "file", "none"),),
        ok=(404,),
    ),
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
    Endpoint(
        "POST",
        "/api/figures",
        body={"path": IMAGE, "hdu": 1, "format": "png", "width_in": 4, "height_in": 4, "dpi": 50},
        paths=(("body", "path", "files"),),
        image=True,
    ),
)
BY_KEY = {e.key: e for e in ENDPOINTS}
