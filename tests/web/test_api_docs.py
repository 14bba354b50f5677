"""`/api/docs`: Swagger UI from this server's own assets, so it works without internet."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient


def test_the_docs_page_refers_only_to_this_server(client: TestClient) -> None:
    # when the docs page is read
    r = client.get("/api/docs")
    # then every URL it loads is a path on this server, and no other host is named
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    urls = re.findall(r"""(?:src|href)="([^"]+)"|url: '([^']+)'""", r.text)
    assert sorted(u for pair in urls for u in pair if u) == [
        "/api/docs/assets/favicon-32x32.png", "/api/docs/assets/swagger-ui-bundle.js",
        "/api/docs/assets/swagger-ui.css", "/api/openapi.json",
    ]
    assert [u for u in re.findall(r"[a-z]+://[^\s\"'<>]+", r.text) if urlsplit(u).netloc] == []


def test_the_assets_it_loads_are_served_with_their_types(client: TestClient) -> None:
    # when each asset of the page is read
    answers = {name: client.get(f"/api/docs/assets/{name}") for name in
               ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")}
    # then each is there, with its media type, and the bundle is Swagger UI's
    assert {n: (r.status_code, r.headers["content-type"]) for n, r in answers.items()} == {
        "swagger-ui-bundle.js": (200, "text/javascript; charset=utf-8"),
        "swagger-ui.css": (200, "text/css; charset=utf-8"),
        "favicon-32x32.png": (200, "image/png"),
    }
    assert b"SwaggerUIBundle" in answers["swagger-ui-bundle.js"].content
    assert answers["swagger-ui.css"].content.startswith(b".swagger-ui")
    assert answers["favicon-32x32.png"].content[:8] == b"\x89PNG\r\n\x1a\n"


def test_other_files_of_the_assets_package_are_not_served(client: TestClient) -> None:
    # when a file that the page does not load is asked for
    r = client.get("/api/docs/assets/__init__.py")
    # then it is not found
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")
