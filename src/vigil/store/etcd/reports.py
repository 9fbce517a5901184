"""The etcd store's transition reports: one key per report under ``r/``, outside the data.

Its own module because reports are not the cluster's state: they live
outside ``d/``, so writing one moves no revision the data watch sees and
wakes no waiter; only the newest are kept (:func:`~vigil.store.base.kept_report_keys`).
"""

from __future__ import annotations

from vigil.model.activity import TransitionReport
from vigil.store.base import check_report_key, kept_report_keys
from vigil.store.codec import decode_transition_report, encode_transition_report
from vigil.store.coord import Guard
from vigil.store.etcd.channel import rpc
from vigil.store.etcd.client import EtcdClient, delete_op, put_op
from vigil.store.etcd.coordination import EtcdCoordination
from vigil.store.etcd.keys import KeyLayout, prefix_end


class EtcdTransitionReports:
    """The store's transition reports, written under the writer's guard."""

    def __init__(self, client: EtcdClient, keys: KeyLayout, coordination: EtcdCoordination, url: str) -> None:
        self._client = client
        self._keys = keys
        self._coordination = coordination
        self.url = url

    def _report_key(self, term: int, number: int) -> bytes:
        return self._keys.reports + b"%020d/%020d" % (term, number)

    def _report_id(self, key: bytes) -> tuple[int, int] | None:
        """(term, number) of a report key; None for a key that is not one (left alone)."""
        term, _, number = key[len(self._keys.reports):].partition(b"/")
        return (int(term), int(number)) if term.isdigit() and number.isdigit() else None

    async def put_transition_report(
        self, report: TransitionReport, *, term: int, guard: Guard | None = None
    ) -> None:
        check_report_key(report, term, guard)
        text = encode_transition_report(report).encode()
        key = self._report_key(term, report.number)

        async def work() -> None:
            found = await self._client.range(self._keys.reports, prefix_end(self._keys.reports),
                                             keys_only=True)
            present = {ident: bytes(kv.key) for kv in found.kvs
                       if (ident := self._report_id(bytes(kv.key))) is not None}
            kept = kept_report_keys([*present, (term, report.number)])
            if (term, report.number) not in kept:
                await self._coordination.check_guard(guard)  # older than every kept one: nothing to keep
                return
            doomed = [delete_op(k) for ident, k in sorted(present.items()) if ident not in kept]
            # No d/head put: a report is not data, and no notification either.
            response = await self._client.txn([*self._coordination.guard_compares(guard)],
                                              [put_op(key, text), *doomed],
                                              self._coordination.guard_failure(guard))
            if not response.succeeded:
                self._coordination.check_guard_response(guard, response)

        await self._client.run("writing a transition report", work)

    async def transition_reports(self, limit: int = 20) -> list[TransitionReport]:
        async def work() -> list[TransitionReport]:
            if limit <= 0:
                return []
            found = await self._client.range(self._keys.reports, prefix_end(self._keys.reports),
                                             sort_order=rpc.RangeRequest.DESCEND,
                                             sort_target=rpc.RangeRequest.KEY, limit=limit)
            where = f"{self.url} transition report"
            return [decode_transition_report(bytes(kv.value).decode(), where) for kv in reversed(found.kvs)
                    if self._report_id(bytes(kv.key)) is not None]

        return await self._client.run("reading the transition reports", work, read=True)
