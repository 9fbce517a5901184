"""What the scheduler would do, on request: ``GET /api/v1/what-if`` and ``GET /api/v1/scores``.

``what-if`` imagines one failure on the live cluster (a resource's monitor
failing on a node, a node lost, a node put in standby) and answers with the
plan the scheduler would make from it: the summary, every action with the
meta its agent would be given (``stop_reason``, ``stop_final``,
``recoveries_left``, ...) and the order between them.  The failure is
imagined by the simulator (:mod:`vigil.simulator.what_if`), which the
daemon hands in (the API sits below the simulator): nothing is written.

``scores`` answers where each primitive may run and how much each node
weighs for it, as the scheduler weighed them when it placed it now (the
node scores ``crm_simulate -s`` prints as allocation scores).

Both are reads: no token, nothing changed, nothing that shows a parameter.
The cluster is read as the controller plans it: in a cluster, with quorum
from the membership.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from fastapi import APIRouter, Query

from vigil.admin.commands import Admin
from vigil.admin.errors import AdminError
from vigil.admin.tree import find_resource
from vigil.model.cluster import Cluster
from vigil.model.membership import as_planned
from vigil.model.resources import instance_base
from vigil.model.scores import format_score
from vigil.output.graph import graph_document
from vigil.scheduler import run_stages, schedule


class WhatIfUnavailable(AdminError):
    http_status = 503


class Imagined(Protocol):
    @property
    def cluster(self) -> Cluster: ...

    @property
    def description(self) -> str: ...

    @property
    def notes(self) -> tuple[str, ...]: ...


class FailureImaginer(Protocol):
    """:func:`vigil.simulator.what_if.imagine`: the cluster after one imagined failure."""

    def __call__(self, cluster: Cluster, kind: str, node: str, resource: str | None, operation: str | None,
                 now: int, members: Mapping[str, int] | None = None) -> Imagined: ...


async def planned_cluster(admin: Admin) -> tuple[Cluster, int, Mapping[str, int] | None]:
    """The cluster as the controller plans it now, its store revision, and the membership (None on
    one machine)."""
    snapshot = await admin.store.snapshot()
    if not admin.store.capabilities.multi_node:
        return snapshot.cluster, snapshot.revision, None
    leader = await admin.store.leader()
    members = {**await admin.store.members(), admin.node: 0}  # this node answers: alive
    cluster = as_planned(snapshot.cluster, members, leader.holder if leader else admin.node)
    return cluster, snapshot.revision, members


def node_scores(cluster: Cluster, now: int, resource: str | None) -> list[dict[str, Any]]:
    """Each primitive (clone instances apart) under ``resource`` (every one without), with the node
    it is placed on and every node's score for it, highest first."""
    wanted = None if resource is None else {p.id for p in find_resource(cluster.config, resource).primitives}
    run = run_stages(cluster, now)
    found = []
    for rsc in run.work.rscs.values():
        if wanted is not None and instance_base(rsc.id) not in wanted:
            continue
        ranked = sorted(rsc.allowed.items(), key=lambda item: (-item[1], item[0]))
        found.append({"resource": rsc.id, "assigned": rsc.assigned,
                      "scores": [{"node": node, "score": format_score(score)} for node, score in ranked]})
    return found


def what_if_routes(admin: Admin, imaginer: FailureImaginer | None) -> APIRouter:
    router = APIRouter(tags=["status"])

    @router.get("/api/v1/what-if", summary="The plan the scheduler would make after an imagined failure, "
                "each action with its stop context; nothing is changed",
                responses={503: {"description": "This vigil does not offer it"}})
    async def what_if(kind: Literal["monitor", "node-lost", "standby"], node: str,
                      resource: str | None = None, operation: str | None = None) -> dict[str, Any]:
        if imaginer is None:
            raise WhatIfUnavailable("this vigil does not offer what-if (it is not run by vigil run)")
        cluster, revision, members = await planned_cluster(admin)
        now = int(admin.clock())
        imagined = await asyncio.to_thread(imaginer, cluster, kind, node, resource, operation, now, members)
        transition = await asyncio.to_thread(schedule, imagined.cluster, now)
        graph = graph_document(transition)
        return {"kind": kind, "node": node, "resource": resource, "operation": operation,
                "description": imagined.description, "now": now, "revision": revision,
                "summary": [line.render().removeprefix("* ") for line in transition.summary],
                "actions": graph["actions"], "order": graph["order"],
                "notes": [*imagined.notes, *transition.notes]}

    @router.get("/api/v1/scores", summary="Each primitive's node scores as the scheduler placed it now "
                "(crm_simulate -s allocation scores)")
    async def scores(resource: str | None = Query(default=None, description="A resource (its "
                                                  "primitives); default: every one")) -> list[dict[str, Any]]:
        cluster, _, _ = await planned_cluster(admin)
        return await asyncio.to_thread(node_scores, cluster, int(admin.clock()), resource)

    return router
