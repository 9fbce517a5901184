"""Shared machinery for reading a CIB: locations, problems, warnings, id-refs.

Every loader function takes a :class:`Reader` so that problems are collected
(the user sees all of them at once, not one per run) and every message names
the file, the line and a short element path.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from vigil.errors import Problem
from vigil.model.booleans import parse_bool
from vigil.model.isodate import parse_interval_ms
from vigil.model.names import id_problem
from vigil.model.scores import ScoreError, parse_score

Element = etree._Element

_LEGACY_ROLES = {"master": "Promoted", "slave": "Unpromoted"}
_ID_REFERENCES = frozenset({"resource_ref", "obj_ref"})
# Pacemaker keeps an interval or a timeout as milliseconds in a 32-bit
# unsigned int, and refuses what does not fit.
MAX_DURATION_MS = 2**32 - 1
# Elements whose ids name what users, agents and file names see: resources,
# their operations and constraints.  Held to Pacemaker's id syntax (the ids
# of sets, rules and the like are not: tools derive them from other names).
_NAMED_ELEMENTS = frozenset({
    "primitive", "template", "group", "clone", "master", "bundle", "op",
    "rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket",
})


def parse_duration_ms(text: str) -> int:
    """An interval or timeout in ms, no longer than Pacemaker can hold; ValueError saying what is wrong."""
    value = parse_interval_ms(text)
    if value > MAX_DURATION_MS:
        raise ValueError(
            f"{text!r} is too long: at most {MAX_DURATION_MS // 1000}s (about 49 days),"
            " what Pacemaker's 32-bit count of milliseconds holds"
        )
    return value


def normalize_role(role: str | None) -> str | None:
    """Map the legacy role names Master/Slave to Promoted/Unpromoted."""
    if role is None:
        return None
    return _LEGACY_ROLES.get(role.lower(), role)


def children(element: Element) -> Iterator[Element]:
    """Child elements, skipping comments and processing instructions."""
    for child in element:
        if isinstance(child.tag, str):
            yield child


def _inside_acls(element: Element) -> bool:
    return any(ancestor.tag == "acls" for ancestor in element.iterancestors())


def element_path(element: Element) -> str:
    """A short XPath-like path such as ``/cib/configuration/resources/primitive[@id='x']``."""
    steps: list[str] = []
    node: Element | None = element
    while node is not None:
        step = str(node.tag)
        ident = node.get("id")
        if ident is not None:
            step += f"[@id='{ident}']"
        elif node.get("id-ref") is not None:
            step += f"[@id-ref='{node.get('id-ref')}']"
        steps.append(step)
        node = node.getparent()
    return "/" + "/".join(reversed(steps))


class Reader:
    """Collects problems and warnings while a CIB is turned into the model."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self._unsupported: dict[str, tuple[str, int]] = {}
        self._notes: list[str] = []
        self.ids: dict[str, Element] = {}
        # Ids of things vigil reads but does not model (bundles, templates,
        # tags): a constraint naming one is skipped with a warning, not an error.
        # Maps each such id to the kind of element it belongs to.
        self.unmodelled_ids: dict[str, str] = {}

    # -- reporting -----------------------------------------------------------

    def where(self, element: Element) -> str:
        line = element.sourceline
        prefix = f"{self.filename}:{line}" if line else self.filename
        return f"{prefix} {element_path(element)}"

    def problem(self, element: Element, message: str) -> None:
        problem = Problem(self.where(element), message)
        # A set or rule shared through id-ref is read once per reference;
        # report what is wrong with it once.
        if problem not in self.problems:
            self.problems.append(problem)

    def unsupported(self, element: Element, consequence: str = "is ignored") -> None:
        """Report an element vigil does not model, once per element kind."""
        kind = str(element.tag)
        if kind in self._unsupported:
            first, count = self._unsupported[kind]
            self._unsupported[kind] = (first, count + 1)
            return
        self._unsupported[kind] = (
            f"unsupported element <{kind}> at {element_path(element)} {consequence}",
            1,
        )

    def warn(self, element: Element, message: str) -> None:
        """A warning about one element (not a kind), e.g. an ignored bad value."""
        note = f"{self.where(element)}: {message}"
        if note not in self._notes:
            self._notes.append(note)

    def unsupported_messages(self) -> list[str]:
        messages = []
        for first, count in self._unsupported.values():
            suffix = f" ({count - 1} more like it)" if count > 1 else ""
            messages.append(first + suffix)
        return messages

    def warnings(self) -> list[str]:
        return self.unsupported_messages() + self._notes

    # -- ids -----------------------------------------------------------------

    def index_ids(self, configuration: Element) -> None:
        """Index every id defined under <configuration>, reporting duplicates.

        References that happen to be spelled ``id`` (``resource_ref``,
        ``obj_ref``, everything in ``acls``) are not definitions.  Node ids
        live in their own namespace: a remote node's id is its connection
        resource's id, so nodes are only checked against each other.
        """
        node_ids: dict[str, Element] = {}
        for element in configuration.iter():
            if not isinstance(element.tag, str) or element.tag in _ID_REFERENCES:
                continue
            ident = element.get("id")
            if ident is None or _inside_acls(element):
                continue
            if element.tag in _NAMED_ELEMENTS:
                self.check_id(element, ident)
            namespace = node_ids if element.tag == "node" else self.ids
            first = namespace.get(ident)
            if first is not None:
                self.problem(
                    element,
                    f"duplicate id {ident!r} (already used by <{first.tag}> at line {first.sourceline}):"
                    " ids must be unique within <configuration>; rename one of them",
                )
                continue
            namespace[ident] = element

    def check_id(self, element: Element, ident: str) -> None:
        """A problem when ``ident`` is not a valid id (one that no path can be built from)."""
        problem = id_problem(ident)
        if problem is not None:
            self.problem(element, problem)

    def resolve(self, element: Element) -> Element | None:
        """Follow ``id-ref`` to the element it names; None (and a problem) if dangling."""
        ref = element.get("id-ref")
        if ref is None:
            return element
        target = self.ids.get(ref)
        if target is None:
            self.problem(
                element,
                f"id-ref {ref!r} does not match any id in <configuration>:"
                f" define a <{element.tag} id={ref!r}> or fix the reference",
            )
            return None
        if target.tag != element.tag:
            self.problem(
                element,
                f"id-ref {ref!r} names a <{target.tag}> (line {target.sourceline}), not a <{element.tag}>:"
                " point it at an element of the same kind",
            )
            return None
        return target

    # -- typed attributes ------------------------------------------------------

    def required(self, element: Element, name: str) -> str | None:
        value = element.get(name)
        if value is None:
            self.problem(element, f'<{element.tag}> needs a {name!r} attribute: add {name}="..."')
        return value

    def ident(self, element: Element) -> str:
        """The element's id; a problem (and "") if it has none."""
        return self.required(element, "id") or ""

    def score(self, element: Element, name: str = "score") -> int | None:
        text = element.get(name)
        if text is None:
            return None
        try:
            return parse_score(text)
        except ScoreError:
            self.problem(
                element,
                f"invalid {name} {text!r}: use an integer or INFINITY, +INFINITY, -INFINITY",
            )
            return None

    def interval_ms(self, element: Element, name: str) -> int | None:
        text = element.get(name)
        if text is None:
            return None
        try:
            return parse_duration_ms(text)
        except ValueError as error:
            self.problem(element, f"{name}: {error}")
            return None

    def integer(self, element: Element, name: str, default: int | None = None) -> int | None:
        text = element.get(name)
        if text is None:
            return default
        try:
            return int(text.strip())
        except ValueError:
            self.problem(element, f"invalid {name} {text!r}: use an integer")
            return default

    def boolean(self, element: Element, name: str, default: bool) -> bool:
        value = self.optional_boolean(element, name)
        return default if value is None else value

    def optional_boolean(self, element: Element, name: str) -> bool | None:
        text = element.get(name)
        if text is None:
            return None
        value = parse_bool(text)
        if value is None:
            self.problem(element, f"invalid {name} {text!r}: use true or false")
        return value
