"""``/docs`` and ``/redoc`` work without internet access: every asset they name is served by convhub itself."""

from __future__ import annotations

import glob
import re
import tomllib
from pathlib import Path

import httpx
import pytest

import convhub

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(convhub.__file__).parent
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
OPENAPI = re.compile(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+\.json)["']""")
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_every_asset_from_the_app(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text

    assert "cdn." not in html
    assert "https://" not in html and "http://" not in html  # nothing from another host, fonts included
    assets = ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets)
    assert any(a.endswith((".png", ".ico")) for a in assets)  # the favicon too
    if page == "/docs":
        assert any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/vendor/"), asset
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert TYPES[Path(asset).suffix] in served.headers["content-type"], asset
        assert len(served.content) == (PACKAGE / "web" / asset.removeprefix("/")).stat().st_size
    (spec,) = OPENAPI.findall(html)
    assert (await client.get(spec)).json()["info"]["title"] == "convhub"


async def test_swagger_ui_oauth2_redirect_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "https://" not in response.text


async def test_the_docs_pages_follow_a_root_path(app: object) -> None:
    """Behind a proxy that mounts convhub under /hub, the page names /hub/static/… (else the proxy 404s them)."""
    transport = httpx.ASGITransport(app=app, root_path="/hub")  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://convhub.test") as client:
        html = (await client.get("/docs")).text
    assert all(a.startswith("/hub/static/vendor/") for a in ASSET.findall(html))
    assert "/hub/openapi.json" in html


def test_the_vendored_files_are_pinned_licensed_and_packaged() -> None:
    vendor = PACKAGE / "web" / "static" / "vendor"
    readme = (vendor / "README.md").read_text()
    for folder, package, version, licence in (("swagger-ui", "swagger-ui-dist", "5.36.0", "LICENSE"),
                                              ("redoc", "redoc", "2.5.4", "LICENSE")):
        assert f"`{package}` | {version}" in readme
        assert (vendor / folder / licence).is_file()
    # Every file under web/static is matched by pyproject's package-data, so the wheel carries it
    # (setuptools expands these patterns with recursive glob).
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["convhub"]
    packaged = {Path(p) for pattern in patterns for p in glob.glob(str(PACKAGE / pattern), recursive=True)}
    files = {p for p in (PACKAGE / "web" / "static").rglob("*") if p.is_file()}
    assert files and files <= packaged, sorted(map(str, files - packaged))
