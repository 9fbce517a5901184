"""The ASGI application (FastAPI): JSON in and out, an OpenAPI description at /openapi.json.

Routes that change the cluster need the bearer token; reads do not.  Every
change goes to the store, then pokes the controller (see
:mod:`vigil.admin.commands`); errors are ``{"error": ..., "details": [...]}``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI

from vigil.admin.commands import Admin
from vigil.api.auth import token_checker
from vigil.api.configuration import config_routes
from vigil.api.context import ApiContext
from vigil.api.errors import install_error_handlers
from vigil.api.nodes import node_routes
from vigil.api.reads import read_routes
from vigil.api.resources import resource_routes

API_PREFIX = "/api/v1"


def _version() -> str:
    try:
        return version("vigil")
    except PackageNotFoundError:
        return "0"


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(title="vigil", summary="A cluster resource manager in the Pacemaker model",
                  version=_version())
    app.state.vigil = context
    install_error_handlers(app)
    controller = context.controller
    admin = Admin(store=context.store, poke=controller.poke, clock=context.clock, node=controller.node)
    auth = [Depends(token_checker(context.token))]

    @app.get("/healthz", tags=["status"], summary="The daemon answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "node": controller.node}

    app.include_router(read_routes(admin, controller))
    app.include_router(resource_routes(admin, controller, auth), prefix=API_PREFIX)
    app.include_router(node_routes(admin, controller, auth), prefix=API_PREFIX)
    app.include_router(config_routes(admin, context, auth), prefix=API_PREFIX)
    return app
