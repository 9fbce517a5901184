"""What Pacemaker's other agent-facing tools ask: ``crm_node``, ``cibadmin``, ``crm_resource --ban``,
``stonith_admin --list`` and ``--history``.

Each reads one snapshot of the store, with the membership as the controller
plans it on a cluster (quorum from the live members), so an agent sees what
``vigil status`` shows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vigil.admin import commands
from vigil.admin.commands import Admin, CommandResult
from vigil.admin.tree import find_resource
from vigil.fencing.agent import FenceDevice, host_list, host_map
from vigil.fencing.fencer import fence_devices
from vigil.formats.cib.dump import dump_cib
from vigil.model.cluster import Cluster
from vigil.model.membership import as_planned, recorded_online
from vigil.model.resources import instance_base
from vigil.store.base import FenceEntry, Snapshot


@dataclass(frozen=True)
class MemberInfo:
    """One node as ``crm_node --list`` shows it: its id, its name, whether it is a member now."""

    id: str
    name: str
    member: bool


@dataclass(frozen=True)
class Membership:
    """``crm_node``'s answers: this node (name and id), quorum, and every node known."""

    node: str
    node_id: str
    have_quorum: bool
    nodes: tuple[MemberInfo, ...]


async def planned_cluster(admin: Admin) -> tuple[Snapshot, Cluster]:
    """One snapshot, and its cluster with quorum and DC as the controller plans them."""
    snapshot = await admin.store.snapshot()
    cluster = snapshot.cluster
    if admin.store.capabilities.multi_node:
        leader = await admin.store.leader()
        members = {**await admin.store.members(), admin.node: 0}  # this node answers: it is alive
        cluster = as_planned(cluster, members, leader.holder if leader else admin.node)
    return snapshot, cluster


async def membership(admin: Admin) -> Membership:
    """Every node configured or recorded, member or not (``crm_node -l``), and quorum (``-q``)."""
    _, cluster = await planned_cluster(admin)
    ids = {node.uname: node.id for node in cluster.config.nodes}
    online = {state.uname for state in cluster.status.nodes if recorded_online(state)}
    for state in cluster.status.nodes:
        ids.setdefault(state.uname, state.id)
    nodes = tuple(MemberInfo(id=node_id, name=name, member=name in online) for name, node_id in ids.items())
    return Membership(node=admin.node, node_id=ids.get(admin.node, admin.node),
                      have_quorum=cluster.status.have_quorum, nodes=nodes)


async def cib_with_status(admin: Admin) -> str:
    """The whole CIB, status included (``cibadmin --query``): ``epoch`` the configuration's revision,
    ``num_updates`` the store's."""
    snapshot, cluster = await planned_cluster(admin)
    kept = tuple((key, value) for key, value in cluster.cib_attributes if key not in ("epoch", "num_updates"))
    epoch = str(max(1, snapshot.config_revision))
    counted = (*kept, ("epoch", epoch), ("num_updates", str(snapshot.revision)))
    return dump_cib(dataclasses.replace(cluster, cib_attributes=counted)).decode()


async def ban(admin: Admin, rsc: str, node: str | None) -> CommandResult:
    """``crm_resource --ban --resource RSC --node NODE``, as an agent asks it of its own resource.

    An agent names its own primitive (``OCF_RESOURCE_INSTANCE``, ``rsc:N`` for
    a unique clone's instance); inside a clone, the clone is what a location
    constraint keeps off the node, so the clone is banned.  Without ``node``: where it runs.
    """
    config, _ = await admin.store.get_config()
    found = find_resource(config, instance_base(rsc))
    clone = found.clone
    return await commands.ban(admin, clone.id if clone is not None else found.resource.id, node)


def may_fence(device: FenceDevice, target: str) -> bool:
    """Whether ``device`` may fence ``target`` as far as its configuration says.

    A device naming its hosts (``pcmk_host_list``, ``pcmk_host_map``) fences
    those; one naming none, or with ``pcmk_host_check`` other than
    ``static-list``, is asked at fencing time (its agent's ``list`` or
    ``status``), so it is counted here.
    """
    params = device.params_dict
    check = params.get("pcmk_host_check", "").lower()
    named = "pcmk_host_list" in params or "pcmk_host_map" in params
    if check == "static-list" or (not check and named):
        return target in host_list(device) or target in host_map(device)
    return True


async def fence_devices_for(admin: Admin, target: str) -> list[str]:
    """The fence devices that may fence ``target`` (``stonith_admin --list TARGET``)."""
    config, _ = await admin.store.get_config()
    return [device.id for device in fence_devices(config, int(admin.clock())) if may_fence(device, target)]


async def fence_history(admin: Admin, target: str | None) -> list[FenceEntry]:
    """The fence history of ``target`` (None: every node), oldest first."""
    return await admin.store.fence_history(target)
