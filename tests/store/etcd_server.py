"""A real etcd server for the tests: Debian's ``etcd-server``, on loopback, on free ports.

Started once per test session (about 1 s), in a temporary data directory,
and stopped by its PID.  Never on 2379, where a packaged etcd.service may
already listen.  Each test then uses its own cluster name (key prefix), so
tests never see each other's keys.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "run scripts/install-test-deps.sh (it installs Debian's etcd-server) or put etcd on PATH"


def etcd_binary() -> str | None:
    found = shutil.which("etcd")
    if found:
        return found
    return "/usr/bin/etcd" if os.access("/usr/bin/etcd", os.X_OK) else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return port if port != 2379 else free_port()


@dataclass
class EtcdServer:
    process: subprocess.Popen[bytes]
    client_port: int
    data_dir: Path
    log: Path

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_etcd(binary: str, extra: tuple[str, ...] = ()) -> EtcdServer:
    data_dir = Path(tempfile.mkdtemp(prefix="vigil-etcd-"))
    client, peer = free_port(), free_port()
    client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    log = data_dir / "etcd.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                binary, "--name", "vigil-test", "--data-dir", str(data_dir / "data"),
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", f"vigil-test={peer_url}", "--initial-cluster-state", "new",
                "--heartbeat-interval", "100", "--election-timeout", "1000", *extra,
            ],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    server = EtcdServer(process, client, data_dir, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{client_url}/health", timeout=1) as reply:
                if b"true" in reply.read():
                    return server
        except OSError:
            time.sleep(0.05)
    text = log.read_text(errors="replace")[-2000:]
    server.stop()
    raise RuntimeError(f"etcd did not become healthy on {client_url}:\n{text}")
