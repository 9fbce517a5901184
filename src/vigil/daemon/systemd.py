"""systemd's readiness protocol (sd_notify), without a dependency.

With ``Type=notify`` systemd passes ``$NOTIFY_SOCKET``; the daemon sends
``READY=1`` once it serves its API and has joined, ``STOPPING=1`` when it
starts to stop, and ``STATUS=...`` lines that `systemctl status` shows.
Without the variable (run by hand, in tests) nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*lines: str) -> bool:
    """Send ``lines`` to systemd; whether there was a socket to send them to."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(lines).encode(), target)
    except OSError as error:
        log.warning("cannot notify systemd at %s: %s", address, error)
        return False
    return True
