"""Writing ``<status>``: the inverse of ``status``."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from vigil.formats.cib.reader import Element
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Status, Ticket

FreshId = Callable[[str], str]


def write_status(status: Status, fresh_id: FreshId) -> Element:
    element = etree.Element("status")
    for state in status.nodes:
        _node_state(element, state, fresh_id)
    if status.tickets:
        tickets = etree.SubElement(element, "tickets")
        for ticket in status.tickets:
            _ticket(tickets, ticket)
    return element


def _set_all(element: Element, attributes: dict[str, str | None]) -> None:
    for name, value in attributes.items():
        if value is not None:
            element.set(name, value)


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _node_state(parent: Element, state: NodeState, fresh_id: FreshId) -> None:
    element = etree.SubElement(parent, "node_state", id=state.id, uname=state.uname)
    _set_all(
        element,
        {
            "in_ccm": state.in_ccm,
            "crmd": state.crmd,
            "join": state.join,
            "expected": state.expected,
            "remote_node": "true" if state.is_remote else None,
            "node_fenced": state.node_fenced,
            "node_in_maintenance": state.node_in_maintenance,
        },
    )
    _set_all(element, dict(state.extra_attributes))
    if state.attributes or state.utilization:
        transient = etree.SubElement(element, "transient_attributes", id=state.id)
        for tag, pairs in (("instance_attributes", state.attributes), ("utilization", state.utilization)):
            if not pairs:
                continue
            prefix = "status" if tag == "instance_attributes" else "status-utilization"
            nvset = etree.SubElement(transient, tag, id=fresh_id(f"{prefix}-{state.id}"))
            for name, value in pairs:
                etree.SubElement(
                    nvset, "nvpair", id=fresh_id(f"{prefix}-{state.id}-{name}"), name=name, value=value
                )
    if state.resources:
        lrm = etree.SubElement(element, "lrm", id=state.id)
        resources = etree.SubElement(lrm, "lrm_resources")
        for history in state.resources:
            _lrm_resource(resources, history)


def _lrm_resource(parent: Element, history: ResourceHistory) -> None:
    element = etree.SubElement(parent, "lrm_resource", id=history.id)
    _set_all(
        element,
        {
            "class": history.cls,
            "provider": history.provider,
            "type": history.type,
            "container": history.container,
            "shutdown-lock": _text(history.shutdown_lock),
        },
    )
    for record in history.ops:
        _op_record(element, record)


def _op_record(parent: Element, record: OpRecord) -> None:
    element = etree.SubElement(
        parent,
        "lrm_rsc_op",
        {
            "id": record.id,
            "operation": record.operation,
            "interval": str(record.interval_ms),
            "rc-code": str(record.rc),
            "op-status": str(record.op_status),
            "call-id": str(record.call_id),
        },
    )
    if record.operation_key is not None:
        element.set("operation_key", record.operation_key)
    _set_all(
        element,
        {
            "on_node": record.on_node,
            "crm_feature_set": record.crm_feature_set,
            "transition-key": record.transition_key,
            "transition-magic": record.transition_magic,
            "exit-reason": record.exit_reason,
            "last-rc-change": _text(record.last_rc_change),
            "last-run": _text(record.last_run),
            "exec-time": _text(record.exec_time_ms),
            "queue-time": _text(record.queue_time_ms),
            "op-digest": record.op_digest,
            "op-force-restart": record.op_force_restart,
            "op-restart-digest": record.op_restart_digest,
            "op-secure-params": record.op_secure_params,
            "op-secure-digest": record.op_secure_digest,
            "migrate_source": record.migrate_source,
            "migrate_target": record.migrate_target,
        },
    )


def _ticket(parent: Element, ticket: Ticket) -> None:
    element = etree.SubElement(
        parent,
        "ticket_state",
        id=ticket.id,
        granted=str(ticket.granted).lower(),
        standby=str(ticket.standby).lower(),
    )
    if ticket.last_granted is not None:
        element.set("last-granted", str(ticket.last_granted))
