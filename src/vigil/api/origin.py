"""A change sent by a browser is taken only from vigil's own page (its own origin).

The token is what authorises a change, and a page of another site never has
it: it is typed into vigil's page and kept in that tab's sessionStorage at
most.  The API sends no CORS headers, so another site's script cannot read an
answer or send the ``Authorization`` header across origins.  This check is
the second wall: a request that changes something (any method but GET, HEAD
and OPTIONS) and that a browser marked as coming from another origin is
refused (403) before it reaches a route, token or not.

A browser says where a request comes from in ``Origin`` (sent with every
POST, PUT and DELETE, same-origin ones included) and in ``Sec-Fetch-Site``.
The request's own origin is its ``Host`` (the Host guard, :mod:`vigil.api.hosts`,
has already checked that it is one of vigil's names): the ``Origin`` must
name the same host and port.  A port missing from ``Host`` is the default of
the ``Origin``'s scheme, so a TLS proxy in front of vigil that passes the
``Host`` on works.  ``Origin: null`` (a sandboxed frame, a file) is refused.
A request with neither header is not from a browser page (curl, the
``vigil`` commands, scripts) and is let through to the token check.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from vigil.api.errors import error_response
from vigil.api.hosts import host_name

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Sec-Fetch-Site values that say the page was not vigil's own.
FOREIGN_SITES = frozenset({"cross-site", "same-site"})


def _origin_address(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an ``Origin`` header (``scheme://host[:port]``); None when it is not one."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
        return None
    return parts.scheme, parts.hostname.rstrip("."), port if port is not None else DEFAULT_PORTS[parts.scheme]


def _host_address(host: str, default_port: int) -> tuple[str, int] | None:
    """(host, port) of a ``Host`` header, its port defaulting to ``default_port``."""
    name = host_name(host)
    if name is None:
        return None
    try:
        port = urlsplit(f"//{host}").port
    except ValueError:
        return None
    return name, port if port is not None else default_port


def is_same_origin(origin: str, host: str | None) -> bool:
    """Does ``origin`` (an ``Origin`` header) name the host and port of ``host`` (the ``Host`` header)?

    A ``Host`` without a port has the default port of the ``Origin``'s scheme."""
    if host is None:
        return False
    theirs = _origin_address(origin.strip().lower())
    if theirs is None:
        return False
    scheme, name, port = theirs
    return _host_address(host.strip().lower(), DEFAULT_PORTS[scheme]) == (name, port)


def refusal(method: str, headers: dict[str, str]) -> str | None:
    """Why a request with these (lower-case) headers is refused; None when it may go on."""
    if method.upper() in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site", "").lower()
    if origin is None:
        if site in FOREIGN_SITES:
            return f"this change was sent by a page of another site (Sec-Fetch-Site: {site})"
        return None
    if not is_same_origin(origin, headers.get("host")):
        return f"this change was sent by a page of another origin (Origin {origin!r})"
    return None


class OriginGuard:
    """ASGI middleware: a change from another origin's page gets 403, whatever its token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1").lower()
            if name in ("origin", "host", "sec-fetch-site"):
                if name in headers:  # two of them: nothing to trust
                    headers[name] = "\0"
                    continue
                headers[name] = value.decode("latin-1")
        why = refusal(scope["method"], headers)
        if why is None:
            await self.app(scope, receive, send)
            return
        response = error_response(403, f"{why}: vigil takes changes only from its own page, or from "
                                       "programs that send no Origin; nothing was changed "
                                       "(see docs/security.md)")
        await response(scope, receive, send)
