"""Who listens at the daemon's address: the CLI's last check before it sends the token.

A trustworthy ``api.json`` still names only a port.  When vigil has stopped
(killed, or its ``api.json`` left behind), any local user can listen on that
port and collect the token of the next command that changes something.  On
Linux the kernel says which user owns each listening socket
(``/proc/net/tcp``, ``/proc/net/tcp6``), so the token goes only to a socket
of the user that owns the state directory.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from vigil.daemon.statedir import StateDirError

_PROC_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_LISTEN = "0A"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NothingListens(StateDirError):
    """No socket of this machine listens at the address: vigil is not running."""


def check_token_recipient(url: str, owner: int, api_file: Path) -> None:
    """Raise :class:`StateDirError` unless ``url`` is a socket of uid ``owner`` on this machine."""
    host, port = _host_port(url, api_file)
    owners = listener_uids(port, _addresses(host, port, api_file))
    if owners is None or owners == {owner}:
        return  # None: no /proc here to ask; the file checks are all there is
    if not owners:
        raise NothingListens(f"nothing listens at {url}")
    others = ", ".join(str(uid) for uid in sorted(owners - {owner}))
    raise StateDirError(
        f"not sending the access token to {url} (from {api_file}): the socket listening there belongs to "
        f"uid {others}, not to uid {owner} that owns the state directory; another program holds vigil's "
        "port (is vigil running?)"
    )


def _host_port(url: str, api_file: Path) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port, parts = None, None, None
    if parts is None or parts.scheme not in ("http", "https") or not host or port is None \
            or parts.username is not None or parts.path not in ("", "/") or parts.query:
        raise StateDirError(f"{api_file} names {url!r}, not http://HOST:PORT: the file is damaged; "
                            "restart vigil to write it again")
    return host, port


def _addresses(host: str, port: int, api_file: Path) -> set[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise StateDirError(f"{api_file} names the host {host!r}, which does not resolve: {error}") from None
    return {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}


def listener_uids(port: int, addresses: set[IPAddress]) -> set[int] | None:
    """The uids of the sockets listening on ``port`` at one of ``addresses`` (or at any address).

    None when the kernel's tables cannot be read (not Linux).
    """
    found: set[int] = set()
    readable = False
    for table in _PROC_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) < 8 or fields[3] != _LISTEN:
                continue
            hex_address, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) != port:
                continue
            address = _decode(hex_address)
            mapped = getattr(address, "ipv4_mapped", None)
            if address.is_unspecified or address in addresses or mapped in addresses:
                found.add(int(fields[7]))
    return found if readable else None


def _decode(hex_address: str) -> IPAddress:
    """An address as /proc/net/tcp writes it: 32-bit words in the host's byte order."""
    raw = bytes.fromhex(hex_address)
    if sys.byteorder == "little":
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(raw)
