"""Publishing the controller's transition reports to the store, for `vigil status` on any node.

The controller keeps its reports in memory too; the store's copy is what
every node's status shows, and what survives a takeover.  A report is
information, not state: one that cannot be stored is logged and dropped,
so a failing store never stops or delays the controller's real work for
long.  A lost term is different: it says this controller was deposed, and
the caller must stop acting, so :class:`~vigil.store.coord.GuardLost`
passes through.
"""

from __future__ import annotations

import asyncio
import logging

from vigil.model.activity import TransitionReport
from vigil.store.base import Store, StoreError
from vigil.store.coord import Guard, GuardLost

log = logging.getLogger(__name__)

# How long a report may take to store before the controller goes on without it (seconds): a
# store that hangs must not hold a transition for etcd's whole call timeout.
REPORT_TIMEOUT_S = 3.0


async def publish_report(store: Store, report: TransitionReport, term: Guard | None,
                         *, timeout: float = REPORT_TIMEOUT_S) -> None:
    """Store ``report`` (as it is now) under ``term`` (term 0 and no guard on a single node).

    Raises :class:`GuardLost` when ``term`` no longer holds; any other store
    failure, or a store slower than ``timeout`` seconds, is logged and the
    report is not stored (the next write of it, or of a later one, may be).
    """
    number = term.revision if term is not None else 0
    try:
        async with asyncio.timeout(timeout):
            await store.put_transition_report(report, term=number, guard=term)
    except GuardLost:
        raise
    except StoreError as error:
        log.warning("transition %d: its report could not be stored (%s); `vigil status` on other "
                    "nodes will not show it", report.number, error)
    except TimeoutError:
        log.warning("transition %d: storing its report took more than %.0f s; going on without it",
                    report.number, timeout)



async def last_report_number(store: Store) -> int:
    """The highest transition number among the stored reports; 0 when there is none.

    A controller numbers its transitions on from here when it starts.  On one
    node this matters: every run writes under term 0, so a restarted
    controller that counted from 1 again would overwrite its predecessor's
    reports, and its new ones would sort before those it did not overwrite.
    In a cluster it keeps the numbers growing across takeovers too (the
    order is by term first anyway).  A store that cannot say is taken as
    holding none (logged): reports are information.
    """
    try:
        async with asyncio.timeout(REPORT_TIMEOUT_S):
            reports = await store.transition_reports()
    except StoreError as error:
        log.warning("cannot read the stored transition reports (%s): numbering transitions from 1", error)
        return 0
    except TimeoutError:
        log.warning("reading the stored transition reports took more than %.0f s: numbering transitions "
                    "from 1", REPORT_TIMEOUT_S)
        return 0
    return max((report.number for report in reports), default=0)
