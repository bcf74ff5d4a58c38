"""``/docs``: the interactive OpenAPI documentation, from the pinned local Swagger UI.

The assets come from the npm package ``swagger-ui-dist`` (package-lock.json), served at
``/vendor/swagger-ui-dist/``: the page works without internet. The page holds no inline script
(the Content-Security-Policy forbids them): ``static/js/docs.js`` starts Swagger UI.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["pages"])

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Neloura API</title>
  <link rel="stylesheet" href="/vendor/swagger-ui-dist/swagger-ui.css">
  <link rel="icon" type="image/png" href="/vendor/swagger-ui-dist/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui" data-spec="/openapi.json"></div>
  <script src="/vendor/swagger-ui-dist/swagger-ui-bundle.js"></script>
  <script src="/static/js/docs.js"></script>
</body>
</html>
"""


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-cache"})
