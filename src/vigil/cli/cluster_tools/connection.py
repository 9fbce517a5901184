"""The tools' way to this node's daemon: its API address and token from the state directory.

The daemon gives every agent ``VIGIL_STATE_DIR``; outside vigil the usual
default (``--state-dir``'s) is tried.  The token is sent only where the
``vigil`` command sends it: to the address the daemon's user wrote in
``api.json``, answered by a socket of that user (:mod:`vigil.cli.listener`).
Every request has short timeouts, so a tool never hangs on a daemon that is
gone or stuck; what cannot be reached is :data:`EXIT_NOT_CONNECTED` with a
message that says "not connected", as agents look for in Pacemaker's.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from vigil.cli.cluster_tools.common import (
    EXIT_ERROR,
    EXIT_INSUFFICIENT_PRIV,
    EXIT_INVALID_PARAM,
    EXIT_NOSUCH,
    EXIT_NOT_CONNECTED,
    EXIT_TIMEOUT,
    ToolError,
)
from vigil.cli.listener import NothingListens, check_token_recipient
from vigil.daemon.statedir import (
    API_FILE,
    StateDirError,
    read_api_address,
    read_token,
    resolve_state_dir,
    written_by_owner,
)

CONNECT_TIMEOUT_S = 2.0
# An attribute, a query: the daemon answers in milliseconds; this is for one that is stuck.
READ_TIMEOUT_S = 15.0
API = "/api/v1"


class Unreachable(ToolError):
    def __init__(self, why: str) -> None:
        super().__init__(f"cannot reach the cluster (not connected): {why}", EXIT_NOT_CONNECTED)


class ApiError(ToolError):
    """The daemon refused a request: its message, the HTTP status, and the kind of thing not found."""

    def __init__(self, message: str, status: int, details: tuple[str, ...] = ()) -> None:
        super().__init__(message, _exit_code(status))
        self.status = status
        self.details = details


def _exit_code(status: int) -> int:
    if status == 404:
        return EXIT_NOSUCH
    if status == 401:
        return EXIT_INSUFFICIENT_PRIV
    if status in (400, 422):
        return EXIT_INVALID_PARAM
    return EXIT_ERROR


def path(*parts: str) -> str:
    """``/api/v1/PART/PART``, each part percent-encoded (``#health-cpu``, a name with ``/``)."""
    return API + "".join("/" + quote(part, safe="") for part in parts)


@dataclass
class Daemon:
    """This node's daemon, as its state directory describes it."""

    state_dir: Path
    url: str
    node: str
    _token: str | None = None

    @classmethod
    def find(cls, environ: Mapping[str, str] | None = None) -> Daemon:
        """The daemon of ``$VIGIL_STATE_DIR`` (else the default state directory); Unreachable if none runs."""
        env = os.environ if environ is None else environ
        state_dir = resolve_state_dir(env.get("VIGIL_STATE_DIR") or None)
        try:
            address = read_api_address(state_dir)
        except StateDirError:
            raise Unreachable(f"no vigil runs with the state directory {state_dir} (no {API_FILE}); "
                              "these commands work inside a running vigil (vigil run)") from None
        return cls(state_dir, address.url, address.node)

    def token(self) -> str:
        if self._token is None:
            try:
                owner = written_by_owner(self.state_dir)
                check_token_recipient(self.url, owner, self.state_dir / API_FILE)
                self._token = read_token(self.state_dir)
            except NothingListens:
                raise Unreachable(f"nothing answers at {self.url} (vigil with the state directory "
                                  f"{self.state_dir} is not running)") from None
            except StateDirError as error:
                raise ToolError(error.message, EXIT_INSUFFICIENT_PRIV) from None
        return self._token

    def request(self, method: str, route: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                timeout: float = READ_TIMEOUT_S) -> tuple[int, bytes]:
        """Send one request (with the token); (status, body), or ApiError for a refusal."""
        parts = urlsplit(self.url)
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        target = route + (f"?{query}" if query else "")
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=CONNECT_TIMEOUT_S)
        try:
            try:
                connection.connect()
            except TimeoutError:
                raise Unreachable(f"vigil at {self.url} does not accept connections") from None
            assert connection.sock is not None
            connection.sock.settimeout(timeout)
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            status, payload = response.status, response.read()
        except (ConnectionRefusedError, ConnectionResetError) as error:
            raise Unreachable(f"vigil at {self.url} refused the connection ({error.strerror})") from None
        except TimeoutError:
            raise ToolError(f"vigil at {self.url} did not answer within {timeout:g} s",
                            EXIT_TIMEOUT) from None
        except (OSError, http.client.HTTPException) as error:
            raise Unreachable(f"cannot talk to vigil at {self.url}: {error}") from None
        finally:
            connection.close()
        if status >= 400:
            raise _refusal(status, payload)
        return status, payload

    def get(self, route: str, **params: Any) -> Any:
        return json.loads(self.request("GET", route, params=params)[1])

    def text(self, route: str, **params: Any) -> str:
        return self.request("GET", route, params=params)[1].decode()

    def change(self, method: str, route: str, body: Any = None, *, timeout: float = READ_TIMEOUT_S,
               **params: Any) -> Any:
        return json.loads(self.request(method, route, body=body, params=params, timeout=timeout)[1])


def _refusal(status: int, payload: bytes) -> ApiError:
    try:
        body = json.loads(payload)
        message = str(body.get("error") or body.get("detail") or status)
        details = tuple(str(item) for item in body.get("details") or ())
    except (ValueError, AttributeError):
        message, details = f"HTTP {status}: {payload[:200].decode(errors='replace')}", ()
    return ApiError(message, status, details)
