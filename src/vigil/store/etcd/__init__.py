"""The etcd store (``etcd://HOST:PORT[,HOST:PORT...][/CLUSTER]``): one cluster on many machines.

etcd is a real consensus store; vigil only maps its contract onto it
(docs/store.md has the reasoning, ../shared/reference/etcd.md the measured
facts about clients and servers this design follows).

Client
    aetcd's generated gRPC stubs (``pip install vigil[etcd]``), called
    directly: vigil needs paged ranges at a fixed revision, its own watch
    loop and raw transactions, which aetcd's convenience layer does not
    offer.  The channel carries the keepalive options measured in etcd.md
    (a silent cut is noticed in about 7 s instead of never) and pick_first
    over every endpoint given (``ipv4:a:p,b:p``), so one dead member costs
    one retry.  All of the store's work runs on a private thread with its
    own event loop: a gRPC channel belongs to one loop, and the store's
    callers come from several (each ``asyncio.run`` of the CLI, worker
    threads), so every public method hands its work to that thread.

Key layout (under ``/vigil/CLUSTER/``)
    ``d/head``                     put by every write: its mod revision is the
                                   last commit of this cluster's data
    ``d/config/meta``              {sha, chunks, size}: its mod revision is the
                                   config revision (what put_config compares)
    ``d/config/blob/SHA/NNNN``     the CIB XML, zlib-compressed, in chunks
    ``d/s/NODE/n``                 membership fields (JSON)
    ``d/s/NODE/a/NAME``            one transient attribute
    ``d/s/NODE/h/RSC``             ``<lrm_resource>`` fields (JSON); ``h`` sorts
                                   before ``o``, so a paged read meets a
                                   history before its records
    ``d/s/NODE/o/RSC/OPID``        one operation record (JSON)
    ``d/t/TICKET``                 a ticket's state at this site (JSON)
    ``d/fence/ID``                 one fence history entry; its create revision is the
                                   commit that recorded it
    ``d/log/ID``                   one operation log entry; its create revision
                                   is the commit that recorded it
    ``c/members/NODE``             a node's membership key, on its lease
    ``c/leader``                   the leader key, on the leader's lease
    ``r/TERM/NUMBER``              one transition report (JSON), both numbers zero-padded
                                   to 20 digits so key order is (term, number) order; outside
                                   ``d/``: not data, so the data watch (and every waiter it
                                   wakes) never sees it, and ``d/head`` does not move
    Names are percent-encoded, so a ``/`` in a name cannot escape its level.

Revisions
    The store revision is etcd's revision (every write is one transaction,
    so one revision).  A snapshot is exact as of one revision: the cache
    (below) is brought up to at least ``d/head``'s mod revision as read
    linearizably at the start, and no data of this cluster changes between
    that commit and any later revision without moving ``d/head``.

The watch-fed cache
    The first read loads every ``d/`` key in pages of :data:`PAGE_KEYS` at
    one fixed revision (so a 55 MB status never travels as one message),
    then a watch from that revision + 1 applies each event to per-node
    tables (:mod:`vigil.store.state`).  A snapshot rebuilds only what the
    events touched, sharing every other object with the previous snapshot.
    The watch resumes from the last applied revision + 1 after a cut; when
    etcd says that revision was compacted, the cache is read again whole
    (and still shares the objects that did not change).

Large configurations
    The configuration is compressed; when it is larger than
    :data:`INLINE_MAX` it is written in chunks first (each its own
    transaction, under a name derived from its content, so invisible until
    referenced) and then published by ONE transaction that compares the
    config revision (and the guard), points ``d/config/meta`` at the chunks
    and deletes the previous ones.  So the compare-and-set still decides
    alone, and no request comes near etcd's 1.5 MiB limit.

History
    etcd keeps every old revision until compacted, and monitor churn writes
    all the time, so the 2 GiB quota fills unless history is bounded.  The
    store compacts every :data:`COMPACT_INTERVAL_S` seconds to
    ``current - COMPACT_KEEP`` revisions (``?compact=0`` in the URL turns it
    off, for a server run with ``--auto-compaction-mode revision
    --auto-compaction-retention N``).  The operation log is pruned to
    :data:`~vigil.store.base.LOG_RETENTION` entries by the writes themselves.
"""

from vigil.store.etcd.channel import (
           DEFAULT_CLUSTER,
           READ_TRY_S,
           channel_target,
           member_count,
           parse_url,
           rotated_target,
)
from vigil.store.etcd.keys import prefix_end
from vigil.store.etcd.lease import EtcdLease
from vigil.store.etcd.store import EtcdStore

__all__ = [
    "DEFAULT_CLUSTER",
    "READ_TRY_S",
    "EtcdLease",
    "EtcdStore",
    "channel_target",
    "member_count",
    "parse_url",
    "prefix_end",
    "rotated_target",
]
