"""Requests that change state must present the token: ``Authorization: Bearer <token>``.

The token is the one in the state directory (mode 0600), compared in
constant time.  Reads need none.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends
from fastapi import params as fastapi_params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vigil.api.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="The token from the state directory's `token` file.")


_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def token_checker(token: str) -> Callable[..., Awaitable[None]]:
    """A dependency that refuses (401) a request without the right bearer token."""
    expected = token.encode()

    async def require_token(credentials: _Credentials) -> None:
        if credentials is None:
            raise Unauthorized("this request changes the cluster and needs the token: send "
                               "'Authorization: Bearer <token>' (the token file is in the state directory)")
        if credentials.scheme.lower() != "bearer" or not hmac.compare_digest(
                credentials.credentials.encode(), expected):
            raise Unauthorized("the token is not the right one (see the token file in the state directory)")

    return require_token


def changing(auth: Sequence[fastapi_params.Depends]) -> dict[str, Any]:
    """Route options for a request that changes state: the token check, and its 401 documented."""
    return {"dependencies": list(auth), "responses": {401: {"description": "No or wrong token"}}}
