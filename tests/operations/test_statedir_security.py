"""The state directory is the user's alone, and the CLI sends the token only to that user's daemon
(issue 12, defect 5): modes narrowed on start, other owners and links refused, files written with an
explicit mode whatever the umask, and no token for an ``api.json`` or a listener someone else controls."""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from vigil.cli.listener import check_token_recipient, listener_uids
from vigil.cli.main import cli
from vigil.daemon.statedir import (
    ApiAddress,
    StateDirError,
    ensure_token,
    prepare_state_dir,
    write_api_address,
)

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def vigil(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


# -- on start: narrowed or refused ------------------------------------------------------------------


def test_modes_open_to_others_are_narrowed_on_start_with_a_warning(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "token").write_text("secret\n")
    (state / "vigil.db").write_bytes(b"x")
    os.chmod(state, 0o777)
    os.chmod(state / "token", 0o644)
    os.chmod(state / "vigil.db", 0o666)
    with caplog.at_level(logging.WARNING, logger="vigil.daemon.statedir"):
        prepare_state_dir(state)
    assert (mode(state), mode(state / "token"), mode(state / "vigil.db")) == (0o700, 0o600, 0o644)
    assert caplog.messages == [
        f"the state directory {state} had mode 0777, open to other users: changed to 0700",
        f"{state / 'token'} had mode 0644, open to other users: changed to 0600",
        f"{state / 'vigil.db'} had mode 0666, open to other users: changed to 0644",
    ]
    caplog.clear()
    prepare_state_dir(state)  # nothing left to change, nothing said
    assert caplog.messages == []


@pytest.mark.parametrize("name", ["token", "api.json", "vigil.db"])
def test_a_symbolic_link_in_the_state_directory_is_refused(tmp_path: Path, name: str) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (tmp_path / "elsewhere").write_text("x")
    (state / name).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StateDirError, match=rf"{state / name} is a symbolic link: vigil does not follow"):
        prepare_state_dir(state)


@as_root
@pytest.mark.parametrize("name", ["token", "api.json", "vigil.db", "vigil.db-wal"])
def test_a_file_of_another_user_is_refused(tmp_path: Path, name: str) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / name).write_text("planted")
    os.chown(state / name, NOBODY, NOBODY)
    with pytest.raises(StateDirError, match=rf"{state / name} belongs to uid {NOBODY}, not to uid 0 "
                                            "that vigil runs as"):
        prepare_state_dir(state)


@as_root
def test_a_state_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o777)
    os.chown(state, NOBODY, NOBODY)
    with pytest.raises(StateDirError, match=rf"the state directory {state} belongs to uid {NOBODY}"):
        prepare_state_dir(state)
    assert mode(state) == 0o777  # not vigil's to change


def test_vigil_run_refuses_an_unsafe_state_directory_clearly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "token").symlink_to(tmp_path / "attacker-token")
    result = subprocess.run([str(Path(sys.executable).parent / "vigil"), "run", "--state-dir", str(state),
                             "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.endswith(f"vigil: error: {state / 'token'} is a symbolic link: vigil does not "
                                  "follow links in its state directory; replace it with the file itself\n")
    assert "Traceback" not in result.stderr
    assert not (state / "vigil.db").exists()


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_the_token_and_api_json_have_their_mode_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        prepare_state_dir(tmp_path / "state")
        token = ensure_token(tmp_path / "state")
        write_api_address(tmp_path / "state", ApiAddress("http://127.0.0.1:1", 1, "n1"))
    finally:
        os.umask(old)
    assert (tmp_path / "state" / "token").read_text() == token + "\n"
    assert mode(tmp_path / "state" / "token") == 0o600
    assert mode(tmp_path / "state" / "api.json") == 0o600
    assert mode(tmp_path / "state") == 0o700


# -- the CLI: the token goes only to the daemon that owns the directory ------------------------------


class Recorder(BaseHTTPRequestHandler):
    """A stand-in for whatever listens at api.json's address: it keeps what it was sent."""

    received: ClassVar[list[dict[str, str]]] = []

    def _answer(self) -> None:
        Recorder.received.append(dict(self.headers))
        body = b'{"message": "web: done", "notes": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def listener() -> Iterator[str]:
    Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def daemon_state(tmp_path: Path, url: str) -> Path:
    """A state directory as the daemon leaves it, its api.json naming ``url``."""
    state = prepare_state_dir(tmp_path / "state")
    ensure_token(state)
    write_api_address(state, ApiAddress(url, os.getpid(), "n1"))
    return state


def tokens_sent() -> list[str]:
    return [headers["Authorization"] for headers in Recorder.received if "Authorization" in headers]


def test_the_token_goes_to_the_daemon_that_wrote_api_json(tmp_path: Path, listener: str) -> None:
    state = daemon_state(tmp_path, listener)
    code, out, err = vigil("resource", "stop", "web", "--state-dir", str(state))
    assert (code, out) == (0, "web: done\n"), err
    assert tokens_sent() == [f"Bearer {(state / 'token').read_text().strip()}"]


@pytest.mark.parametrize(("spoil", "reason"), [
    (lambda s: os.chmod(s / "api.json", 0o666), r"it is writable by other users \(mode 0666\)"),
    (lambda s: os.chmod(s, 0o777), r"the state directory .* is writable by other users \(mode 0777\)"),
    (lambda s: (shutil.move(s / "api.json", s / "real.json"), (s / "api.json").symlink_to(s / "real.json")),
     "it is a symbolic link"),
])
def test_no_token_for_an_api_json_someone_else_could_have_written(tmp_path: Path, listener: str,
                                                                   spoil: object, reason: str) -> None:
    state = daemon_state(tmp_path, listener)
    spoil(state)  # type: ignore[operator]
    code, out, err = vigil("resource", "stop", "web", "--state-dir", str(state))
    assert (code, out) == (1, "")
    api_file = state / "api.json"
    assert err.startswith(f"vigil: error: not sending the access token to the address in {api_file}: ")
    assert re.search(reason, err), err
    assert tokens_sent() == []


@as_root
def test_no_token_for_an_api_json_of_another_user(tmp_path: Path, listener: str) -> None:
    state = daemon_state(tmp_path, listener)
    os.chown(state / "api.json", NOBODY, NOBODY)
    code, _, err = vigil("resource", "stop", "web", "--state-dir", str(state))
    assert code == 1 and f"api.json belongs to uid {NOBODY}, the state directory to uid 0" in err
    assert tokens_sent() == []


def test_no_token_for_a_url_that_is_not_http(tmp_path: Path) -> None:
    state = daemon_state(tmp_path, "file:///etc/passwd")
    code, _, err = vigil("resource", "stop", "web", "--state-dir", str(state))
    assert code == 1 and "names 'file:///etc/passwd', not http://HOST:PORT" in err


def test_the_listener_of_the_address_is_known_by_its_owner(tmp_path: Path) -> None:
    import ipaddress

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        uids = listener_uids(port, {ipaddress.ip_address("127.0.0.1")})
        if uids is None:
            pytest.skip("no /proc/net/tcp here")
        assert uids == {os.geteuid()}
        assert listener_uids(port, {ipaddress.ip_address("127.0.0.2")}) == set()
        url = f"http://127.0.0.1:{port}"
        check_token_recipient(url, os.geteuid(), tmp_path / "api.json")
        me = os.geteuid()
        with pytest.raises(StateDirError, match=rf"the socket listening there belongs to uid {me}, "
                                                rf"not to uid {me + 1} that owns the state directory"):
            check_token_recipient(url, os.geteuid() + 1, tmp_path / "api.json")


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")
LISTEN_AS_NOBODY = """
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
server.settimeout(30)
try:
    connection, _ = server.accept()
    connection.settimeout(2)
    print(repr(connection.recv(65536)), flush=True)
except OSError:
    pass
"""


@as_root
@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="needs a python3 that another user can run")
def test_no_token_for_another_users_program_on_the_daemons_port(tmp_path: Path) -> None:
    """vigil died and left api.json; another user now listens on its port: it gets no token."""

    def as_nobody() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    assert SYSTEM_PYTHON is not None
    thief = subprocess.Popen([SYSTEM_PYTHON, "-c", LISTEN_AS_NOBODY], stdout=subprocess.PIPE, text=True,
                             preexec_fn=as_nobody, cwd="/")
    try:
        assert thief.stdout is not None
        port = int(thief.stdout.readline())
        state = daemon_state(tmp_path, f"http://127.0.0.1:{port}")
        code, out, err = vigil("resource", "cleanup", "--state-dir", str(state))
        assert (code, out) == (1, "")
        assert err.startswith(f"vigil: error: not sending the access token to http://127.0.0.1:{port} "
                              f"(from {state / 'api.json'}): the socket listening there belongs to uid "
                              f"{NOBODY}, not to uid 0 that owns the state directory")
    finally:
        thief.kill()
        received = thief.communicate(timeout=10)[0]
    assert "Bearer" not in received
