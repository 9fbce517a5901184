"""The ASGI application (FastAPI): JSON in and out, an OpenAPI description at /openapi.json."""

from __future__ import annotations

from fastapi import FastAPI

from vigil.api.context import ApiContext


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(title="vigil", summary="A cluster resource manager in the Pacemaker model")
    app.state.vigil = context

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "node": context.controller.node}

    return app
