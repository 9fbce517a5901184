"""The ASGI application (FastAPI): JSON in and out, an OpenAPI description at /openapi.json.

Routes that change the cluster need the bearer token; reads do not, but
secrets are shown only with it.  Every change goes to the store, then pokes
the controller (see :mod:`vigil.admin.commands`); errors are
``{"error": ..., "details": [...]}``.  Only requests addressed to one of the
daemon's names are answered, and bodies are bounded (docs/security.md).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from vigil.admin.attributes import DelayedWrites
from vigil.admin.commands import Admin
from vigil.api.agent_tools import agent_tool_routes
from vigil.api.attributes import attribute_routes
from vigil.api.auth import token_checker, token_reader
from vigil.api.configuration import config_routes
from vigil.api.context import ApiContext
from vigil.api.errors import install_error_handlers
from vigil.api.hosts import HostGuard, HostPolicy
from vigil.api.limits import BodyLimit
from vigil.api.nodes import node_routes
from vigil.api.origin import OriginGuard
from vigil.api.page import web_routes
from vigil.api.reads import read_routes
from vigil.api.resources import resource_routes
from vigil.api.tickets import ticket_routes

API_PREFIX = "/api/v1"


def _version() -> str:
    try:
        return version("vigil")
    except PackageNotFoundError:
        return "0"


def create_app(context: ApiContext, hosts: HostPolicy | None = None) -> FastAPI:
    """The API over ``context``; ``hosts`` the Host names it answers to (None: any, for in-process
    use, where no browser can reach it)."""
    app = FastAPI(title="vigil", summary="A cluster resource manager in the Pacemaker model",
                  version=_version())
    app.state.vigil = context
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(OriginGuard)  # a change from another origin's page: 403 (docs/security.md)
    if hosts is not None:
        app.add_middleware(HostGuard, policy=hosts)  # added last: runs first
    controller = context.controller
    admin = Admin(store=context.store, poke=controller.poke, clock=context.clock, node=controller.node)
    auth = [Depends(token_checker(context.token))]

    @app.get("/healthz", tags=["status"], summary="The daemon answers, and its store records (else 503)",
             responses={503: {"description": "The store refuses to record: nothing new is recorded"}})
    async def healthz() -> JSONResponse:
        stats = controller.stats
        if stats.store_failing_since is not None:
            return JSONResponse({"status": "store failing", "node": controller.node,
                                 "error": stats.store_error}, status_code=503)
        return JSONResponse({"status": "ok", "node": controller.node})

    app.include_router(read_routes(admin, controller))
    app.include_router(resource_routes(admin, controller, auth), prefix=API_PREFIX)
    app.include_router(node_routes(admin, controller, auth, context.fencing), prefix=API_PREFIX)
    app.include_router(config_routes(admin, context, auth, token_reader(context.token)), prefix=API_PREFIX)
    app.include_router(attribute_routes(admin, auth, DelayedWrites(admin)), prefix=API_PREFIX)
    app.include_router(agent_tool_routes(admin, auth), prefix=API_PREFIX)
    app.include_router(ticket_routes(admin, auth), prefix=API_PREFIX)
    app.include_router(web_routes(app, admin, context, token_reader(context.token)))  # the page (docs/web.md)
    return app
