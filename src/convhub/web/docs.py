"""``/docs`` (Swagger UI) and ``/redoc``, with every script, stylesheet and icon served by convhub itself.

FastAPI's own pages load their assets from a CDN, so an install without internet
access (air-gapped, or behind a proxy that allows only its own services) showed
a blank page. The assets are vendored, pinned, under ``static/vendor/`` (see its
README for versions and licences) and served from ``/static``, where the web UI's
files will live too.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"
SWAGGER = f"{STATIC_PATH}/vendor/swagger-ui"
REDOC = f"{STATIC_PATH}/vendor/redoc"
FAVICON = f"{SWAGGER}/favicon-32x32.png"


def install_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve ``/static`` and the two documentation pages on ``app``, which was made with
    ``docs_url=None, redoc_url=None`` (else FastAPI's CDN pages would answer those paths first)."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or f"{docs_url}/oauth2-redirect"

    def prefix(request: Request) -> str:
        # Behind a proxy that mounts convhub under a path, every URL in the page needs that path too.
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = prefix(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
            swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON,
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = prefix(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{REDOC}/redoc.standalone.js",
            redoc_favicon_url=root + FAVICON,
            with_google_fonts=False,  # a font CDN too; ReDoc falls back to the system fonts
        )
