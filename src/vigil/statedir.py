"""The state directory: where a node's store, API address and access token live.

Every command finds the daemon through it: ``--state-dir DIR``, else
``$VIGIL_STATE_DIR``, else ``/var/lib/vigil`` for root and
``$XDG_STATE_HOME/vigil`` (``~/.local/state/vigil``) for other users.  The
daemon writes ``api.json`` (where it listens) when it is ready and removes it
when it stops; ``token`` (mode 0600) holds the secret that commands which
change state must present.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_ENV = "VIGIL_STATE_DIR"
API_FILE = "api.json"
TOKEN_FILE = "token"
STORE_FILE = "vigil.db"


class StateDirError(Exception):
    """The state directory is missing, unreadable, or the daemon is not there."""

    exit_code = 1


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/vigil")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vigil"


def resolve_state_dir(given: str | Path | None) -> Path:
    """``--state-dir``, else ``$VIGIL_STATE_DIR``, else the default for this user."""
    if given:
        return Path(given).expanduser()
    from_env = os.environ.get(STATE_DIR_ENV)
    return Path(from_env).expanduser() if from_env else default_state_dir()


def prepare_state_dir(path: Path) -> Path:
    """Create the directory (mode 0700) if needed; refuse a file or an unwritable one."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise StateDirError(f"cannot create the state directory {path}: {error.strerror or error}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise StateDirError(f"the state directory {path} is not writable by this user")
    return path


def store_url(path: Path) -> str:
    return f"sqlite://{(path / STORE_FILE).resolve().as_posix()}"


def ensure_token(path: Path) -> str:
    """The access token, created (mode 0600) on first use and kept across restarts."""
    token_file = path / TOKEN_FILE
    try:
        token = token_file.read_text().strip()
    except FileNotFoundError:
        token = ""
    except OSError as error:
        raise StateDirError(f"cannot read {token_file}: {error.strerror or error}") from None
    if token:
        return token
    token = secrets.token_urlsafe(32)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def read_token(path: Path) -> str:
    try:
        return (path / TOKEN_FILE).read_text().strip()
    except OSError as error:
        raise StateDirError(
            f"cannot read the access token {path / TOKEN_FILE}: {error.strerror or error} "
            "(commands that change state must run as the user that runs vigil)"
        ) from None


@dataclass(frozen=True)
class ApiAddress:
    """Where a running daemon listens, as it wrote it in ``api.json``."""

    url: str
    pid: int
    node: str


def write_api_address(path: Path, address: ApiAddress) -> None:
    temporary = path / (API_FILE + ".tmp")
    temporary.write_text(json.dumps({"url": address.url, "pid": address.pid, "node": address.node}) + "\n")
    temporary.replace(path / API_FILE)


def remove_api_address(path: Path) -> None:
    (path / API_FILE).unlink(missing_ok=True)


def read_api_address(path: Path) -> ApiAddress:
    """The running daemon's address; a clear error when none runs there."""
    api_file = path / API_FILE
    try:
        data = json.loads(api_file.read_text())
        address = ApiAddress(str(data["url"]), int(data["pid"]), str(data["node"]))
    except FileNotFoundError:
        raise StateDirError(
            f"vigil is not running with the state directory {path} (no {API_FILE} there): "
            f"start it with `vigil run --state-dir {path} --config FILE`, or give --state-dir / "
            f"${STATE_DIR_ENV}"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StateDirError(f"{api_file} is unreadable or damaged: {error}") from None
    return address
