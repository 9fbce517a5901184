"""Reaching etcd: the URL, its members, the gRPC channel's options, and gRPC's errors in people's words.

Shared by the store and its leases: both talk to the same members, move to
another member the same way when one is silent (docs/reliability.md, F6), and
report a failure the same way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import unquote

from vigil.store.base import StoreError

try:  # the optional extra: ``pip install vigil[etcd]``
    import grpc
    from aetcd import rpc
except ImportError:  # pragma: no cover - depends on the installation
    grpc = None
    rpc = None

DEFAULT_CLUSTER = "default"
CALL_TIMEOUT_S = 10.0
# A read waits this long on one member before another member is asked (docs/reliability.md F6):
# a frozen member (SIGSTOP, a stalled disk) keeps its TCP connection open, and gRPC would wait on
# it until its keepalive gives up, up to 7 s, more than a node's 3 s lease.
READ_TRY_S = 2.0
# The measured settings that turn a silent cut into an error in ~7 s (etcd.md), and room for big pages.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 5000),
    ("grpc.keepalive_timeout_ms", 2000),
    ("grpc.http2.ping_timeout_ms", 2000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
)


def require_client() -> None:
    if rpc is None:
        raise StoreError(
            "the etcd store needs the etcd client, which is not installed: pip install 'vigil[etcd]' "
            "(aetcd, grpcio, protobuf)"
        )



# -- URL and endpoints ---------------------------------------------------------------------


def parse_url(url: str) -> tuple[list[tuple[str, int]], str, dict[str, str]]:
    """``etcd://h:p[,h:p...][/CLUSTER][?compact=0]`` -> (endpoints, cluster name, options)."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    rest, _, query = rest.partition("?")
    hosts, _, path = rest.partition("/")
    cluster = unquote(path.strip("/")) or DEFAULT_CLUSTER
    if "/" in cluster or not cluster:
        raise StoreError(f"invalid store URL {url!r}: the cluster name (after the hosts) is one word")
    endpoints: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise StoreError(
                f"invalid store URL {url!r}: write etcd://HOST:PORT[,HOST:PORT...][/CLUSTER]"
            )
        endpoints.append((host.strip("[]"), int(port)))
    options: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        name, _, value = pair.partition("=")
        if name not in ("compact",):
            raise StoreError(f"invalid store URL {url!r}: unknown option {name!r} (known: compact)")
        options[name] = value
    return endpoints, cluster, options


def member_count(target: str) -> int:
    """How many members a gRPC target names."""
    return len(target.removeprefix("ipv4:").split(",")) if target.startswith("ipv4:") else 1


def rotated_target(target: str, shift: int) -> str:
    """``target`` with its addresses rotated by ``shift`` (pick_first tries another member first)."""
    if not target.startswith("ipv4:"):
        return target
    addresses = target.removeprefix("ipv4:").split(",")
    shift %= len(addresses)
    return "ipv4:" + ",".join(addresses[shift:] + addresses[:shift])


def channel_target(endpoints: Sequence[tuple[str, int]]) -> str:
    """A gRPC target: one ``host:port``, or ``ipv4:a:p,b:p`` (pick_first over all) for several."""
    if len(endpoints) == 1:
        host, port = endpoints[0]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    addresses: list[str] = []
    for host, port in endpoints:
        try:
            ipaddress.IPv4Address(host)
            addresses.append(f"{host}:{port}")
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
            except OSError as error:
                raise StoreError(f"cannot resolve the etcd endpoint {host}: {error}") from None
            addresses.extend(f"{info[4][0]}:{port}" for info in infos[:1])
    return "ipv4:" + ",".join(addresses)


class MemberSilent(StoreError):
    """The etcd member the channel used did not answer: the channel now asks another one."""


def grpc_error(error: BaseException, target: str, doing: str) -> StoreError:
    """A gRPC failure as a message for people."""
    if grpc is not None and isinstance(error, grpc.aio.AioRpcError):
        details = error.details() or ""
        if "request is too large" in details:
            return StoreError(
                f"etcd at {target} refused a request as too large while it was {doing} ({details}); "
                "raise the server's --max-request-bytes or store less"
            )
        code = error.code()
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return StoreError(f"cannot reach etcd at {target} while {doing}: {code.name}: {details}")
        return StoreError(f"etcd at {target} failed while {doing}: {code.name}: {details}")
    return StoreError(f"etcd at {target}: {doing} failed: {error}")


def is_compacted(error: BaseException) -> bool:
    return (
        grpc is not None
        and isinstance(error, grpc.aio.AioRpcError)
        and error.code() == grpc.StatusCode.OUT_OF_RANGE
        and "compacted" in (error.details() or "")
    )


class Compacted(Exception):
    """The watch's start revision was compacted away: read everything again."""


__all__ = [
    "CALL_TIMEOUT_S",
    "CHANNEL_OPTIONS",
    "DEFAULT_CLUSTER",
    "READ_TRY_S",
    "Compacted",
    "MemberSilent",
    "channel_target",
    "grpc",
    "grpc_error",
    "is_compacted",
    "member_count",
    "parse_url",
    "require_client",
    "rotated_target",
    "rpc",
]
