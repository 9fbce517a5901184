"""Bundles: replicated containers, each optionally running a resource inside.

A ``<bundle>`` is a shorthand that Pacemaker expands into ordinary
resources, and so does vigil, from the configuration alone: for each
replica ``N`` (0, 1, ...) of bundle ``B``

- ``B-ip-ADDR``: an ``ocf:heartbeat:IPaddr2`` when ``<network>`` has an
  ``ip-range-start`` (addresses counted up from it);
- ``B-docker-N`` (``-podman-N``, ``-rkt-N``): the container;
- ``B-N``: an ``ocf:pacemaker:remote`` connection whose ``container`` is
  the container, when the bundle has an inner primitive; the replica's
  guest node has the same name;
- the inner primitive's instance ``P:N``, an instance of the implicit clone
  ``B-clone`` (``B-master`` when promotable, the name Pacemaker keeps for
  compatibility), which runs on guest node ``B-N``.

The names and the parameters are Pacemaker's, so that an imported CIB's
operation history (and its parameter digests) belongs to them.
"""

from __future__ import annotations

from dataclasses import replace

from vigil.model.config import Bundle, BundleNetwork, BundleReplica, Clone, NvSet, Op, Primitive

DEFAULT_REMOTE_PORT = "3121"
# Where Pacemaker's packages put these; part of the container's parameters.
REMOTE_KEY_LOCATION = "/etc/pacemaker/authkey"
BUNDLE_LOG_DIR = "/var/log/pacemaker/bundles"


def child_clone_id(bundle: Bundle) -> str:
    return f"{bundle.id}-{'master' if bundle.promotable else 'clone'}"


def child_clone(bundle: Bundle) -> Clone | None:
    """The implicit clone of the inner primitive, one instance per replica."""
    if bundle.child is None or not bundle.manages_child:
        return None
    values = [("ordered", "true"), ("clone-max", str(bundle.replicas)),
              ("clone-node-max", str(bundle.replicas_per_host)),
              ("globally-unique", "true" if bundle.replicas_per_host > 1 else "false")]
    if bundle.promotable:
        values += [("promotable", "true"), ("promoted-max", str(bundle.promoted_max))]
    ident = child_clone_id(bundle)
    meta = (NvSet(id=f"{bundle.id}-{ident.rsplit('-', 1)[1]}-meta", values=tuple(values)), *bundle.meta)
    return Clone(id=ident, child=bundle.child, meta=meta, promotable=bundle.promotable)


def replica_addresses(bundle: Bundle) -> list[str | None]:
    """Each replica's IP address, counted up from ``ip-range-start`` (IPv4)."""
    start = bundle.network.ip_range_start if bundle.network is not None else None
    if start is None:
        return [None] * bundle.replicas
    addresses: list[str | None] = [start if _is_ipv4(start) else None]
    for _ in range(bundle.replicas - 1):
        last = addresses[-1]
        addresses.append(_next_ip(last) if last is not None else None)
    return addresses


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)


def _next_ip(last: str) -> str | None:
    parts = last.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    a, b, c, d = (int(p) for p in parts)
    if c > 253:
        return None
    if d > 253:
        c, d = c + 1, 1
    else:
        d += 1
    return f"{a}.{b}.{c}.{d}"


def bundle_replicas(bundle: Bundle) -> tuple[BundleReplica, ...]:
    """Every replica's implicit resources."""
    addresses = replica_addresses(bundle)
    has_child = bundle.child is not None and bundle.manages_child
    host_options = "".join(_host_entry(bundle, n, a) for n, a in enumerate(addresses))
    replicas = []
    for index, address in enumerate(addresses):
        container = _container(bundle, index, address, has_child, host_options)
        replicas.append(BundleReplica(
            index=index,
            container=container,
            ip=_ip(bundle, index, address) if address is not None else None,
            remote=_remote(bundle, index, address, container.id) if has_child else None,
        ))
    return tuple(replicas)


def expand_bundle(bundle: Bundle) -> Bundle:
    """``bundle`` with its implicit resources filled in (the readers call this)."""
    return replace(bundle, replica_resources=bundle_replicas(bundle), child_clone=child_clone(bundle))


def _host_entry(bundle: Bundle, index: int, address: str | None) -> str:
    if address is None or bundle.kind not in ("docker", "podman"):
        return ""
    if bundle.network is not None and bundle.network.add_host:
        return f" --add-host={bundle.id}-{index}:{address}"
    return f" --hosts-entry={address}={bundle.id}-{index}"


def _monitor(owner: str, interval: str, interval_ms: int) -> Op:
    return Op(id=f"{owner}-monitor-interval-{interval}", name="monitor", interval_ms=interval_ms)


def _ip(bundle: Bundle, index: int, address: str) -> Primitive:
    ident = f"{bundle.id}-ip-{address}"
    network = bundle.network or BundleNetwork()
    values = [("ip", address)]
    if network.host_interface is not None:
        values.append(("nic", network.host_interface))
    values.append(("cidr_netmask", network.host_netmask or "32"))
    return Primitive(id=ident, cls="ocf", provider="heartbeat", type="IPaddr2",
                     params=(NvSet(id=f"{bundle.id}-attributes-{index}", values=tuple(values)),),
                     ops=(_monitor(ident, "60s", 60000),), parent=bundle.id)


def _container(bundle: Bundle, index: int, address: str | None, has_child: bool,
               host_options: str) -> Primitive:
    ident = f"{bundle.id}-{bundle.kind}-{index}"
    values = [("image", bundle.image), ("allow_pull", "true"), ("force_kill", "false"), ("reuse", "false")]
    values.append(("run_opts", _run_options(bundle, index, address, has_child, host_options)))
    values.append(("mount_points", ",".join(_subdir_mounts(bundle, index, has_child))))
    if has_child:
        values.append(("run_cmd", bundle.run_command or "/usr/sbin/pacemaker-remoted"))
    elif bundle.run_command is not None:
        values.append(("run_cmd", bundle.run_command))
    values.append(("monitor_cmd", "/bin/true"))
    return Primitive(id=ident, cls="ocf", provider="heartbeat", type=bundle.kind,
                     params=(NvSet(id=f"{bundle.id}-attributes-{index}", values=tuple(values)),),
                     ops=(_monitor(ident, "60s", 60000),), parent=bundle.id)


def _mounts(bundle: Bundle, has_child: bool) -> list[tuple[str, str, str | None, bool]]:
    """(source, target, options, per-replica subdirectory) of every mount, Pacemaker's own last."""
    mounts = [(m.source_dir or m.source_dir_root or "", m.target_dir, m.options, m.source_dir is None)
              for m in bundle.storage if (m.source_dir or m.source_dir_root)]
    if has_child:
        mounts.append((REMOTE_KEY_LOCATION, REMOTE_KEY_LOCATION, None, False))
        if not any(target == "/var/log" for _, target, _, _ in mounts):
            mounts.append((BUNDLE_LOG_DIR, "/var/log", None, True))
    return mounts


def _subdir_mounts(bundle: Bundle, index: int, has_child: bool) -> list[str]:
    return [f"{source}/{bundle.id}-{index}" for source, _, _, subdir in _mounts(bundle, has_child) if subdir]


def _run_options(bundle: Bundle, index: int, address: str | None, has_child: bool,
                 host_options: str) -> str:
    network = bundle.network or BundleNetwork()
    text = " --restart=no" if bundle.kind == "docker" else ""
    if network.ip_range_start is not None:
        text += f" -h {bundle.id}-{index}"
    text += " -e PCMK_stderr=1"
    if bundle.network_mode is not None:
        text += f" --net={bundle.network_mode}"
    text += f" -e PCMK_remote_port={network.control_port or DEFAULT_REMOTE_PORT}"
    for source, target, options, subdir in _mounts(bundle, has_child):
        path = f"{source}/{bundle.id}-{index}" if subdir else source
        text += f" -v {path}:{target}" + (f":{options}" if options is not None else "")
    for source, target in _ports(bundle, has_child):
        if address is not None:
            text += f" -p {address}:{source}:{target}"
        elif bundle.network_mode != "host":
            text += f" -p {source}:{target}"
    if bundle.options is not None:
        text += f" {bundle.options}"
    return text + f" {host_options}"


def _ports(bundle: Bundle, has_child: bool) -> list[tuple[str, str]]:
    network = bundle.network or BundleNetwork()
    ports = []
    for mapping in network.port_mappings:
        if mapping.port:
            ports.append((mapping.port, mapping.internal_port or mapping.port))
        elif mapping.range:
            ports.append((mapping.range, mapping.range))
    if has_child:
        control = network.control_port or DEFAULT_REMOTE_PORT
        ports.append((control, control))
    return ports


def _remote(bundle: Bundle, index: int, address: str | None, container: str) -> Primitive:
    ident = f"{bundle.id}-{index}"
    network = bundle.network or BundleNetwork()
    meta = NvSet(id=f"{ident}-meta-attributes",
                 values=(("internal_rsc", "true"), ("container", container)))
    port = network.control_port or DEFAULT_REMOTE_PORT
    params = NvSet(id=f"{ident}-instance-attributes", values=(("addr", address or "#uname"), ("port", port)))
    ops = (Op(id=f"{ident}-monitor-interval-30s", name="monitor", interval_ms=30000, timeout_ms=30000),)
    return Primitive(id=ident, cls="ocf", provider="pacemaker", type="remote", params=(params,),
                     meta=(meta,), ops=ops, parent=bundle.id)
