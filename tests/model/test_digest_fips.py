"""The operation digest never asks for MD5 "for security" (issue 17, item 8).

Pacemaker's digests are checksums.  A Python in FIPS mode refuses MD5 unless
it is asked with ``usedforsecurity=False``; the digest asks so, and stays
the digest Pacemaker computes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from vigil.model import digests


def fips_md5(data: bytes = b"", **options: Any) -> Any:
    """MD5 as a FIPS-mode Python gives it: refused unless not used for security."""
    if options.get("usedforsecurity", True):
        raise ValueError("[digital envelope routines] unsupported: MD5 is not allowed in FIPS mode")
    return hashlib.md5(data, usedforsecurity=False)


def test_the_digest_is_computed_where_md5_for_security_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"ip": "10.0.0.1", "cidr_netmask": "24"}
    monkeypatch.setattr(digests, "md5", fips_md5)
    # md5 of ' <parameters cidr_netmask="24" ip="10.0.0.1"/>\n', as Pacemaker hashes it.
    assert digests.digest(params) == "a6571b2ad1ff515af51b98503225ba48"
