"""The interactive API docs (`/api/docs`), served with their assets from this process.

FastAPI's default page loads Swagger UI from a CDN, so it is blank on a machine without internet.
The assets come from the `fastapi-swagger` package (Swagger UI's dist files, kept current with
its releases); the page refers only to this server's URLs.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse

from ordino.kernel.errors import NotFound

DOCS_URL = "/api/docs"
ASSETS_URL = "/api/docs/assets"
# Only the files the page loads, with fixed media types (not the platform's mimetypes table).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def _assets_folder() -> Path:
    return Path(str(files("fastapi_swagger") / "resources"))


def install_api_docs(app: FastAPI) -> None:
    """Serve `/api/docs` and its assets; create the app with `docs_url=None`."""
    assert app.openapi_url is not None
    openapi_url = app.openapi_url
    title = f"{app.title} API"
    folder = _assets_folder()

    @app.get(DOCS_URL, include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=title,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon-32x32.png",
        )

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    def api_docs_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise NotFound(f"no asset '{name}'")
        # Long-lived in caches: the files change only with the pinned package.
        return FileResponse(folder / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
