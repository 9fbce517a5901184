"""How the store writes model values down: the configuration as CIB XML, the rest as JSON.

Shared by every backend that keeps bytes (SQLite now, etcd later), so they
all store the same documents.  Decoding never raises anything but
:class:`StoreError`: a stored value that does not decode is a damaged store.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from vigil.errors import InputError
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.model.activity import TransitionReport
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.status import NodeState, OpRecord, Status, Ticket
from vigil.store.base import FenceEntry, ResourceRef, StoreError, WorkOrder

# NodeState fields kept by set_node_state (the rest have their own methods).
_NODE_FIELDS = tuple(
    f.name for f in dataclasses.fields(NodeState) if f.name not in ("attributes", "resources")
)
_RECORD_FIELDS = frozenset(OpRecord._fields)
_RESOURCE_FIELDS = frozenset(f.name for f in dataclasses.fields(ResourceRef))


def encode_config(config: Config) -> bytes:
    """The configuration as a CIB XML document, checked to load back equal.

    Raises :class:`StoreError` for a configuration the CIB format cannot
    carry faithfully, so nothing is stored that would come back different.
    """
    data = dump_cib(Cluster(config=config, status=Status()))
    if _load_config(data, "the configuration to store") != config:
        raise StoreError(
            "the configuration cannot be stored faithfully: it does not read back equal from CIB XML"
        )
    return data


def decode_config(data: bytes, where: str) -> Config:
    return _load_config(data, where)


def _load_config(data: bytes, where: str) -> Config:
    try:
        cluster, _warnings = load_cib(data, name=where)
    except InputError as error:
        raise StoreError(f"{where}: the stored configuration is damaged: {error}") from None
    return cluster.config


def check_node_state(state: NodeState) -> None:
    if state.attributes or state.resources:
        raise ValueError(
            "set_node_state keeps membership fields only: "
            "write attributes with set_node_attribute and history with record_operation"
        )


def encode_node(state: NodeState) -> str:
    """The membership fields of ``state`` (all but attributes and resources) as JSON."""
    check_node_state(state)
    fields: dict[str, Any] = {name: getattr(state, name) for name in _NODE_FIELDS}
    fields["extra_attributes"] = [list(pair) for pair in state.extra_attributes]
    fields["utilization"] = [list(pair) for pair in state.utilization]
    return json.dumps(fields, sort_keys=True)


def decode_node(text: str, where: str) -> NodeState:
    fields = _object(text, where)
    try:
        for pairs in ("extra_attributes", "utilization"):
            fields[pairs] = tuple((str(name), str(value)) for name, value in fields.get(pairs, ()))
        return NodeState(**fields)
    except (TypeError, ValueError):
        raise StoreError(f"{where}: the stored node state is damaged") from None


def encode_ticket(ticket: Ticket) -> str:
    """A ticket's state as JSON (its id is the key's)."""
    return json.dumps({"granted": ticket.granted, "standby": ticket.standby,
                       "last_granted": ticket.last_granted}, sort_keys=True)


def decode_ticket(ticket_id: str, text: str, where: str) -> Ticket:
    fields = _object(text, where)
    granted, standby, last_granted = fields.get("granted"), fields.get("standby"), fields.get("last_granted")
    if not (isinstance(granted, bool) and isinstance(standby, bool)
            and (last_granted is None or type(last_granted) is int)):
        raise StoreError(f"{where}: the stored state of ticket {ticket_id!r} is damaged")
    return Ticket(id=ticket_id, granted=granted, standby=standby, last_granted=last_granted)


def encode_record(record: OpRecord) -> str:
    return json.dumps(record._asdict(), sort_keys=True)


def decode_record(text: str, where: str) -> OpRecord:
    fields = _object(text, where)
    if not set(fields) <= _RECORD_FIELDS:
        raise StoreError(
            f"{where}: the stored operation record has unknown fields {sorted(set(fields) - _RECORD_FIELDS)}"
        )
    try:
        return OpRecord(**fields)
    except TypeError:
        raise StoreError(f"{where}: the stored operation record is damaged") from None


def encode_resource(resource: ResourceRef) -> str:
    return json.dumps(dataclasses.asdict(resource), sort_keys=True)


def decode_resource(text: str, where: str) -> ResourceRef:
    fields = _object(text, where)
    if not set(fields) <= _RESOURCE_FIELDS:
        raise StoreError(f"{where}: the stored resource has unknown fields")
    try:
        return ResourceRef(**fields)
    except TypeError:
        raise StoreError(f"{where}: the stored resource is damaged") from None


def encode_fence_entry(entry: FenceEntry) -> str:
    """A fence history entry as JSON (its revision is the commit's, not stored)."""
    return json.dumps({k: v for k, v in dataclasses.asdict(entry).items() if k != "revision"}, sort_keys=True)


def decode_fence_entry(text: str, revision: int, where: str) -> FenceEntry:
    fields = _object(text, where)
    try:
        return FenceEntry(target=str(fields["target"]), action=str(fields["action"]),
                          succeeded=bool(fields["succeeded"]), completed=int(fields["completed"]),
                          executioner=str(fields.get("executioner", "")),
                          origin=str(fields.get("origin", "")),
                          client=str(fields.get("client", "")), device=str(fields.get("device", "")),
                          revision=revision)
    except (KeyError, TypeError, ValueError):
        raise StoreError(f"{where}: a fencing entry is damaged") from None


def encode_work_order(order: WorkOrder) -> str:
    """A work order as JSON (its revision is the commit's, not stored)."""
    return json.dumps({k: v for k, v in dataclasses.asdict(order).items() if k != "revision"}, sort_keys=True)


def decode_work_order(text: str, revision: int, where: str) -> WorkOrder:
    fields = _object(text, where)
    try:
        return WorkOrder(node=str(fields["node"]), id=str(fields["id"]), term=int(fields["term"]),
                         action=str(fields["action"]), state=str(fields["state"]),
                         incarnation=int(fields.get("incarnation", 0)), result=str(fields.get("result", "")),
                         revision=revision)
    except (KeyError, TypeError, ValueError):
        raise StoreError(f"{where}: a work order is damaged") from None


def encode_transition_report(report: TransitionReport) -> str:
    """A transition report as JSON (its term is the key's, not stored)."""
    return json.dumps(dataclasses.asdict(report), sort_keys=True)


def decode_transition_report(text: str, where: str) -> TransitionReport:
    fields = _object(text, where)
    try:
        finished = fields.get("finished")
        summary = fields.get("summary", [])
        if not isinstance(summary, list):
            raise TypeError("summary")
        return TransitionReport(number=int(fields["number"]), started=float(fields["started"]),
                                summary=tuple(str(line) for line in summary), actions=int(fields["actions"]),
                                trigger=str(fields["trigger"]),
                                finished=None if finished is None else float(finished),
                                outcome=str(fields["outcome"]),
                                graph=graph if isinstance(graph := fields.get("graph"), str) else None)
    except (KeyError, TypeError, ValueError):
        raise StoreError(f"{where}: a transition report is damaged") from None


def _object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise StoreError(f"{where}: a stored value is not valid JSON") from None
    if not isinstance(value, dict):
        raise StoreError(f"{where}: a stored value is not a JSON object")
    return value
