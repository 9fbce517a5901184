"""Reading ``<status>``: node membership, transient attributes, operation history.

The history is kept verbatim (the scheduler derives resource state from it),
so this module only converts types; it does not interpret results.
"""

from __future__ import annotations

from vigil.formats.cib.reader import Element, Reader, children
from vigil.model.booleans import parse_bool
from vigil.model.results import ExecStatus, OcfRc
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Ticket

_NODE_STATE_TYPED = frozenset(
    {"id", "uname", "in_ccm", "crmd", "join", "expected", "remote_node", "node_fenced", "node_in_maintenance"}
)
# Attributes that older CIBs spell with underscores.
_LEGACY_SPELLINGS = {
    "last-rc-change": "last_rc_change",
    "last-run": "last_run",
    "exec-time": "exec_time",
    "queue-time": "queue_time",
}


def load_node_states(reader: Reader, status: Element, unames: dict[str, str]) -> tuple[NodeState, ...]:
    """Every ``<node_state>``; ``unames`` maps node ids to names for states without one."""
    states: list[NodeState] = []
    for element in children(status):
        if element.tag == "node_state":
            state = load_node_state(reader, element, unames)
            if state is not None:
                states.append(state)
        elif element.tag != "tickets":
            reader.unsupported(element)
    return tuple(states)


def load_node_state(reader: Reader, element: Element, unames: dict[str, str]) -> NodeState | None:
    """One ``<node_state>``; None (and a warning) if it has no id."""
    if element.get("id") is None:
        reader.warn(element, "<node_state> without an id is ignored")
        return None
    return _load_node_state(reader, element, unames)


def load_tickets(reader: Reader, status: Element) -> tuple[Ticket, ...]:
    tickets: list[Ticket] = []
    for section in children(status):
        if section.tag != "tickets":
            continue
        for element in children(section):
            if element.tag != "ticket_state":
                reader.unsupported(element)
                continue
            tickets.append(
                Ticket(
                    id=reader.ident(element),
                    granted=reader.boolean(element, "granted", False),
                    standby=reader.boolean(element, "standby", False),
                    last_granted=_last_granted(reader, element),
                )
            )
    return tuple(tickets)


def _last_granted(reader: Reader, element: Element) -> int | None:
    """``last-granted`` (epoch seconds); only shown, so a bad value is a warning."""
    text = element.get("last-granted")
    if text is None:
        return None
    value = parse_last_granted(text)
    if value is None:
        reader.warn(element, f"invalid last-granted {text!r} is ignored (use seconds since the epoch)")
    return value


def parse_last_granted(text: str) -> int | None:
    """A ticket's ``last-granted`` time, or None when it is not a whole number."""
    try:
        return int(text.strip())
    except ValueError:
        return None


def _load_node_state(reader: Reader, element: Element, unames: dict[str, str]) -> NodeState:
    ident = reader.ident(element)
    is_remote = reader.boolean(element, "remote_node", False)
    attributes: list[tuple[str, str]] = []
    utilization: list[tuple[str, str]] = []
    resources: list[ResourceHistory] = []
    for child in children(element):
        if child.tag == "transient_attributes":
            _load_transient_attributes(reader, child, attributes, utilization)
        elif child.tag == "lrm":
            resources.extend(_load_lrm(reader, child))
        else:
            reader.unsupported(child)
    attrs = {str(name): str(value) for name, value in element.attrib.items()}
    return _node_state(attrs, ident, is_remote, tuple(attributes), tuple(resources), unames,
                       tuple(utilization))


def node_state_from(attrs: dict[str, str], attributes: tuple[tuple[str, str], ...],
                    resources: tuple[ResourceHistory, ...], unames: dict[str, str],
                    utilization: tuple[tuple[str, str], ...] = ()) -> NodeState | None:
    """The node state of a ``<node_state>`` with these attributes, or None
    when reading it would report something (no id, a bad remote_node): the
    careful reader does that."""
    ident = attrs.get("id")
    remote = attrs.get("remote_node")
    is_remote = False if remote is None else parse_bool(remote)
    if ident is None or is_remote is None:
        return None
    return _node_state(attrs, ident, is_remote, attributes, resources, unames, utilization)


def _node_state(attrs: dict[str, str], ident: str, is_remote: bool, attributes: tuple[tuple[str, str], ...],
                resources: tuple[ResourceHistory, ...], unames: dict[str, str],
                utilization: tuple[tuple[str, str], ...]) -> NodeState:
    get = attrs.get
    return NodeState(
        id=ident,
        uname=get("uname") or unames.get(ident, ident),
        in_ccm=get("in_ccm"),
        crmd=get("crmd"),
        join=get("join"),
        expected=get("expected"),
        is_remote=is_remote,
        attributes=attributes,
        resources=resources,
        utilization=utilization,
        node_fenced=get("node_fenced"),
        node_in_maintenance=get("node_in_maintenance"),
        extra_attributes=tuple(
            (name, value) for name, value in attrs.items() if name not in _NODE_STATE_TYPED
        ),
    )


def _load_transient_attributes(reader: Reader, element: Element, attributes: list[tuple[str, str]],
                               utilization: list[tuple[str, str]]) -> None:
    """The nvpairs of all instance_attributes sets into ``attributes``, those
    of utilization sets into ``utilization``, flattened in document order."""
    for nvset in children(element):
        if nvset.tag == "instance_attributes":
            pairs = attributes
        elif nvset.tag == "utilization":
            pairs = utilization
        else:
            reader.unsupported(nvset)
            continue
        for pair in children(nvset):
            name, value = pair.get("name"), pair.get("value")
            if pair.tag != "nvpair":
                reader.unsupported(pair)
            elif name is not None and value is not None:
                pairs.append((name, value))


def _load_lrm(reader: Reader, lrm: Element) -> list[ResourceHistory]:
    histories: list[ResourceHistory] = []
    for section in children(lrm):
        if section.tag != "lrm_resources":
            reader.unsupported(section)
            continue
        for element in section:
            if element.tag == "lrm_resource":
                histories.append(_load_lrm_resource(reader, element))
            elif isinstance(element.tag, str):
                reader.unsupported(element)
    return histories


def _load_lrm_resource(reader: Reader, element: Element) -> ResourceHistory:
    ops: list[OpRecord] = []
    for child in element:
        if child.tag == "lrm_rsc_op":
            ops.append(_load_op_record(reader, child))
        elif isinstance(child.tag, str):
            reader.unsupported(child)
    get = element.get
    return ResourceHistory(
        id=reader.ident(element),
        cls=get("class"),
        provider=get("provider"),
        type=get("type"),
        container=get("container"),
        ops=tuple(ops),
        shutdown_lock=reader.integer(element, "shutdown-lock"),
    )


def resource_history_from(attrs: dict[str, str], ops: tuple[OpRecord, ...]) -> ResourceHistory | None:
    """The history of an ``<lrm_resource>`` with these attributes and
    operations, or None when reading it would report something (no id, a bad
    shutdown-lock): the careful reader does that."""
    ident = attrs.get("id")
    lock = attrs.get("shutdown-lock")
    if ident is None:
        return None
    try:
        shutdown_lock = None if lock is None else int(lock.strip())
    except ValueError:
        return None
    get = attrs.get
    return ResourceHistory(ident, get("class"), get("provider"), get("type"), get("container"), ops,
                           shutdown_lock)


def _load_op_record(reader: Reader, element: Element) -> OpRecord:
    # Status sections hold most of a CIB's elements: read the attributes once
    # and build the record directly in the common case.
    record = op_record_from(dict(element.items()))  # type: ignore[arg-type]
    return record if record is not None else _load_op_record_carefully(reader, element)


def op_record_from(attrs: dict[str, str]) -> OpRecord | None:
    """The record of an ``<lrm_rsc_op>`` with these attributes (the dict is
    changed), or None when something about it needs reporting (no id or
    operation, a malformed number): :func:`_load_op_record_carefully` does
    that."""
    for name, legacy in _LEGACY_SPELLINGS.items():
        if name not in attrs and legacy in attrs:
            attrs[name] = attrs[legacy]
    ident = attrs.get("id")
    operation = attrs.get("operation")
    if not ident or operation is None:
        return None
    get = attrs.get
    try:
        rc = _optional_int(get("rc-code"))
        op_status = _optional_int(get("op-status"))
        interval = _optional_int(get("interval"))
        call_id = _optional_int(get("call-id"))
        last_rc_change = _optional_int(get("last-rc-change"))
        last_run = _optional_int(get("last-run"))
        exec_time = _optional_int(get("exec-time"))
        queue_time = _optional_int(get("queue-time"))
    except ValueError:
        return None
    if rc is None or op_status is None:
        magic_status, magic_rc = _magic_results(get("transition-magic"))
        rc = _first_int(rc, magic_rc, int(OcfRc.UNKNOWN))
        op_status = _first_int(op_status, magic_status, int(ExecStatus.PENDING))
    return OpRecord(  # the fields in order (positional: this runs once per operation)
        ident,
        operation,
        interval or 0,
        rc,
        op_status,
        -1 if call_id is None else call_id,
        get("on_node"),
        get("op-digest"),
        get("op-restart-digest"),
        get("op-secure-digest"),
        get("op-force-restart"),
        last_rc_change,
        last_run,
        exec_time,
        queue_time,
        get("transition-key"),
        get("transition-magic"),
        get("exit-reason"),
        get("crm_feature_set"),
        get("migrate_source"),
        get("migrate_target"),
        get("op-secure-params"),
        get("operation_key"),
    )


def _load_op_record_carefully(reader: Reader, element: Element) -> OpRecord:
    attrs = {str(name): str(value) for name, value in element.attrib.items()}
    for name, legacy in _LEGACY_SPELLINGS.items():
        if name not in attrs and legacy in attrs:
            attrs[name] = attrs[legacy]

    def number(name: str) -> int | None:
        text = attrs.get(name)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            reader.problem(element, f"invalid {name} {text!r}: use an integer")
            return None

    rc, op_status = number("rc-code"), number("op-status")
    if rc is None or op_status is None:
        magic_status, magic_rc = _magic_results(attrs.get("transition-magic"))
        rc = _first_int(rc, magic_rc, int(OcfRc.UNKNOWN))
        op_status = _first_int(op_status, magic_status, int(ExecStatus.PENDING))
    if "operation" not in attrs:
        reader.required(element, "operation")
    return OpRecord(
        id=attrs.get("id") or reader.ident(element),
        operation=attrs.get("operation", ""),
        interval_ms=number("interval") or 0,
        rc=rc,
        op_status=op_status,
        call_id=_first_int(number("call-id"), None, -1),
        on_node=attrs.get("on_node"),
        op_digest=attrs.get("op-digest"),
        op_restart_digest=attrs.get("op-restart-digest"),
        op_secure_digest=attrs.get("op-secure-digest"),
        op_force_restart=attrs.get("op-force-restart"),
        last_rc_change=number("last-rc-change"),
        last_run=number("last-run"),
        exec_time_ms=number("exec-time"),
        queue_time_ms=number("queue-time"),
        transition_key=attrs.get("transition-key"),
        transition_magic=attrs.get("transition-magic"),
        exit_reason=attrs.get("exit-reason"),
        crm_feature_set=attrs.get("crm_feature_set"),
        migrate_source=attrs.get("migrate_source"),
        migrate_target=attrs.get("migrate_target"),
        op_secure_params=attrs.get("op-secure-params"),
        operation_key=attrs.get("operation_key"),
    )


def _optional_int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _first_int(value: int | None, fallback: int | None, default: int) -> int:
    if value is not None:
        return value
    return fallback if fallback is not None else default


def _magic_results(magic: str | None) -> tuple[int | None, int | None]:
    """(op-status, rc) from a transition-magic ``STATUS:RC;KEY``, for records that lack them."""
    if not magic or ";" not in magic:
        return None, None
    head = magic.split(";", 1)[0].split(":")
    try:
        return int(head[0]), int(head[1])
    except (ValueError, IndexError):
        return None, None
