"""The web page: ``/`` and its files, the overview it draws, its live feed, and the token check.

The page is a few plain files shipped in the package (``vigil/api/web/``:
the HTML, a stylesheet and three JavaScript modules): no build step, no CDN,
nothing fetched from anywhere but this daemon, so it works on an air-gapped
cluster.  It is served from the API's own origin,
with a Content-Security-Policy that lets it load and connect to nothing
else, and forbids framing it (a page of another site cannot overlay it).

It reads what everyone may read (``/api/v1/overview``, ``/api/v1/live``,
``/api/v1/what-if``, ``/api/v1/scores``) and acts through the API's usual
routes with the token the operator types in (``Authorization: Bearer``).
``/api/v1/whoami`` tells it whether a token is the right one without
changing anything.  See docs/web.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response, StreamingResponse

from vigil.admin.commands import Admin
from vigil.api.context import ApiContext, ControllerView
from vigil.api.live import LiveFeed
from vigil.api.overview import build_overview
from vigil.api.what_if import FailureImaginer, what_if_routes
from vigil.events.recent import RecentEvents

# The page's files: name -> media type.
JS = "text/javascript; charset=utf-8"
FILES = {"index.html": "text/html; charset=utf-8", "app.js": JS, "dom.js": JS, "graph.js": JS,
         "style.css": "text/css; charset=utf-8"}
# Everything from this origin only; no inline script or style; never in a frame.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def page_file(name: str) -> bytes:
    """One of the page's files, as shipped in the package."""
    return resources.files("vigil.api").joinpath("web", name).read_bytes()


def _file_route(name: str) -> Callable[[], Any]:
    async def serve() -> Response:
        return Response(page_file(name), media_type=FILES[name], headers=PAGE_HEADERS)

    return serve


def web_routes(app: FastAPI, admin: Admin, context: ApiContext,
               token_reader: Callable[..., Any]) -> APIRouter:
    """The page's routes; its live feed is kept on ``app.state.live_feed`` (see :func:`close_live_feed`)."""
    controller: ControllerView = context.controller
    recent: RecentEvents | None = context.recent_events
    imaginer: FailureImaginer | None = context.what_if
    router = APIRouter()

    async def build() -> dict[str, Any]:
        return await build_overview(admin, controller, recent)

    feed = LiveFeed(build, context.store, controller, recent)
    app.state.live_feed = feed

    router.add_api_route("/", _file_route("index.html"), methods=["GET"], include_in_schema=False)
    for name in sorted(FILES.keys() - {"index.html"}):
        router.add_api_route(f"/web/{name}", _file_route(name), methods=["GET"], include_in_schema=False)

    @router.get("/api/v1/overview", tags=["web"], summary="Everything the web page shows, in one document")
    async def overview() -> dict[str, Any]:
        return await build()

    @router.get("/api/v1/live", tags=["web"], summary="Server-sent events: the overview again after each "
                "change", response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}}}})
    async def live() -> StreamingResponse:
        return StreamingResponse(feed.stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @router.get("/api/v1/whoami", tags=["web"], summary="Whether the token sent is the right one "
                "(401 for a wrong one); changes nothing")
    async def whoami(has_token: bool = Depends(token_reader)) -> dict[str, Any]:
        return {"token": has_token, "node": controller.node}

    router.include_router(what_if_routes(admin, imaginer))
    return router


async def close_live_feed(app: FastAPI) -> None:
    """End the page's live streams (the daemon is stopping; the pages reconnect to the next one)."""
    feed: LiveFeed | None = getattr(app.state, "live_feed", None)
    if feed is not None:
        await feed.close()


__all__: Sequence[str] = ("close_live_feed", "page_file", "web_routes")
