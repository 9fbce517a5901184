"""Requests that change state must present the token: ``Authorization: Bearer <token>``.

The token is the one in the state directory (mode 0600), compared in
constant time.  Reads need none, but a read that can show secrets (the
configuration) shows them only with the token; a wrong token is refused there
rather than taken as none, so a script with a stale token learns it instead
of silently getting masked values (docs/security.md).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends
from fastapi import params as fastapi_params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vigil.api.errors import Unauthorized
from vigil.api.models import require_object_body

_bearer = HTTPBearer(auto_error=False, description="The token from the state directory's `token` file.")


_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


_WRONG_TOKEN = "the token is not the right one (see the token file in the state directory)"


def _is_right(credentials: HTTPAuthorizationCredentials, expected: bytes) -> bool:
    return credentials.scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.credentials.encode(), expected)


def token_checker(token: str) -> Callable[..., Awaitable[None]]:
    """A dependency that refuses (401) a request without the right bearer token."""
    expected = token.encode()

    async def require_token(credentials: _Credentials) -> None:
        if credentials is None:
            raise Unauthorized("this request changes the cluster and needs the token: send "
                               "'Authorization: Bearer <token>' (the token file is in the state directory)")
        if not _is_right(credentials, expected):
            raise Unauthorized(_WRONG_TOKEN)

    return require_token


def token_reader(token: str) -> Callable[..., Awaitable[bool]]:
    """A dependency for reads that show more with the token: True with the right one, False with
    none; a wrong one is refused (401)."""
    expected = token.encode()

    async def has_token(credentials: _Credentials) -> bool:
        if credentials is None:
            return False
        if not _is_right(credentials, expected):
            raise Unauthorized(_WRONG_TOKEN)
        return True

    return has_token


def changing(auth: Sequence[fastapi_params.Depends]) -> dict[str, Any]:
    """Route options for a request that changes state: the token check, then the body's shape
    (a JSON object or nothing), with their errors documented."""
    return {"dependencies": [*auth, Depends(require_object_body)],
            "responses": {401: {"description": "No or wrong token"},
                          422: {"description": "The body is not a JSON object, or does not validate"}}}
