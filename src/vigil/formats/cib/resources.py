"""Reading ``<resources>``: primitives, groups, clones and their operations.

Templates are expanded into the primitives that use them (the scheduler never
needs to look at a template; they are kept for export only).  Bundles are read
by :mod:`vigil.formats.cib.bundles`.
"""

from __future__ import annotations

from dataclasses import replace

from vigil.formats.cib.bundles import load_bundle
from vigil.formats.cib.reader import (
    Element,
    Reader,
    children,
    normalize_role,
    parse_duration_ms,
)
from vigil.formats.cib.rules import load_nvset, load_nvsets
from vigil.model.booleans import parse_bool
from vigil.model.config import Bundle, Clone, Group, NvSet, Op, Primitive, Resource
from vigil.model.isodate import parse_interval_ms
from vigil.model.option_values import meta_problem

Templates = dict[str, Primitive]


# Op attributes with a typed field in the model; the rest go to Op.meta.
_OP_TYPED = ("id", "name", "interval", "timeout", "role", "on-fail", "enabled", "start-delay")


def load_resources(reader: Reader, resources: Element) -> tuple[tuple[Resource, ...], tuple[Primitive, ...]]:
    """The resources and the templates, templates expanded into the primitives using them."""
    templates = _load_templates(reader, resources)
    loaded: list[Resource] = []
    for child in children(resources):
        if child.tag == "template":
            continue
        resource = load_resource(reader, child, templates)
        if resource is not None:
            loaded.append(resource)
    return tuple(loaded), tuple(templates.values())


def _load_templates(reader: Reader, resources: Element) -> dict[str, Primitive]:
    templates: dict[str, Primitive] = {}
    for child in children(resources):
        if child.tag != "template":
            continue
        # Constraints naming a template (meaning all its primitives) are skipped.
        reader.unmodelled_ids[child.get("id", "")] = "template"
        template = load_primitive(reader, child, None, {})
        if template is not None:
            templates[template.id] = template
    return templates


def load_resource(reader: Reader, element: Element, templates: Templates) -> Resource | None:
    """A top-level resource."""
    if element.tag == "primitive":
        return load_primitive(reader, element, None, templates)
    if element.tag == "group":
        return _load_group(reader, element, None, templates)
    if element.tag in ("clone", "master"):
        return _load_clone(reader, element, templates)
    if element.tag == "bundle":
        return _load_bundle(reader, element, templates)
    reader.unsupported(element)
    return None


def _load_bundle(reader: Reader, element: Element, templates: Templates) -> Bundle | None:
    inner = [child for child in children(element) if child.tag == "primitive"]
    if len(inner) > 1:
        reader.problem(inner[1], "a bundle holds at most one <primitive>")
    child = load_primitive(reader, inner[0], element.get("id"), templates) if inner else None
    if inner and child is None:
        return None
    return load_bundle(reader, element, child, inner[0] if inner else None)


def load_primitive(
    reader: Reader, element: Element, parent: str | None, templates: Templates
) -> Primitive | None:
    """A primitive (or a template), expanded with the template it names."""
    template = _template(reader, element, templates)
    if template is None and element.get("template") is not None:
        return None  # already reported
    cls = element.get("class") or (template.cls if template else None)
    kind = element.get("type") or (template.type if template else None)
    if cls is None or kind is None:
        reader.problem(
            element, "a primitive needs 'class' and 'type' attributes (or a 'template' that has them)"
        )
        return None
    sets = _collect_sets(reader, element)
    ops = _collect_ops(reader, element)
    primitive = Primitive(
        id=reader.ident(element),
        cls=cls,
        type=kind,
        provider=element.get("provider") or (template.provider if template else None),
        params=sets["instance_attributes"],
        meta=sets["meta_attributes"],
        ops=ops,
        utilization=sets["utilization"],
        parent=parent,
    )
    return primitive if template is None else _expand(primitive, template)


def _expand(primitive: Primitive, template: Primitive) -> Primitive:
    """Merge a template in: the primitive's own sets come first (and so win),
    and the template's ops are added unless the primitive has an op with the
    same name and role (the interval does not matter), as Pacemaker does.
    """
    own_keys = {_template_op_key(op) for op in primitive.ops}
    inherited = tuple(op for op in template.ops if _template_op_key(op) not in own_keys)
    return replace(
        primitive,
        params=primitive.params + template.params,
        meta=primitive.meta + template.meta,
        utilization=primitive.utilization + template.utilization,
        ops=primitive.ops + inherited,
        template=template.id,
    )


def _template_op_key(op: Op) -> tuple[str, str]:
    return op.name, op.role or "Started"


def _template(reader: Reader, element: Element, templates: Templates) -> Primitive | None:
    name = element.get("template")
    if name is None:
        return None
    template = templates.get(name)
    if template is None:
        reader.problem(
            element, f"template {name!r} is not defined: add a <template id={name!r}> or fix the name"
        )
    return template


def _collect_sets(reader: Reader, element: Element) -> dict[str, tuple[NvSet, ...]]:
    found: dict[str, list[Element]] = {"instance_attributes": [], "meta_attributes": [], "utilization": []}
    for child in children(element):
        if child.tag in found:
            found[child.tag].append(child)
        elif child.tag != "operations":
            reader.unsupported(child)
    return {tag: load_nvsets(reader, elements) for tag, elements in found.items()}


def _collect_ops(reader: Reader, element: Element) -> tuple[Op, ...]:
    ops: list[Op] = []
    for child in children(element):
        if child.tag != "operations":
            continue
        operations = reader.resolve(child)
        if operations is None:
            continue
        for op_element in children(operations):
            if op_element.tag != "op":
                reader.unsupported(op_element)
                continue
            op = _load_op(reader, op_element)
            if op is not None:
                ops.append(op)
    return tuple(ops)


def _load_op(reader: Reader, element: Element) -> Op | None:
    target = reader.resolve(element)
    if target is None:
        return None
    meta = [(str(k), str(v)) for k, v in target.attrib.items() if k not in _OP_TYPED]
    params: list[tuple[str, str]] = []
    for child in children(target):
        if child.tag in ("meta_attributes", "instance_attributes"):
            nvset = load_nvset(reader, child)
            if nvset is not None:
                (meta if child.tag == "meta_attributes" else params).extend(nvset.values)
        else:
            reader.unsupported(child)
    fallback = dict(meta)

    def attr(name: str) -> str | None:
        """The XML attribute, or else an op meta nvpair of that name."""
        return target.get(name, fallback.get(name))

    return Op(
        id=reader.ident(target),
        name=reader.required(target, "name") or "",
        interval_ms=_op_interval(reader, target, attr("interval")),
        timeout_ms=_op_timeout(reader, target, attr("timeout")),
        role=normalize_role(attr("role")),
        on_fail=_op_on_fail(reader, target, attr("on-fail")),
        enabled=_op_enabled(reader, target, attr("enabled")),
        start_delay_ms=_op_duration(reader, target, "start-delay", attr("start-delay")),
        meta=tuple(meta),
        params=tuple(params),
    )


def _op_duration(reader: Reader, element: Element, name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_duration_ms(text)
    except ValueError as error:
        reader.problem(element, f"{name}: {error}")
        return None


def _op_interval(reader: Reader, element: Element, text: str | None) -> int:
    if text is None:
        reader.problem(element, "an op needs an 'interval' attribute: use interval=\"0\" for one-shot ops")
        return 0
    return _op_duration(reader, element, "interval", text) or 0


def _op_timeout(reader: Reader, element: Element, text: str | None) -> int | None:
    """An unparsable timeout falls back to the default, as in Pacemaker (a warning only);
    a negative or too long one is refused."""
    if text is None:
        return None
    if text.strip().startswith("-"):
        reader.problem(element, f"timeout: {text!r} is negative: an action needs time to run")
        return None
    try:
        parse_interval_ms(text)
    except ValueError as error:
        reader.warn(element, f"timeout: {error}; the default timeout is used instead")
        return None
    return _op_duration(reader, element, "timeout", text)  # readable: refused only when too long


def _op_on_fail(reader: Reader, element: Element, text: str | None) -> str | None:
    """``on-fail``, one of Pacemaker's reactions (an op meta nvpair is checked with the other meta)."""
    if text is not None and element.get("on-fail") is not None:
        problem = meta_problem("on-fail", text)
        if problem is not None:
            reader.problem(element, problem)
    return text


def _op_enabled(reader: Reader, element: Element, text: str | None) -> bool:
    if text is None:
        return True
    value = parse_bool(text)
    if value is None:
        reader.problem(element, f"invalid enabled {text!r}: use true or false")
        return True
    return value


def _load_group(reader: Reader, element: Element, parent: str | None, templates: Templates) -> Group | None:
    ident = reader.ident(element)
    members: list[Primitive] = []
    sets: dict[str, list[Element]] = {"meta_attributes": [], "instance_attributes": []}
    for child in children(element):
        if child.tag == "primitive":
            primitive = load_primitive(reader, child, ident, templates)
            if primitive is not None:
                members.append(primitive)
        elif child.tag in sets:
            sets[child.tag].append(child)
        else:
            reader.unsupported(child)
    params = load_nvsets(reader, sets["instance_attributes"])
    return Group(
        id=ident,
        members=tuple(replace(member, params=member.params + params) for member in members),
        meta=load_nvsets(reader, sets["meta_attributes"]),
        parent=parent,
    )


def _load_clone(reader: Reader, element: Element, templates: Templates) -> Clone | None:
    ident = reader.ident(element)
    inner: list[Primitive | Group | None] = []
    sets: dict[str, list[Element]] = {"meta_attributes": [], "instance_attributes": []}
    for child in children(element):
        if child.tag == "primitive":
            inner.append(load_primitive(reader, child, ident, templates))
        elif child.tag == "group":
            inner.append(_load_group(reader, child, ident, templates))
        elif child.tag in sets:
            sets[child.tag].append(child)
        else:
            reader.unsupported(child)
    meta = load_nvsets(reader, sets["meta_attributes"])
    params = load_nvsets(reader, sets["instance_attributes"])
    if len(inner) != 1:
        reader.problem(element, f"<{element.tag}> needs exactly one <primitive> or <group> inside it")
        return None
    if inner[0] is None:
        return None
    promotable = element.tag == "master" or has_promotable_meta(meta)
    return Clone(id=ident, child=_inherit_params(inner[0], params), meta=meta, promotable=promotable)


def _inherit_params(resource: Primitive | Group, params: tuple[NvSet, ...]) -> Primitive | Group:
    """Push a group's or clone's instance attributes down to its primitives.

    Pacemaker gives a primitive its parents' instance attributes after its
    own (so its own win); the model keeps parameters on primitives only, so
    the parents' sets are appended there.
    """
    if isinstance(resource, Primitive):
        return replace(resource, params=resource.params + params)
    members = tuple(replace(member, params=member.params + params) for member in resource.members)
    return replace(resource, members=members)


def has_promotable_meta(meta: tuple[NvSet, ...]) -> bool:
    """Whether an unconditional meta set says ``promotable=true``."""
    for nvset in meta:
        if nvset.rule is not None:
            continue
        for name, value in nvset.values:
            if name == "promotable":
                return parse_bool(value) is True
    return False
