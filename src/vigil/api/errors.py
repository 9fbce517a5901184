"""Every error as JSON ``{"error": "...", "details": [...]}`` with a 4xx status, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from vigil.admin.errors import AdminError
from vigil.store.base import StoreError

log = logging.getLogger(__name__)


class Unauthorized(AdminError):
    http_status = 401


class BadBody(AdminError):
    """A request body of the wrong shape (the status pydantic gives a body that does not validate)."""

    http_status = 422


def error_response(status: int, message: str, details: list[str] | tuple[str, ...] = (),
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "details": list(details)}, status_code=status, headers=headers)


def _location(loc: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AdminError)
    async def admin_error(request: Request, error: AdminError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
        return error_response(error.http_status, error.message, error.details, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [f"{_location(item.get('loc', ()))}: {item.get('msg', 'invalid')}"
                   for item in error.errors()]
        return error_response(422, "the request is not valid: " + "; ".join(details), details)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return error_response(error.status_code, str(error.detail), (), dict(error.headers or {}) or None)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, error: StoreError) -> JSONResponse:
        log.error("%s %s: the store failed: %s", request.method, request.url.path, error)
        return error_response(503, f"the store failed: {error}")
