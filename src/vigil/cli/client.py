"""How commands reach the running daemon: its API address and token from the state directory.

Imported only by the commands that talk to the daemon, so ``vigil --help``
and the other commands never pay for importing httpx.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx

from vigil.cli.listener import NothingListens, check_token_recipient
from vigil.daemon.statedir import (
    API_FILE,
    ApiAddress,
    StateDirError,
    read_api_address,
    read_token,
    resolve_state_dir,
    written_by_owner,
)
from vigil.errors import VigilError

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 30.0


class ClientError(VigilError):
    """A command the daemon refused or did not answer: its message, details and exit code."""

    def __init__(self, message: str, details: Sequence[str] = (), exit_code: int = 1) -> None:
        super().__init__(message, details)
        self.exit_code = exit_code


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Client:
    """The daemon's REST API, as a command uses it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.address: ApiAddress = read_api_address(state_dir)
        self._token: str | None = None
        self._http = httpx.Client(base_url=self.address.url,
                                  timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S))

    def close(self) -> None:
        self._http.close()

    @property
    def node(self) -> str:
        """The node the daemon runs."""
        return self.address.node

    def _not_running(self) -> ClientError:
        state = "" if is_alive(self.address.pid) else f" (its process {self.address.pid} is gone)"
        return ClientError(
            f"vigil is not running with state dir {self.state_dir}: nothing answers at {self.address.url}"
            f"{state}; start it with `vigil run --state-dir {self.state_dir} --config FILE`")

    def token(self) -> str:
        """The token, once sure the address it goes to is the daemon's and no one else's.

        ``api.json`` must be the directory owner's and writable by no one else
        (:func:`~vigil.daemon.statedir.written_by_owner`), and the socket listening
        at its address must be that owner's (:mod:`vigil.cli.listener`).
        """
        if self._token is None:
            owner = written_by_owner(self.state_dir)
            try:
                check_token_recipient(self.address.url, owner, self.state_dir / API_FILE)
            except NothingListens:
                raise self._not_running() from None
            self._token = read_token(self.state_dir)
        return self._token

    def token_if_ours(self) -> str | None:
        """The token when this user may read it and may send it there; None otherwise.

        For reads that show more to the token's holder (secret parameters):
        another user still gets the masked answer rather than an error.
        """
        try:
            return self.token()
        except StateDirError:
            return None

    def request(self, method: str, path: str, *, change: bool = False, json_body: Any = None,
                content: bytes | None = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> httpx.Response:
        """Send a request; raise :class:`ClientError` with the API's message when it fails."""
        sent = dict(headers or {})
        if change:
            sent["Authorization"] = f"Bearer {self.token()}"
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_S)
        try:
            response = self._http.request(method, path, json=json_body, content=content,
                                          params={k: v for k, v in (params or {}).items() if v is not None},
                                          headers=sent, **extra)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise self._not_running() from None
        except httpx.TimeoutException:
            raise ClientError(f"vigil at {self.address.url} did not answer in time") from None
        except httpx.HTTPError as error:
            raise ClientError(f"cannot talk to vigil at {self.address.url}: {error}") from None
        if response.status_code >= 400:
            raise api_error(response)
        return response

    def get_json(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def change(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        return self.request(method, path, change=True, json_body=body, timeout=timeout).json()


def api_error(response: httpx.Response) -> ClientError:
    """The API's ``{"error", "details"}`` as a ClientError (exit 2 for bad input, else 1)."""
    try:
        body = response.json()
        message = str(body.get("error") or body.get("detail") or response.reason_phrase)
        details = [str(item) for item in body.get("details") or []]
    except (ValueError, AttributeError):
        message, details = f"{response.status_code} {response.reason_phrase}: {response.text[:200]}", []
    return ClientError(message, details, exit_code=2 if response.status_code in (400, 422) else 1)


@contextmanager
def connect(state_dir: str | None) -> Iterator[Client]:
    """A client for the daemon of ``state_dir``, closed after use.

    What goes wrong is a :class:`~vigil.errors.VigilError` (:class:`ClientError`,
    :class:`~vigil.daemon.statedir.StateDirError`), which the command line prints.
    """
    client = Client(resolve_state_dir(state_dir))
    try:
        yield client
    finally:
        client.close()


def echo_result(result: dict[str, Any]) -> None:
    """A command's ``{"message", "notes"}`` for people."""
    click.echo(result.get("message", ""))
    for note in result.get("notes") or []:
        click.echo(f"  note: {note}")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))
