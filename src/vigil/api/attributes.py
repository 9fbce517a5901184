"""Node attributes, utilization and cluster options: what ``crm_attribute`` and ``attrd_updater`` do.

- ``/nodes/{node}/attributes[/{name}]``: transient (``lifetime=reboot``, the
  default) or permanent (``forever``) node attributes; a transient update
  may carry a ``delay`` (attrd's dampening, :class:`~vigil.admin.attributes.DelayedWrites`);
- ``/attributes/{name}``: one transient attribute on every node (``attrd_updater -A``);
- ``/nodes/{node}/utilization[/{name}]``, ``/resources/{rsc}/utilization[/{name}]``;
- ``/options/{name}``: cluster options (``crm_attribute --type crm_config``).

A read of one attribute answers ``value: null`` when it is not set (the node
exists), so a tool can tell "not set" from "no such node" (404).  Reads need
no token; changes do.  The attribute name is the last part of the path and
may hold any character but a control one (``#health-cpu``, percent-encoded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from fastapi import APIRouter
from fastapi.params import Depends
from pydantic import BaseModel, ConfigDict, Field

from vigil.admin import attributes
from vigil.admin.attributes import DelayedWrites
from vigil.admin.commands import Admin, CommandResult
from vigil.admin.errors import AdminError
from vigil.api.auth import changing
from vigil.model.isodate import parse_interval_ms

Lifetime = Literal["reboot", "forever"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttributeUpdate(_Body):
    value: str = Field(description="The new value.")
    lifetime: Lifetime = Field(default="reboot", description="reboot: transient, cleared when the node "
                               "leaves; forever: permanent, in the configuration.")
    delay: str | None = Field(default=None, description="Transient only: write after the value stayed the "
                              "same this long (attrd's dampening: 5, 5s, 1m, 500ms); none: the delay the "
                              "attribute was last given, else at once.")


class ValueUpdate(_Body):
    value: str


class OptionUpdate(_Body):
    value: str
    set: str | None = Field(default=None, description="The id of the set of options to write in "
                            "(crm_attribute --set-name); created if needed.")


class AttributeValue(BaseModel):
    node: str
    name: str
    lifetime: Lifetime
    # What attrd would answer: a value held by the dampening, else the stored one; None: not set.
    value: str | None
    # The value in the store (what the scheduler sees).
    stored: str | None
    held: bool = False


class NodeAttributes(BaseModel):
    node: str
    lifetime: Lifetime | None
    attributes: dict[str, str]


class AttributeOnNodes(BaseModel):
    name: str
    # node -> value, as attrd would answer (held values included).
    values: dict[str, str]


class Utilization(BaseModel):
    name: str
    utilization: dict[str, str]


class OptionValue(BaseModel):
    name: str
    set: str | None
    value: str | None


def delay_seconds(text: str | None) -> float | None:
    """attrd_updater's ``--delay``: seconds, or a Pacemaker duration (``5s``, ``1m``, ``500ms``)."""
    if text is None or not text.strip():
        return None
    try:
        return parse_interval_ms(text) / 1000
    except ValueError as error:
        raise AdminError(f"the delay {text!r} is not a duration: {error}") from None


def attribute_routes(admin: Admin, auth: Sequence[Depends], delayed: DelayedWrites) -> APIRouter:
    router = APIRouter(tags=["attributes"])
    changes = changing(auth)

    @router.get("/nodes/{node}/attributes", summary="A node's attributes: transient (reboot), permanent "
                "(forever), or both as rules see them (no lifetime)")
    async def list_attributes(node: str, lifetime: Lifetime | None = None) -> NodeAttributes:
        found = await attributes.node_attributes(admin, node, lifetime)
        return NodeAttributes(node=node, lifetime=lifetime, attributes=found)

    @router.get("/nodes/{node}/attributes/{name:path}", summary="One node attribute (value null: not set)")
    async def get_attribute(node: str, name: str, lifetime: Lifetime = "reboot") -> AttributeValue:
        stored = await attributes.get_node_attribute(admin, node, name, lifetime)
        held, value = delayed.held(node, name) if lifetime == "reboot" else (False, None)
        return AttributeValue(node=node, name=name, lifetime=lifetime, value=value if held else stored,
                              stored=stored, held=held)

    @router.put("/nodes/{node}/attributes/{name:path}", summary="Set a node attribute (crm_attribute -N "
                "-n -v; attrd_updater -n -U [-d])", **changes)
    async def put_attribute(node: str, name: str, body: AttributeUpdate) -> CommandResult:
        if body.lifetime == "forever":
            if body.delay is not None:
                raise AdminError("a delay (dampening) applies to transient attributes only (lifetime reboot)")
            return await attributes.set_node_attribute(admin, node, name, body.value, "forever")
        return await delayed.update(node, name, body.value, delay_seconds(body.delay))

    @router.delete("/nodes/{node}/attributes/{name:path}", summary="Remove a node attribute (crm_attribute "
                   "-D; attrd_updater -D [-d])", **changes)
    async def delete_attribute(node: str, name: str, lifetime: Lifetime = "reboot",
                               delay: str | None = None) -> CommandResult:
        if lifetime == "forever":
            return await attributes.delete_node_attribute(admin, node, name, "forever")
        return await delayed.update(node, name, None, delay_seconds(delay))

    @router.get("/attributes/{name:path}", summary="A transient attribute on every node that has it "
                "(attrd_updater -Q -A)")
    async def attribute_on_nodes(name: str) -> AttributeOnNodes:
        values = await attributes.all_nodes_attribute(admin, name)
        for node in list(values) + [n for n, _ in delayed.held_names(name) if n not in values]:
            held, value = delayed.held(node, name)
            if held and value is None:
                values.pop(node, None)
            elif held and value is not None:
                values[node] = value
        return AttributeOnNodes(name=name, values=dict(sorted(values.items())))

    @router.get("/nodes/{node}/utilization", tags=["utilization"], summary="A node's utilization (capacity)")
    async def node_utilization(node: str) -> Utilization:
        return Utilization(name=node, utilization=await attributes.node_utilization(admin, node))

    @router.put("/nodes/{node}/utilization/{name:path}", tags=["utilization"],
                summary="Set a node's capacity (crm_attribute -z -N -n -v)", **changes)
    async def put_node_utilization(node: str, name: str, body: ValueUpdate) -> CommandResult:
        return await attributes.set_node_utilization(admin, node, name, body.value)

    @router.delete("/nodes/{node}/utilization/{name:path}", tags=["utilization"],
                   summary="Remove a node's capacity (crm_attribute -z -N -n -D)", **changes)
    async def delete_node_utilization(node: str, name: str) -> CommandResult:
        return await attributes.set_node_utilization(admin, node, name, None)

    @router.get("/resources/{rsc}/utilization", tags=["utilization"], summary="A primitive's utilization")
    async def resource_utilization(rsc: str) -> Utilization:
        return Utilization(name=rsc, utilization=await attributes.resource_utilization(admin, rsc))

    @router.put("/resources/{rsc}/utilization/{name:path}", tags=["utilization"],
                summary="Set what a primitive uses (crm_resource -z -r -p -v)", **changes)
    async def put_resource_utilization(rsc: str, name: str, body: ValueUpdate) -> CommandResult:
        return await attributes.set_resource_utilization(admin, rsc, name, body.value)

    @router.delete("/resources/{rsc}/utilization/{name:path}", tags=["utilization"],
                   summary="Remove what a primitive uses (crm_resource -z -r -d)", **changes)
    async def delete_resource_utilization(rsc: str, name: str) -> CommandResult:
        return await attributes.set_resource_utilization(admin, rsc, name, None)

    @router.get("/options/{name:path}", tags=["options"], summary="A cluster option as configured "
                "(value null: not set; crm_attribute -t crm_config -G)")
    async def get_option(name: str, set: str | None = None) -> OptionValue:
        return OptionValue(name=name, set=set, value=await attributes.get_cluster_option(admin, name, set))

    @router.put("/options/{name:path}", tags=["options"], summary="Set a cluster option "
                "(crm_attribute -t crm_config -n -v)", **changes)
    async def put_option(name: str, body: OptionUpdate) -> CommandResult:
        return await attributes.set_cluster_option(admin, name, body.value, body.set)

    @router.delete("/options/{name:path}", tags=["options"], summary="Remove a cluster option "
                   "(crm_attribute -t crm_config -n -D)", **changes)
    async def delete_option(name: str, set: str | None = None) -> CommandResult:
        return await attributes.set_cluster_option(admin, name, None, set)

    return router
