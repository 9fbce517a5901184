"""Key names: each name one percent-encoded level, and the end of a prefix's range."""

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
