"""Request bodies are bounded, and counted as they arrive rather than after.

A body is refused (413) as soon as it passes the route's limit, from the
``Content-Length`` header before anything is read, or while it streams in
(chunked), so an oversized request costs the daemon at most the limit in
memory.  A whole configuration may be large; a command's JSON is a few bytes.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.api.errors import error_response

KIB = 1024
MIB = 1024 * KIB
# PUT /api/v1/config: a CIB of thousands of resources is a few MiB.
CONFIG_BODY_LIMIT = 16 * MIB
# Every other request: a command's JSON ({"node": "n1"}, {"timeout": 60}).
COMMAND_BODY_LIMIT = 64 * KIB
CONFIG_PATH = "/api/v1/config"


def body_limit(method: str, path: str) -> int:
    """The most bytes a request to ``path`` may send."""
    if method == "PUT" and path.rstrip("/") == CONFIG_PATH:
        return CONFIG_BODY_LIMIT
    return COMMAND_BODY_LIMIT


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // KIB} KiB"


class BodyTooLarge(HTTPException):
    """Raised while a route reads its body; an HTTPException so FastAPI's body parsing passes it on
    to the error handlers (JSON, 413) instead of turning it into a 400."""

    def __init__(self, method: str, path: str, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {method} {path} accepts "
                              f"({_size(limit)}); nothing was changed")


class BodyLimit:
    """ASGI middleware enforcing :func:`body_limit` on every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit = body_limit(method, path)
        too_large = BodyTooLarge(method, path, limit)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error_response(413, str(too_large.detail))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        await self.app(scope, limited_receive, send)
