"""Reading ``<bundle>``: the container, its network and storage, the inner primitive.

The reader builds the model's :class:`~vigil.model.config.Bundle` and has
:func:`~vigil.model.bundle.expand_bundle` derive its implicit resources.
What Pacemaker refuses (no container element, no image, an inner primitive
with no way to reach it) is refused here with a message saying what to add.
"""

from __future__ import annotations

from dataclasses import replace

from vigil.formats.cib.reader import Element, Reader, children
from vigil.formats.cib.rules import load_nvsets
from vigil.model.booleans import parse_bool
from vigil.model.bundle import expand_bundle, replica_addresses
from vigil.model.config import (
    CONTAINER_KINDS,
    Bundle,
    BundleNetwork,
    ContainerKind,
    PortMapping,
    Primitive,
    StorageMapping,
)


def load_bundle(reader: Reader, element: Element, child: Primitive | None,
                child_element: Element | None) -> Bundle | None:
    """A ``<bundle>``; ``child`` is its inner primitive, already read (None: there is none)."""
    ident = reader.ident(element)
    container: Element | None = None
    network: BundleNetwork | None = None
    storage: tuple[StorageMapping, ...] = ()
    meta: list[Element] = []
    for item in children(element):
        if item.tag in CONTAINER_KINDS:
            if container is not None:
                reader.problem(item, f"bundle {ident!r} has more than one container element")
            container = item
        elif item.tag == "network":
            network = _network(reader, item)
        elif item.tag == "storage":
            storage = _storage(reader, item)
        elif item.tag == "meta_attributes":
            meta.append(item)
        elif item.tag != "primitive":
            reader.unsupported(item)
    if container is None:
        reader.problem(element, f"bundle {ident!r} needs a <docker>, <podman> or <rkt> element")
        return None
    image = container.get("image")
    if not image:
        reader.problem(container, f"bundle {ident!r}: the container needs an 'image'")
        return None
    promoted_max = _count(reader, container, "promoted-max", container.get("masters"), 0)
    default_replicas = promoted_max if promoted_max > 0 else 1
    bundle = Bundle(
        id=ident,
        kind=_kind(str(container.tag)),
        image=image,
        replicas=max(1, _count(reader, container, "replicas", None, default_replicas)),
        replicas_per_host=max(1, _count(reader, container, "replicas-per-host", None, 1)),
        promoted_max=promoted_max,
        network_mode=container.get("network"),
        options=container.get("options"),
        run_command=container.get("run-command"),
        network=network,
        storage=storage,
        child=child,
        meta=load_nvsets(reader, meta),
    )
    if child is not None and not bundle.manages_child and child_element is not None:
        reader.problem(child_element, f"bundle {ident!r} cannot control {child.id!r} inside it without "
                       "an ip-range-start or a control-port in its <network>")
        return None
    start = bundle.network.ip_range_start if bundle.network is not None else None
    if start is not None and None in replica_addresses(bundle):
        reader.problem(element, f"bundle {ident!r}: ip-range-start {start!r} is not an IPv4 address with "
                       f"room for {bundle.replicas} replicas")
        return None
    if (bundle.network is not None and bundle.network.control_port and not bundle.network.ip_range_start
            and bundle.replicas_per_host > 1):
        reader.warn(element, f"bundle {ident!r}: a control-port without an ip-range-start needs "
                    "replicas-per-host=1; 1 is used")
        bundle = replace(bundle, replicas_per_host=1)
    return expand_bundle(bundle)


def _kind(tag: str) -> ContainerKind:
    return next(kind for kind in CONTAINER_KINDS if kind == tag)


def _count(reader: Reader, element: Element, name: str, fallback: str | None, default: int) -> int:
    text = element.get(name, fallback)
    if text is None:
        return default
    if not text.strip().isdigit():
        reader.problem(element, f"{name}: {text!r} is not a count (a whole number, 0 or more)")
        return default
    return int(text)


def _network(reader: Reader, element: Element) -> BundleNetwork:
    add_host = element.get("add-host")
    mappings = []
    for item in children(element):
        if item.tag != "port-mapping":
            reader.unsupported(item)
            continue
        mapping = PortMapping(id=reader.ident(item), port=item.get("port"),
                              internal_port=item.get("internal-port"), range=item.get("range"))
        if not (mapping.port or mapping.range):
            reader.problem(item, "a port-mapping needs a 'port' or a 'range'")
            continue
        mappings.append(mapping)
    return BundleNetwork(
        ip_range_start=element.get("ip-range-start"),
        control_port=element.get("control-port"),
        host_interface=element.get("host-interface"),
        host_netmask=element.get("host-netmask"),
        add_host=parse_bool(add_host) is not False if add_host is not None else True,
        port_mappings=tuple(mappings),
    )


def _storage(reader: Reader, element: Element) -> tuple[StorageMapping, ...]:
    mounts = []
    for item in children(element):
        if item.tag != "storage-mapping":
            reader.unsupported(item)
            continue
        source, root, target = item.get("source-dir"), item.get("source-dir-root"), item.get("target-dir")
        if not (source or root) or not target:
            reader.problem(item, "a storage-mapping needs a 'target-dir' and a 'source-dir' "
                           "or 'source-dir-root'")
            continue
        mounts.append(StorageMapping(id=reader.ident(item), target_dir=target, source_dir=source,
                                     source_dir_root=root, options=item.get("options")))
    return tuple(mounts)
