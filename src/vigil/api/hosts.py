"""Only requests addressed to one of vigil's own names are answered (no DNS rebinding).

A page on another origin cannot read the API directly, but it can point its
own host name at vigil's address (DNS rebinding) and then read it as
same-origin: the only trace is the ``Host`` header, which still carries the
page's name.  So the API answers a request only when its ``Host`` is one of
the names it listens under (the address given to ``--listen``; the loopback
names when that is a loopback address), or one the operator added
(``--allowed-host``).  When vigil listens on every address (``0.0.0.0`` or
``::``), any IP literal is accepted too: a rebinding needs a *name*, and the
machine's addresses may change.  A request without a ``Host`` header (HTTP/1.0
tools) is answered: no browser sends one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from vigil.api.errors import error_response
from vigil.errors import InputError, Problem

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})
# Characters a Host header never holds (userinfo, a path, a query, white space).
_NOT_IN_HOST = frozenset("@/?#\\ \t")
ALLOWED_HOST_OPTION = "--allowed-host"


def host_name(header: str) -> str | None:
    """The name in a ``Host`` header (lower case, without port, brackets or a final dot);
    None when it is not a well-formed ``host[:port]``."""
    if not header or _NOT_IN_HOST.intersection(header):
        return None
    try:
        parts = urlsplit(f"//{header}")
        name = parts.hostname
        _ = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return None
    if not name:
        return None
    return name.rstrip(".") or None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    return name in LOOPBACK_NAMES or (_is_ip_literal(name) and ipaddress.ip_address(name).is_loopback)


@dataclass(frozen=True)
class HostPolicy:
    """The ``Host`` names the API answers to."""

    names: frozenset[str]
    # Listening on every address: any IP literal is one of ours.
    any_address: bool = False

    @classmethod
    def for_listen(cls, listen_host: str, added: Iterable[str] = ()) -> HostPolicy:
        """The names for an API listening on ``listen_host``, plus the operator's ``added`` ones;
        raises :class:`InputError` (naming ``--allowed-host``) for an added one that is not a host name."""
        host = listen_host.strip("[]").lower().rstrip(".")
        names = set(_checked(added))
        wildcard = host in WILDCARD_ADDRESSES
        if wildcard:
            names |= LOOPBACK_NAMES | {socket.gethostname().lower()}
        else:
            names.add(host)
            if _is_loopback(host):
                names |= LOOPBACK_NAMES
        return cls(frozenset(names), any_address=wildcard)

    def allows(self, header: str | None) -> bool:
        if header is None:
            return True
        name = host_name(header)
        if name is None:
            return False
        return name in self.names or (self.any_address and _is_ip_literal(name))

    def describe(self) -> str:
        listed = ", ".join(sorted(self.names))
        return f"{listed} and any IP address" if self.any_address else listed


def _added_name(text: str) -> str | None:
    """An operator's name as the Host check compares it; None when it is not a bare host name."""
    cleaned = text.strip().lower().strip("[]").rstrip(".")
    if _is_ip_literal(cleaned):
        return cleaned
    name = host_name(cleaned)
    return name if name == cleaned else None


def _checked(added: Iterable[str]) -> list[str]:
    names, problems = [], []
    for text in added:
        name = _added_name(text)
        if name is None:
            problems.append(Problem(ALLOWED_HOST_OPTION, f"{text!r} is not a host name: give a name or an "
                                                         "address without a port or scheme, "
                                                         "e.g. vigil.example.com or 192.0.2.10"))
        else:
            names.append(name)
    if problems:
        raise InputError(problems)
    return names


class HostGuard:
    """ASGI middleware: a request whose ``Host`` is not one of ours gets 421 (Misdirected Request)."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [value.decode("latin-1") for key, value in scope["headers"] if key.lower() == b"host"]
        if len(hosts) <= 1 and self.policy.allows(hosts[0] if hosts else None):
            await self.app(scope, receive, send)
            return
        shown = hosts[0] if len(hosts) == 1 else f"{len(hosts)} Host headers"
        response = error_response(421, f"this vigil does not answer to the Host {shown!r}: it answers to "
                                       f"{self.policy.describe()}; to reach it under another name, start it "
                                       f"with {ALLOWED_HOST_OPTION} NAME (see docs/security.md)")
        await response(scope, receive, send)
