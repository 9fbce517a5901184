"""Configuration edits an operator makes: pure functions ``Config -> Config``.

Each follows the convention of its pcs / crm_resource equivalent, so that a
CIB exported from vigil means the same to Pacemaker:

- start, stop, enable, disable set or remove the ``target-role`` meta
  attribute of the resource as configured (a group or clone id is allowed);
- maintenance sets the ``maintenance`` meta attribute;
- move, ban and clear add and remove the ``cli-prefer-RSC`` (INFINITY) and
  ``cli-ban-RSC-on-NODE`` (-INFINITY) location constraints crm_resource uses;
- node standby and maintenance are permanent node attributes in ``<nodes>``
  (``standby=on``, ``maintenance=on``), as ``pcs node standby`` sets them.

An attribute is written into the resource's (or node's) first set without a
rule, or a new set named as Pacemaker's tools name it; it is removed from
every set without a rule (and a set left empty by that goes).  Sets with
rules are the operator's own and are never touched.  Unknown resources and
nodes raise :class:`~vigil.admin.errors.NotFound` listing the known ones.
"""

from __future__ import annotations

from dataclasses import replace

from vigil.admin.errors import AdminError, NotFound
from vigil.admin.tree import find_node, find_resource, fresh_id, map_resource, node_names
from vigil.model.booleans import is_true
from vigil.model.config import Clone, Config, Location, NvSet, Resource
from vigil.model.nvsets import plain_value
from vigil.model.resources import MAINTENANCE, TARGET_ROLE, descendants
from vigil.model.scores import INFINITY

STANDBY = "standby"


# -- name/value sets -----------------------------------------------------------------------


def set_value(sets: tuple[NvSet, ...], name: str, value: str | None, new_set_id: str) -> tuple[NvSet, ...]:
    """``sets`` with ``name`` set to ``value`` (``None``: removed) in the sets without rules.

    A value already there is replaced where it is (and dropped from any other
    set without a rule); a new one goes into the first set without a rule,
    else into a new set ``new_set_id``.
    """
    plain = [index for index, nvset in enumerate(sets) if nvset.rule is None]
    holder = next((i for i in plain if any(key == name for key, _ in sets[i].values)), None)
    if value is not None and holder is None:
        holder = plain[0] if plain else None
    result: list[NvSet] = []
    for index, nvset in enumerate(sets):
        if index not in plain:
            result.append(nvset)
            continue
        values = [(key, old) for key, old in nvset.values if key != name]
        if index == holder and value is not None:
            position = next((i for i, (key, _) in enumerate(nvset.values) if key == name), len(values))
            values.insert(position, (name, value))
        if values or not nvset.values:
            result.append(replace(nvset, values=tuple(values)))
    if value is not None and holder is None:
        result.append(NvSet(id=new_set_id, values=((name, value),)))
    return tuple(result)


# -- resource meta attributes -------------------------------------------------------------------


def meta_value(config: Config, rsc_id: str, name: str) -> str | None:
    """The value of meta attribute ``name`` configured on ``rsc_id`` itself (not inherited)."""
    return plain_value(find_resource(config, rsc_id).resource.meta, name)


def set_resource_meta(config: Config, rsc_id: str, name: str, value: str | None) -> Config:
    """``crm_resource --meta --set-parameter`` (``--delete-parameter`` when ``value`` is None)."""
    new_set_id = fresh_id(config, f"{rsc_id}-meta_attributes")

    def change(rsc: Resource) -> Resource:
        return replace(rsc, meta=set_value(rsc.meta, name, value, new_set_id))

    return map_resource(config, rsc_id, change)


def set_target_role(config: Config, rsc_id: str, role: str | None) -> Config:
    """Start (``Started``), stop (``Stopped``), enable (``None``) or disable (``Stopped``) ``rsc_id``.

    The role is set on the resource as configured; a ``target-role`` of a
    member or the child of a group or clone is removed, so that the one set
    here decides (crm_resource updates such a child's instead).  Starting or
    enabling a resource inside a clone also removes the clone's
    ``target-role=Stopped``, as ``pcs resource enable`` does; a stopped
    group around it is left alone (see :func:`stopped_ancestors`).
    """
    found = find_resource(config, rsc_id)
    config = set_resource_meta(config, rsc_id, TARGET_ROLE, role)
    for child in descendants(found):
        config = set_resource_meta(config, child, TARGET_ROLE, None)
    if role is None or role.lower() != "stopped":
        for ancestor in found.ancestors:
            if isinstance(ancestor, Clone) and _is_stopped(plain_value(ancestor.meta, TARGET_ROLE)):
                config = set_resource_meta(config, ancestor.id, TARGET_ROLE, None)
    return config


def _is_stopped(role: str | None) -> bool:
    return role is not None and role.lower() == "stopped"


def stopped_ancestors(config: Config, rsc_id: str) -> list[str]:
    """The groups or clones around ``rsc_id`` whose ``target-role=Stopped`` keeps it stopped."""
    found = find_resource(config, rsc_id)
    return [a.id for a in found.ancestors if _is_stopped(plain_value(a.meta, TARGET_ROLE))]


def set_maintenance(config: Config, rsc_id: str, on: bool) -> Config:
    """``crm_resource --meta -p maintenance -v true|false``: the scheduler leaves it alone (or not)."""
    return set_resource_meta(config, rsc_id, MAINTENANCE, "true" if on else "false")


# -- move, ban, clear ----------------------------------------------------------------------------


def prefer_id(rsc_id: str) -> str:
    return f"cli-prefer-{rsc_id}"


def ban_id(rsc_id: str, node: str) -> str:
    return f"cli-ban-{rsc_id}-on-{node}"


def _check_movable(config: Config, rsc_id: str) -> None:
    found = find_resource(config, rsc_id)
    clone = found.clone
    if clone is not None and clone.id != rsc_id:
        raise AdminError(f"{rsc_id} is part of the clone {clone.id}: move, ban or clear the clone "
                         f"({clone.id}) instead")


def _check_promotable(config: Config, rsc_id: str) -> None:
    rsc = find_resource(config, rsc_id).resource
    if isinstance(rsc, Clone) and (rsc.promotable or is_true(plain_value(rsc.meta, "promotable"))):
        return
    raise AdminError(f"--promoted moves the promoted role of a promotable clone, and {rsc_id} is not one: "
                     f"name the promotable clone, or leave out --promoted")


def _role(promoted: bool) -> str:
    return "Promoted" if promoted else "Started"


def move_to(config: Config, rsc_id: str, node: str, *, promoted: bool = False) -> Config:
    """``crm_resource --move --node NODE [--promoted]``: ``cli-prefer-RSC`` INFINITY on NODE
    (for the promoted role only, with ``promoted``).

    A ban of the resource from NODE is lifted first, as crm_resource does.
    """
    _check_movable(config, rsc_id)
    if promoted:
        _check_promotable(config, rsc_id)
    find_node(config, node)
    dropped = {prefer_id(rsc_id), ban_id(rsc_id, node)}
    kept = tuple(loc for loc in config.locations if loc.id not in dropped)
    constraint = Location(id=prefer_id(rsc_id), rsc=rsc_id, node=node, score=INFINITY, role=_role(promoted))
    return replace(config, locations=(*kept, constraint))


def ban_from(config: Config, rsc_id: str, node: str, *, promoted: bool = False) -> Config:
    """``crm_resource --ban --node NODE [--promoted]``: ``cli-ban-RSC-on-NODE`` -INFINITY (for the
    promoted role only, with ``promoted``: the instance there may still run, unpromoted)."""
    _check_movable(config, rsc_id)
    if promoted:
        _check_promotable(config, rsc_id)
    find_node(config, node)
    kept = tuple(loc for loc in config.locations if loc.id != ban_id(rsc_id, node))
    constraint = Location(id=ban_id(rsc_id, node), rsc=rsc_id, node=node, score=-INFINITY,
                          role=_role(promoted))
    return replace(config, locations=(*kept, constraint))


def is_cli_constraint(location: Location, rsc_id: str, node: str | None = None) -> bool:
    """Is ``location`` one of the move/ban constraints of ``rsc_id`` (on ``node``, if given)?"""
    if location.rsc != rsc_id or location.node is None:
        return False
    if node is not None and location.node != node:
        return False
    return location.id in (prefer_id(rsc_id), ban_id(rsc_id, location.node))


def cli_constraints(config: Config, rsc_id: str, node: str | None = None) -> list[Location]:
    return [loc for loc in config.locations if is_cli_constraint(loc, rsc_id, node)]


def clear_constraints(config: Config, rsc_id: str, node: str | None = None) -> Config:
    """``crm_resource --clear [--node NODE]``: remove the move and ban constraints of ``rsc_id``.

    A resource no longer configured can still be cleared of constraints left behind.
    """
    if not cli_constraints(config, rsc_id):
        find_resource(config, rsc_id)
    kept = tuple(loc for loc in config.locations if not is_cli_constraint(loc, rsc_id, node))
    return replace(config, locations=kept)


# -- nodes -------------------------------------------------------------------------------------------


def set_node_attribute(config: Config, node: str, name: str, value: str | None) -> Config:
    """A permanent node attribute in ``<nodes>`` (``crm_attribute --node N --name X``), or its removal."""
    found = find_node(config, node)
    new_set_id = fresh_id(config, f"nodes-{found.id}")
    changed = replace(found, attributes=set_value(found.attributes, name, value, new_set_id))
    return replace(config, nodes=tuple(changed if n is found else n for n in config.nodes))


def set_standby(config: Config, node: str, on: bool) -> Config:
    """``pcs node standby`` (``standby=on``) or ``pcs node unstandby`` (removes it)."""
    return set_node_attribute(config, node, STANDBY, "on" if on else None)


def set_node_maintenance(config: Config, node: str, on: bool) -> Config:
    """``pcs node maintenance`` (``maintenance=on``) or ``pcs node unmaintenance`` (removes it)."""
    return set_node_attribute(config, node, MAINTENANCE, "on" if on else None)


def require_node(config: Config, node: str) -> None:
    if node not in node_names(config):
        raise NotFound("node", node, node_names(config))
