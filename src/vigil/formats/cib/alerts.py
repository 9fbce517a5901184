"""The ``<alerts>`` section, both ways: Pacemaker's alert agents and their recipients.

Read as Pacemaker's ``pe_unpack_alerts()`` reads it (``lib/pengine/rules_alerts.c``):
an ``<alert>`` has an id, a path, instance attributes (the agent's
environment), meta attributes (``timeout``, ``timestamp-format``), an
optional ``<select>`` of event kinds, and recipients, each with its own
instance and meta attributes.  The export writes back exactly what was read,
so the store (which keeps the configuration as CIB XML) round-trips it.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from vigil.formats.cib.reader import Element, Reader, children
from vigil.formats.cib.rules import load_nvsets
from vigil.model.config import Alert, AlertRecipient, AlertSelect, NvSet, SelectedAttribute

_SELECT_KINDS = ("select_nodes", "select_fencing", "select_resources", "select_attributes")


def load_alerts(reader: Reader, section: Element | None) -> tuple[Alert, ...]:
    if section is None:
        return ()
    alerts: list[Alert] = []
    for element in children(section):
        if element.tag != "alert":
            reader.unsupported(element)
            continue
        alerts.append(_load_alert(reader, element))
    return tuple(alerts)


def _sets(reader: Reader, element: Element) -> tuple[tuple[NvSet, ...], tuple[NvSet, ...]]:
    """(instance attributes, meta attributes) of an alert or a recipient."""
    params = [child for child in children(element) if child.tag == "instance_attributes"]
    meta = [child for child in children(element) if child.tag == "meta_attributes"]
    return load_nvsets(reader, params), load_nvsets(reader, meta)


def _load_alert(reader: Reader, element: Element) -> Alert:
    params, meta = _sets(reader, element)
    select: AlertSelect | None = None
    recipients: list[AlertRecipient] = []
    for child in children(element):
        if child.tag in ("instance_attributes", "meta_attributes"):
            continue
        if child.tag == "select":
            if select is not None:
                reader.problem(child, "an <alert> has one <select>: merge them into one")
            select = _load_select(reader, child)
        elif child.tag == "recipient":
            recipients.append(_load_recipient(reader, child))
        else:
            reader.unsupported(child)
    return Alert(
        id=reader.ident(element),
        path=reader.required(element, "path") or "",
        description=element.get("description"),
        params=params,
        meta=meta,
        select=select,
        recipients=tuple(recipients),
    )


def _load_select(reader: Reader, element: Element) -> AlertSelect:
    kinds: set[str] = set()
    names: list[SelectedAttribute] = []
    for child in children(element):
        if child.tag not in _SELECT_KINDS:
            reader.unsupported(child)
            continue
        kinds.add(str(child.tag))
        if child.tag != "select_attributes":
            continue
        for attribute in children(child):
            if attribute.tag != "attribute":
                reader.unsupported(attribute)
                continue
            names.append(SelectedAttribute(id=reader.ident(attribute),
                                           name=reader.required(attribute, "name") or ""))
    return AlertSelect(
        nodes="select_nodes" in kinds,
        fencing="select_fencing" in kinds,
        resources="select_resources" in kinds,
        attributes="select_attributes" in kinds,
        attribute_names=tuple(names),
    )


def _load_recipient(reader: Reader, element: Element) -> AlertRecipient:
    params, meta = _sets(reader, element)
    for child in children(element):
        if child.tag not in ("instance_attributes", "meta_attributes"):
            reader.unsupported(child)
    return AlertRecipient(
        id=reader.ident(element),
        value=reader.required(element, "value") or "",
        description=element.get("description"),
        params=params,
        meta=meta,
    )


# -- export -----------------------------------------------------------------------------

WriteSet = Callable[[Element, str, NvSet], None]


def write_alerts(parent: Element, alerts: tuple[Alert, ...], nvset: WriteSet) -> None:
    """Append ``<alerts>`` to ``parent`` (nothing when there are none).

    ``nvset`` writes one name/value set (the CIB writer's, which keeps ids
    unique and shares sets through ``id-ref``).
    """
    if not alerts:
        return
    section = etree.SubElement(parent, "alerts")
    for alert in alerts:
        element = etree.SubElement(section, "alert", id=alert.id, path=alert.path)
        if alert.description is not None:
            element.set("description", alert.description)
        _write_sets(element, alert.params, alert.meta, nvset)
        if alert.select is not None:
            _write_select(element, alert.select)
        for recipient in alert.recipients:
            child = etree.SubElement(element, "recipient", id=recipient.id, value=recipient.value)
            if recipient.description is not None:
                child.set("description", recipient.description)
            _write_sets(child, recipient.params, recipient.meta, nvset)


def _write_sets(element: Element, params: tuple[NvSet, ...], meta: tuple[NvSet, ...],
                nvset: WriteSet) -> None:
    for item in meta:
        nvset(element, "meta_attributes", item)
    for item in params:
        nvset(element, "instance_attributes", item)


def _write_select(parent: Element, select: AlertSelect) -> None:
    element = etree.SubElement(parent, "select")
    if select.attributes:
        attributes = etree.SubElement(element, "select_attributes")
        for selected in select.attribute_names:
            etree.SubElement(attributes, "attribute", id=selected.id, name=selected.name)
    for flag, tag in ((select.fencing, "select_fencing"), (select.nodes, "select_nodes"),
                      (select.resources, "select_resources")):
        if flag:
            etree.SubElement(element, tag)
