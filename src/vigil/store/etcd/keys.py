"""Key names: each name one percent-encoded level, the end of a prefix's range, and one cluster's prefixes."""

from __future__ import annotations

from urllib.parse import quote, unquote


def key_part(name: str) -> bytes:
    """``name`` as one level of a key: a ``/`` in it cannot escape its level."""
    return quote(name, safe="").encode()


def name_of(part: bytes) -> str:
    """The name one level of a key stands for."""
    text = part.decode()
    return unquote(text) if "%" in text else text  # most names need no decoding: spare the call


def prefix_end(prefix: bytes) -> bytes:
    """The end of the key range of everything starting with ``prefix``."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


class KeyLayout:
    """Every key prefix of one cluster (``/vigil/CLUSTER/``), as the package docstring lays them out."""

    def __init__(self, cluster: str) -> None:
        root = b"/vigil/" + key_part(cluster) + b"/"
        self.data = root + b"d/"
        self.head = self.data + b"head"
        self.meta = self.data + b"config/meta"
        self.blob = self.data + b"config/blob/"
        self.status = self.data + b"s/"
        self.log = self.data + b"log/"
        self.fences = self.data + b"fence/"
        # Work orders: under d/ so the data watch wakes their readers; the cache skips them.
        self.orders = self.data + b"w/"
        self.tickets = self.data + b"t/"
        self.coord = root + b"c/"
        # Transition reports: outside d/, so writing one wakes no watcher (see the key layout).
        self.reports = root + b"r/"

    def node_prefix(self, node: str) -> bytes:
        return self.status + key_part(node) + b"/"
