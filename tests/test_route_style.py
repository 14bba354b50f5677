"""Route handlers have one style (docs/architecture.md, Transactions): `async def`, their database
work on worker threads through kernel.endpoint."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.routing import APIRoute

from ordino.app import create_app
from ordino.settings import Settings


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, through the routers the app includes."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def test_every_api_route_is_a_coroutine() -> None:
    # given the app's routes
    app = create_app(Settings(database_url="sqlite://", run_worker=False))
    routes = [r for r in _api_routes(app.routes) if r.path.startswith("/api/v1")]
    app.state.db.dispose()
    # then each is an async def
    assert len(routes) > 136
    assert [f"{sorted(r.methods)} {r.path}" for r in routes if not inspect.iscoroutinefunction(r.endpoint)] == []
