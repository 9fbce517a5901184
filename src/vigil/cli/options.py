"""Options shared by the commands that talk to the daemon (light: no HTTP client imported)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def store_option(function: F) -> F:
    """``--store URL``: the store to open when no vigil runs ($VIGIL_STORE, else the recorded one)."""
    option = click.option("--store", "store", default=None, metavar="URL",
                          help="Without a running vigil: the store to open (sqlite:///PATH or "
                               "etcd://HOST:PORT[,...][/CLUSTER]); default: $VIGIL_STORE, else the one the "
                               "state directory recorded, else the SQLite store in it.")
    return option(function)


def state_dir_option(function: F) -> F:
    """``--state-dir DIR``: where to find the daemon (default: $VIGIL_STATE_DIR, else the default)."""
    option = click.option("--state-dir", default=None, metavar="DIR",
                          help="The state directory of the vigil to talk to (default: $VIGIL_STATE_DIR, "
                               "else /var/lib/vigil for root, ~/.local/state/vigil for others).")
    return option(function)
