"""The state directory: where a node's store, API address and access token live.

Every command finds the daemon through it: ``--state-dir DIR``, else
``$VIGIL_STATE_DIR``, else ``/var/lib/vigil`` for root and
``$XDG_STATE_HOME/vigil`` (``~/.local/state/vigil``) for other users.  The
daemon writes ``api.json`` (where it listens) when it is ready and removes it
when it stops; ``token`` (mode 0600) holds the secret that commands which
change state must present.

Whoever can write in the directory can plant a store (a configuration whose
agents the daemon runs) or an ``api.json`` that sends the token elsewhere, so
the directory is the user's alone: mode 0700, its files owned by that user
and writable by no one else.  The daemon narrows wider modes on start, and
refuses what it cannot make safe by itself (another owner, a symbolic link).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import VigilError

log = logging.getLogger(__name__)

STATE_DIR_ENV = "VIGIL_STATE_DIR"
# The store: --store URL, else $VIGIL_STORE, else the URL the directory recorded, else its SQLite file.
STORE_ENV = "VIGIL_STORE"
STORE_URL_FILE = "store-url"
API_FILE = "api.json"
TOKEN_FILE = "token"
LOCK_FILE = "vigil.lock"
STORE_FILE = "vigil.db"
DIR_MODE = 0o700
TOKEN_MODE = 0o600
API_FILE_MODE = 0o600
# What vigil keeps in the directory: each must be the user's own, never a link.
_OWN_FILES = (TOKEN_FILE, LOCK_FILE, API_FILE, STORE_URL_FILE, STORE_FILE, STORE_FILE + "-wal",
              STORE_FILE + "-shm")
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class StateDirError(VigilError):
    """The state directory is missing, unreadable, unsafe, or the daemon is not there."""


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
    """Create the directory (mode 0700) if needed, and make it and its files the user's alone.

    Modes wider than vigil's are narrowed, with a warning saying what changed;
    another owner or a symbolic link is refused, since narrowing a mode does
    not undo what someone else may already have written.
    """
    try:
        created = not path.exists()
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if created:
            path.chmod(DIR_MODE)  # exactly 0700, whatever the umask took from it
    except OSError as error:
        raise StateDirError(f"cannot create the state directory {path}: {error.strerror or error}") from None
    _secure_directory(path)
    for name in _OWN_FILES:
        _secure_file(path / name, TOKEN_MODE if name == TOKEN_FILE else None)
    if not os.access(path, os.W_OK | os.X_OK):
        raise StateDirError(f"the state directory {path} is not writable by this user")
    return path


class StateDirLock:
    """The daemon's exclusive hold on a state directory (``fcntl.flock`` on ``vigil.lock``).

    Two daemons on one state directory would run two controllers and two
    sets of monitors over the same store and agents.  The lock is the
    kernel's: it goes with the process, also on ``kill -9``, so a daemon
    that died never keeps a later one out.  The file holds the holder's PID,
    for the message that refuses a second daemon.
    """

    def __init__(self, path: Path) -> None:
        self.path = path / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, TOKEN_MODE)
        except OSError as error:
            raise StateDirError(f"cannot open the lock file {self.path}: {error.strerror or error}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirError(
                f"another vigil (pid {holder}) is already running on the state directory {self.path.parent}: "
                "stop it first, or give this one another --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def _not_ours(what: str, uid: int) -> StateDirError:
    return StateDirError(
        f"{what} belongs to uid {uid}, not to uid {os.geteuid()} that vigil runs as; someone else may "
        "have written in it: check it, then chown it to this user (or use another --state-dir)"
    )


def _secure_directory(path: Path) -> None:
    try:
        link, info = path.lstat(), path.stat()
    except OSError as error:
        raise StateDirError(f"cannot use the state directory {path}: {error.strerror or error}") from None
    if stat.S_ISLNK(link.st_mode) and link.st_uid not in (os.geteuid(), 0):
        raise _not_ours(f"the state directory {path} is a symbolic link that", link.st_uid)
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"the state directory {path} is not a directory")
    if info.st_uid != os.geteuid():
        raise _not_ours(f"the state directory {path}", info.st_uid)
    _narrow(path, info.st_mode, DIR_MODE, "the state directory")


def _secure_file(path: Path, mode: int | None) -> None:
    """``mode``: the file's exact mode (the token); else only write by others is taken away."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise StateDirError(f"cannot use {path}: {error.strerror or error}") from None
    if stat.S_ISLNK(info.st_mode):
        raise StateDirError(
            f"{path} is a symbolic link: vigil does not follow links in its state directory; "
            "replace it with the file itself"
        )
    if info.st_uid != os.geteuid():
        raise _not_ours(str(path), info.st_uid)
    if stat.S_ISREG(info.st_mode):
        wanted = mode if mode is not None else stat.S_IMODE(info.st_mode) & ~_OTHERS_WRITE
        _narrow(path, info.st_mode, wanted, "")


def _narrow(path: Path, current: int, wanted: int, what: str) -> None:
    had = stat.S_IMODE(current)
    if had & ~wanted == 0:
        return
    try:
        os.chmod(path, wanted)  # never a link here: _secure_file refuses them
    except OSError as error:
        raise StateDirError(
            f"{path} has mode {had:04o}, open to other users, and cannot be changed: "
            f"{error.strerror or error}"
        ) from None
    named = f"{what} {path}" if what else str(path)
    log.warning("%s had mode %04o, open to other users: changed to %04o", named.strip(), had, wanted)


def store_url(path: Path) -> str:
    return f"sqlite://{(path / STORE_FILE).resolve().as_posix()}"


def resolve_store_url(path: Path, given: str | None = None) -> str:
    """The store of the node whose state directory is ``path``.

    ``--store URL``, else ``$VIGIL_STORE``, else the URL the daemon recorded
    in the directory when it started (so the CLI finds an etcd store while
    the daemon is down), else the SQLite store in the directory.
    """
    if given:
        return given
    from_env = os.environ.get(STORE_ENV)
    if from_env:
        return from_env
    return read_store_url(path) or store_url(path)


def read_store_url(path: Path) -> str | None:
    """The store URL recorded in the state directory, or None when none was."""
    try:
        text = (path / STORE_URL_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateDirError(f"cannot read {path / STORE_URL_FILE}: {error.strerror or error}") from None
    return text or None


def record_store_url(path: Path, url: str) -> None:
    """Record the daemon's store URL in its state directory (mode 0600, like the token)."""
    if read_store_url(path) == url:
        return
    try:
        _write_private(path / STORE_URL_FILE, url + "\n", TOKEN_MODE)
    except OSError as error:
        raise StateDirError(f"cannot write {path / STORE_URL_FILE}: {error.strerror or error}") from None


def _write_private(path: Path, text: str, mode: int) -> None:
    """Write ``path`` whole with exactly ``mode``, whatever the umask, through a new file.

    The new file is created exclusively and renamed over the old one, so a
    reader sees the old content or the new, and a link planted at the
    temporary name is refused rather than followed.
    """
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits from the mode given to open()
        with os.fdopen(fd, "w", closefd=False) as handle:
            handle.write(text)
    finally:
        os.close(fd)
    temporary.replace(path)


def ensure_token(path: Path) -> str:
    """The access token, created (mode 0600) on first use and kept across restarts."""
    token_file = path / TOKEN_FILE
    try:
        fd = os.open(token_file, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as handle:
            token = handle.read().strip()
    except FileNotFoundError:
        token = ""
    except OSError as error:
        raise StateDirError(f"cannot read {token_file}: {error.strerror or error}") from None
    if token:
        return token
    token = secrets.token_urlsafe(32)
    try:
        _write_private(token_file, token + "\n", TOKEN_MODE)
    except OSError as error:
        raise StateDirError(f"cannot write {token_file}: {error.strerror or error}") from None
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
    data = {"url": address.url, "pid": address.pid, "node": address.node}
    _write_private(path / API_FILE, json.dumps(data) + "\n", API_FILE_MODE)


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


def written_by_owner(path: Path) -> int:
    """The uid that owns the state directory, once sure ``api.json`` can only have been written by it.

    The CLI sends the token only to an address the daemon's user wrote: an
    ``api.json`` that someone else could have written or replaced (another
    owner, a link, write access for others to it or to the directory) might
    point at a listener of theirs.
    """
    api_file, token_file = path / API_FILE, path / TOKEN_FILE
    try:
        directory, api, token = path.stat(), api_file.lstat(), token_file.stat()
    except OSError as error:
        raise StateDirError(f"cannot check {error.filename}: {error.strerror or error}") from None
    owner = directory.st_uid
    if stat.S_IMODE(directory.st_mode) & _OTHERS_WRITE:
        return _untrusted(api_file, f"the state directory {path} is writable by other users "
                                    f"(mode {stat.S_IMODE(directory.st_mode):04o})")
    if stat.S_ISLNK(api.st_mode):
        return _untrusted(api_file, "it is a symbolic link")
    if stat.S_IMODE(api.st_mode) & _OTHERS_WRITE:
        return _untrusted(api_file, f"it is writable by other users (mode {stat.S_IMODE(api.st_mode):04o})")
    for name, info in ((api_file, api), (token_file, token)):
        if info.st_uid != owner:
            return _untrusted(api_file, f"{name} belongs to uid {info.st_uid}, "
                                        f"the state directory to uid {owner}")
    return owner


def _untrusted(api_file: Path, reason: str) -> int:
    raise StateDirError(
        f"not sending the access token to the address in {api_file}: {reason}, so someone other than "
        "vigil may have written it; restart vigil (it fixes the modes) or remove the file"
    )
