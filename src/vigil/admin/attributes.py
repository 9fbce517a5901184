"""Node attributes, utilization and cluster options: what ``crm_attribute`` and ``attrd_updater`` change.

Two lifetimes, as in Pacemaker:

- ``reboot`` (transient, attrd's): the node's status attributes in the
  store (:meth:`~vigil.store.base.Store.set_node_attribute`), what ``ping``
  publishes and promotion scores (``master-RSC``) are.  They are the node's
  life: a node that joins again starts without them (its fail-counts and a
  ``standby`` set by ``on-recovery-exhausted`` aside, which vigil keeps over a
  restart of its own), and a fencing erases them all;
- ``forever`` (permanent): the node's ``instance_attributes`` in the
  configuration's ``<nodes>``, written by compare-and-set like every
  configuration edit.

Cluster options (``crm_attribute --type crm_config``) and utilization
(``--utilization``, ``crm_resource --utilization``) are configuration edits
too.  Every change pokes the controller, so a location rule on an attribute
is planned again at once.

:class:`DelayedWrites` is attrd's dampening (``attrd_updater -d``): the value
is held in the daemon and written once it has stayed unchanged for the delay;
the last value wins.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from vigil.admin import edits
from vigil.admin.commands import Admin, CommandResult, edit_config
from vigil.admin.errors import AdminError, NotFound
from vigil.admin.tree import find_node, find_resource, fresh_id, map_resource, node_names
from vigil.model.config import Config, NvSet, Primitive, Resource
from vigil.model.nvsets import plain_value
from vigil.model.resources import instance_base
from vigil.store.base import StoreError

log = logging.getLogger(__name__)

REBOOT = "reboot"
FOREVER = "forever"
LIFETIMES = (REBOOT, FOREVER)
# Longest name and value taken: a name is an XML attribute value in an exported CIB, a value one too.
MAX_NAME = 256
MAX_VALUE = 64 * 1024
# The set Pacemaker's tools put new cluster options in.
BOOTSTRAP_SET = "cib-bootstrap-options"
# The longest dampening accepted (attrd takes any; an hour is already more than any agent asks).
MAX_DELAY_S = 3600.0


# -- checks -------------------------------------------------------------------------------------


def check_lifetime(lifetime: str) -> str:
    """``reboot`` or ``forever`` (any case); AdminError naming both otherwise."""
    found = lifetime.lower()
    if found not in LIFETIMES:
        raise AdminError(f"unknown lifetime {lifetime!r}: use reboot (transient, cleared when the node "
                         "leaves) or forever (permanent, in the configuration)")
    return found


def _has_control_characters(text: str) -> bool:
    return any(ord(char) < 32 and char != "\t" for char in text)


def check_name(name: str, what: str = "attribute") -> None:
    """A name vigil can store and export: not empty, no white space or control characters."""
    if not name or len(name) > MAX_NAME or any(char.isspace() for char in name) \
            or _has_control_characters(name):
        raise AdminError(f"{what} name {name[:40]!r} is not valid: give 1 to {MAX_NAME} characters "
                         "without spaces or control characters")


def check_value(value: str, what: str = "attribute") -> None:
    if len(value) > MAX_VALUE or _has_control_characters(value):
        raise AdminError(f"the value of the {what} is not valid: at most {MAX_VALUE} characters, "
                         "no control characters (new lines included)")


async def _require_node(admin: Admin, node: str, lifetime: str) -> Config:
    """The configuration, once sure ``node`` is a node a ``lifetime`` attribute can be set on."""
    config, _ = await admin.store.get_config()
    if lifetime == FOREVER or node in node_names(config):
        find_node(config, node)
        return config
    snapshot = await admin.store.snapshot()
    if snapshot.cluster.status.node(node) is None:
        raise NotFound("node", node, node_names(config))
    return config


# -- node attributes (the API's, and so `vigil node attribute`'s and the agents' commands') -----------


async def set_node_attribute(admin: Admin, node: str, name: str, value: str,
                             lifetime: str = REBOOT) -> CommandResult:
    """Set ``name=value`` on ``node``: transient (``reboot``) or permanent (``forever``)."""
    lifetime = check_lifetime(lifetime)
    check_name(name)
    check_value(value)
    return await _write(admin, node, name, value, lifetime)


async def delete_node_attribute(admin: Admin, node: str, name: str, lifetime: str = REBOOT) -> CommandResult:
    """Remove ``name`` from ``node`` (a missing one is no error: nothing changes)."""
    lifetime = check_lifetime(lifetime)
    check_name(name)
    return await _write(admin, node, name, None, lifetime)


async def _write(admin: Admin, node: str, name: str, value: str | None, lifetime: str) -> CommandResult:
    await _require_node(admin, node, lifetime)
    if lifetime == FOREVER:
        _, changed, revision = await edit_config(
            admin, lambda config: edits.set_node_attribute(config, node, name, value),
            f"node attribute {name} of {node}")
        return CommandResult(_attribute_message(node, name, value, "permanent", changed), changed, revision)
    before = await admin.store.revision()
    revision = await admin.store.set_node_attribute(node, name, value)
    changed = revision != before
    if changed:
        admin.poke(f"node attribute {name} of {node}")
    return CommandResult(_attribute_message(node, name, value, "transient", changed), changed, revision)


def _attribute_message(node: str, name: str, value: str | None, kind: str, changed: bool) -> str:
    if changed:
        return f"{node}: {_shown(name, value)} ({kind})"
    if value is None:
        return f"{node}: {name} is not set ({kind}), nothing changed"
    return f"{node}: {name}={value} already ({kind}), nothing changed"


async def get_node_attribute(admin: Admin, node: str, name: str, lifetime: str = REBOOT) -> str | None:
    """The value of ``name`` on ``node`` with that lifetime; None when it is not set.

    An unknown node is :class:`NotFound` (``crm_attribute`` says it cannot map the name).
    """
    return (await node_attributes(admin, node, check_lifetime(lifetime))).get(name)


async def node_attributes(admin: Admin, node: str, lifetime: str | None = None) -> dict[str, str]:
    """``node``'s attributes: transient (``reboot``), permanent (``forever``), or, with None, both
    as rules see them (the permanent ones, the transient ones over them)."""
    config = await _require_node(admin, node, check_lifetime(lifetime) if lifetime else REBOOT)
    permanent: dict[str, str] = {}
    for found in config.nodes:
        if found.uname == node:
            permanent = _plain_values(found.attributes)
    if lifetime == FOREVER:
        return permanent
    snapshot = await admin.store.snapshot()
    state = snapshot.cluster.status.node(node)
    transient = dict(state.attributes) if state is not None else {}
    return transient if lifetime == REBOOT else {**permanent, **transient}


async def all_nodes_attribute(admin: Admin, name: str) -> dict[str, str]:
    """The transient attribute ``name`` on every node that has it (``attrd_updater -Q -A``)."""
    snapshot = await admin.store.snapshot()
    return {state.uname: value for state in snapshot.cluster.status.nodes
            for key, value in state.attributes if key == name}


def _plain_values(sets: tuple[NvSet, ...]) -> dict[str, str]:
    """Every name of the sets without rules, with the value :func:`plain_value` gives it."""
    names = dict.fromkeys(key for nvset in sets if nvset.rule is None for key, _ in nvset.values)
    return {name: value for name in names if (value := plain_value(sets, name)) is not None}


# -- utilization ------------------------------------------------------------------------------------


async def node_utilization(admin: Admin, node: str) -> dict[str, str]:
    config, _ = await admin.store.get_config()
    return _plain_values(find_node(config, node).utilization)


async def set_node_utilization(admin: Admin, node: str, name: str, value: str | None) -> CommandResult:
    """``crm_attribute --utilization --node NODE``: a node's capacity (None removes it)."""
    check_name(name, "utilization")
    if value is not None:
        check_value(value, "utilization")

    def change(config: Config) -> Config:
        found = find_node(config, node)
        new_set = fresh_id(config, f"nodes-{found.id}-utilization")
        changed = replace(found, utilization=edits.set_value(found.utilization, name, value, new_set))
        return replace(config, nodes=tuple(changed if n is found else n for n in config.nodes))

    _, changed, revision = await edit_config(admin, change, f"utilization {name} of node {node}")
    return CommandResult(_edit_message(f"{node}: utilization", name, value, changed), changed, revision)


def primitive_id(config: Config, rsc: str) -> str:
    """The primitive ``rsc`` names (a clone instance ``rsc:N`` is its primitive); NotFound or AdminError."""
    found = find_resource(config, instance_base(rsc))
    if not isinstance(found.resource, Primitive):
        raise AdminError(f"{found.resource.id} is not a primitive: utilization belongs to primitives "
                         "(give one of its members)")
    return found.resource.id


async def resource_utilization(admin: Admin, rsc: str) -> dict[str, str]:
    config, _ = await admin.store.get_config()
    found = find_resource(config, primitive_id(config, rsc)).resource
    assert isinstance(found, Primitive)
    return _plain_values(found.utilization)


async def set_resource_utilization(admin: Admin, rsc: str, name: str, value: str | None) -> CommandResult:
    """``crm_resource --utilization --set-parameter`` (``--delete-parameter`` with None)."""
    check_name(name, "utilization")
    if value is not None:
        check_value(value, "utilization")

    def change(config: Config) -> Config:
        prim = primitive_id(config, rsc)
        new_set = fresh_id(config, f"{prim}-utilization")

        def set_it(found: Resource) -> Resource:
            assert isinstance(found, Primitive)
            return replace(found, utilization=edits.set_value(found.utilization, name, value, new_set))

        return map_resource(config, prim, set_it)

    _, changed, revision = await edit_config(admin, change, f"utilization {name} of {rsc}")
    return CommandResult(_edit_message(f"{instance_base(rsc)}: utilization", name, value, changed), changed,
                         revision)


def _edit_message(what: str, name: str, value: str | None, changed: bool) -> str:
    shown = f"{name}={value}" if value is not None else f"{name} removed"
    return f"{what} {shown}" if changed else f"{what} {shown} already, nothing changed"


# -- cluster options -----------------------------------------------------------------------------------


def _in_named_set(config: Config, set_id: str, name: str, value: str | None) -> tuple[NvSet, ...]:
    """The cluster options with ``name`` set in the set ``set_id`` (a new set at the end if none has it)."""
    options = config.options
    index = next((i for i, nvset in enumerate(options) if nvset.id == set_id), None)
    if index is None:
        if fresh_id(config, set_id) != set_id:
            raise AdminError(f"{set_id!r} is the id of something else in the configuration, not of a set of "
                             "cluster options: give another --set-name")
        return options + edits.set_value((), name, value, set_id)
    if options[index].rule is not None:
        raise AdminError(f"the set {set_id!r} has a rule: vigil edits only sets without rules")
    updated = edits.set_value((options[index],), name, value, set_id)
    return options[:index] + updated + options[index + 1:]


def _option_sets(config: Config, set_id: str | None) -> tuple[NvSet, ...]:
    return tuple(s for s in config.options if s.id == set_id) if set_id is not None else config.options


async def get_cluster_option(admin: Admin, name: str, set_id: str | None = None) -> str | None:
    """The option as configured (``crm_attribute --type crm_config --query``); from ``set_id`` if given."""
    config, _ = await admin.store.get_config()
    return plain_value(_option_sets(config, set_id), name)


async def set_cluster_option(admin: Admin, name: str, value: str | None,
                             set_id: str | None = None) -> CommandResult:
    """Set (None: remove) a cluster option, in set ``set_id`` (created if needed) when given.

    Agents keep their own data there too (mysql's ``--set-name mysql_replication``).
    """
    check_name(name, "option")
    if value is not None:
        check_value(value, "option")
    if set_id is not None:
        check_name(set_id, "set")

    def change(config: Config) -> Config:
        if set_id is None:
            options = edits.set_value(config.options, name, value, fresh_id(config, BOOTSTRAP_SET))
            return replace(config, options=options)
        return replace(config, options=_in_named_set(config, set_id, name, value))

    _, changed, revision = await edit_config(admin, change, f"cluster option {name}")
    return CommandResult(_edit_message("cluster option", name, value, changed), changed, revision)


# -- dampening ------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    value: str | None
    timer: asyncio.TimerHandle


class DelayedWrites:
    """attrd's dampening, in the daemon: a transient attribute written once it stayed the same a while.

    An update with a delay holds the value here and (re)starts the attribute's
    timer; every change while it runs starts it again, so only a value that
    stayed for the whole delay is written, and the last value wins.  The
    delay an attribute was given is kept for later updates that give none,
    as attrd keeps an attribute's dampening.  Queries see the held value
    (:meth:`held`), as ``attrd_updater --query`` sees attrd's; the scheduler
    sees only what was written.  Held values are lost if the daemon stops
    before their time: transient attributes do not outlive it anyway.
    """

    def __init__(self, admin: Admin) -> None:
        self.admin = admin
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._delays: dict[str, float] = {}
        self._writes: set[asyncio.Task[None]] = set()

    def delay_of(self, name: str, given: float | None) -> float:
        """The dampening to apply: ``given`` (remembered for the name), else the name's last one."""
        if given is not None:
            if not 0 <= given <= MAX_DELAY_S:
                raise AdminError(f"the delay must be between 0 and {MAX_DELAY_S:.0f} seconds")
            self._delays[name] = given
            return given
        return self._delays.get(name, 0.0)

    def held(self, node: str, name: str) -> tuple[bool, str | None]:
        """(whether a value is held for ``name`` on ``node``, that value: None for a removal)."""
        pending = self._pending.get((node, name))
        return (False, None) if pending is None else (True, pending.value)

    def held_names(self, name: str) -> list[tuple[str, str | None]]:
        """(node, held value) for every node with a value of ``name`` held."""
        return [(node, pending.value) for (node, held), pending in self._pending.items() if held == name]

    async def update(self, node: str, name: str, value: str | None, delay_s: float | None) -> CommandResult:
        """Set (None: remove) a transient attribute now, or after its dampening."""
        check_name(name)
        if value is not None:
            check_value(value)
        delay = self.delay_of(name, delay_s)
        key = (node, name)
        pending = self._pending.get(key)
        if delay <= 0:
            if pending is not None:
                pending.timer.cancel()
                del self._pending[key]
            return await _write(self.admin, node, name, value, REBOOT)
        await _require_node(self.admin, node, REBOOT)
        if pending is not None and pending.value == value:
            return CommandResult(f"{node}: {_shown(name, value)} already held, written in at most "
                                 f"{delay:g} s", False, await self.admin.store.revision())
        if pending is None:
            stored = await get_node_attribute(self.admin, node, name)
            if stored == value:
                return CommandResult(f"{node}: {_shown(name, value)} already (transient), nothing changed",
                                     False, await self.admin.store.revision())
        else:
            pending.timer.cancel()
        timer = asyncio.get_running_loop().call_later(delay, self._due, node, name)
        self._pending[key] = _Pending(value, timer)
        return CommandResult(f"{node}: {_shown(name, value)} held, written after {delay:g} s without a "
                             "further change (dampening)", True, await self.admin.store.revision())

    def _due(self, node: str, name: str) -> None:
        pending = self._pending.pop((node, name), None)
        if pending is None:
            return
        task = asyncio.get_running_loop().create_task(self._write_held(node, name, pending.value),
                                                      name=f"attribute {name} of {node}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write_held(self, node: str, name: str, value: str | None) -> None:
        try:
            await _write(self.admin, node, name, value, REBOOT)
        except (AdminError, StoreError) as error:
            log.error("the dampened attribute %s of %s was not written: %s", name, node, error)

    def close(self) -> None:
        """Drop what is held (the daemon stops)."""
        for pending in self._pending.values():
            pending.timer.cancel()
        self._pending.clear()


def _shown(name: str, value: str | None) -> str:
    return f"{name}={value}" if value is not None else f"{name} removed"
