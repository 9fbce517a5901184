"""OCF meta-data: parsed (1.0 and 1.1), checked, cached; parameters checked against it.

An agent describes itself with ``meta-data``: its parameters (type, default,
required, unique group, reloadable) and its actions (with default timeouts).
vigil reads both OCF 1.0 (DTD era, ``unique="1"``) and 1.1 (``unique-group``,
``reloadable``, ``select``, ``deprecated``), keeps what it found wrong as
*problems* rather than giving up (real agents are not all clean), and fails
only when the text is not meta-data at all.

The agent's own output is untrusted input: the parser loads no DTD, resolves
no entity and touches no network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from vigil.errors import VigilError
from vigil.model.booleans import is_true
from vigil.model.isodate import parse_interval_ms

MANDATORY_ACTIONS = ("start", "stop", "monitor", "meta-data")
PARAMETER_TYPES = ("string", "integer", "boolean", "select")
_BOOLEAN_VALUES = frozenset({"true", "false", "on", "off", "yes", "no", "y", "n", "1", "0"})
_INTEGER = re.compile(r"[+-]?\d+")
# Parameters every agent accepts without declaring them.
IMPLICIT_PARAMETERS = frozenset({"crm_feature_set", "OCF_CHECK_LEVEL", "trace_ra", "trace_file"})


class MetadataError(VigilError):
    """The text is not OCF meta-data; the message says what is wrong with it."""


@dataclass(frozen=True)
class ParameterSpec:
    """One ``<parameter>``.

    ``unique_group`` is OCF 1.1's ``unique-group``; a 1.0 ``unique="1"``
    parameter is a group of its own (its name), as Pacemaker reads it.
    """

    name: str
    type: str = "string"
    default: str | None = None
    required: bool = False
    unique_group: str | None = None
    reloadable: bool = False
    private: bool = False
    deprecated: bool = False
    replaced_with: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    shortdesc: str = ""
    longdesc: str = ""


@dataclass(frozen=True)
class ActionSpec:
    """One ``<action>``: its default timeout and, for a monitor, interval and depth."""

    name: str
    timeout_ms: int | None = None
    interval_ms: int | None = None
    depth: int | None = None
    role: str | None = None
    start_delay_ms: int | None = None


@dataclass(frozen=True)
class AgentMetadata:
    """An agent's self-description.

    ``ocf_version`` is the ``<version>`` element (the OCF API version, 1.0
    when absent); ``agent_version`` the root's ``version`` attribute.
    ``problems`` lists what does not follow the OCF spec, for the agent's
    author; none of them stops vigil from running the agent.
    """

    name: str
    ocf_version: str = "1.0"
    agent_version: str = ""
    shortdesc: str = ""
    longdesc: str = ""
    parameters: tuple[ParameterSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    problems: tuple[str, ...] = field(default=(), compare=False)

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    def has_action(self, name: str) -> bool:
        return any(a.name == name for a in self.actions)

    def action(self, name: str, interval_ms: int | None = None) -> ActionSpec | None:
        """The action by name; for several (monitors), the one with this interval, else depth 0."""
        candidates = [a for a in self.actions if a.name == name]
        if interval_ms is not None:
            for candidate in candidates:
                if (candidate.interval_ms or 0) == interval_ms:
                    return candidate
        shallow = [a for a in candidates if not a.depth]
        chosen = shallow or candidates
        return chosen[0] if chosen else None

    def timeout_ms(self, name: str, interval_ms: int | None = None, default: int = 20_000) -> int:
        """The agent's advertised default timeout for an action, else ``default``."""
        spec = self.action(name, interval_ms)
        return spec.timeout_ms if spec is not None and spec.timeout_ms else default

    def monitor_interval_ms(self, default: int = 10_000) -> int:
        """The advertised recurring monitor interval (the first non-zero one)."""
        for spec in self.actions:
            if spec.name == "monitor" and spec.interval_ms and not spec.depth and spec.role is None:
                return spec.interval_ms
        return default


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    remove_comments=True,
    huge_tree=False,
)


def parse_metadata(data: bytes | str, where: str = "meta-data") -> AgentMetadata:
    """Parse an agent's meta-data output; raise :class:`MetadataError` when it is not meta-data."""
    raw = data.encode() if isinstance(data, str) else data
    if not raw.strip():
        raise MetadataError(f"{where}: the agent printed nothing")
    try:
        root = etree.fromstring(raw.strip(), _PARSER)
    except etree.XMLSyntaxError as err:
        raise MetadataError(f"{where}: not well-formed XML: {err}") from None
    if not isinstance(root.tag, str) or root.tag != "resource-agent":
        raise MetadataError(f"{where}: the root element is <{root.tag}>, not <resource-agent>")
    problems: list[str] = []
    name = root.get("name") or ""
    if not name:
        problems.append("<resource-agent> has no name attribute")
    version_text = _child_text(root, "version")
    if version_text is None:
        problems.append("no <version> element (the OCF API version); assuming 1.0")
    elif version_text not in ("1.0", "1.1"):
        problems.append(f"<version> is {version_text!r}; vigil knows OCF 1.0 and 1.1")
    shortdesc, longdesc = _descriptions(root)
    if not shortdesc:
        problems.append("no <shortdesc> for the agent")
    if not longdesc:
        problems.append("no <longdesc> for the agent")
    parameters = _parameters(root, problems)
    actions = _actions(root, problems)
    return AgentMetadata(
        name,
        version_text or "1.0",
        root.get("version") or "",
        shortdesc,
        longdesc,
        parameters,
        actions,
        tuple(problems),
    )


def missing_mandatory_actions(metadata: AgentMetadata) -> list[str]:
    """The mandatory OCF actions the meta-data does not advertise."""
    return [name for name in MANDATORY_ACTIONS if not metadata.has_action(name)]


@dataclass(frozen=True)
class ParamCheck:
    """Errors stop a start; warnings are shown and the start goes ahead."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def check_params(metadata: AgentMetadata, params: Mapping[str, str]) -> ParamCheck:
    """Check instance parameters against the agent's meta-data.

    Errors: a required parameter missing or empty.  Warnings: a value that
    is not of the declared type (:func:`type_mismatches`), a parameter the
    agent does not declare, a deprecated one.
    """
    errors: list[str] = []
    warnings: list[str] = []
    agent = metadata.name or "the agent"
    for spec in metadata.parameters:
        value = params.get(spec.name)
        if spec.required and not value:
            what = f" ({spec.shortdesc})" if spec.shortdesc else ""
            errors.append(
                f"required parameter '{spec.name}'{what} is missing: give it with {spec.name}=VALUE"
            )
            continue
        if value is None:
            continue
        mismatch = _type_mismatch(spec, value)
        if mismatch is not None:
            warnings.append(mismatch)
        if spec.deprecated:
            instead = f"; use {', '.join(spec.replaced_with)} instead" if spec.replaced_with else ""
            warnings.append(f"parameter '{spec.name}' is deprecated{instead}")
    declared = {p.name for p in metadata.parameters}
    for name in sorted(set(params) - declared - IMPLICIT_PARAMETERS):
        warnings.append(f"parameter '{name}' is not in {agent}'s meta-data; the agent will likely ignore it")
    return ParamCheck(tuple(errors), tuple(warnings))


def type_mismatches(metadata: AgentMetadata, params: Mapping[str, str]) -> list[str]:
    """The values that are not of the type the meta-data declares (integer, boolean, a select's options).

    Warnings, never refusals, as in Pacemaker, which does not check them at
    all: agents' own defaults break their declared types (``ocf:pacemaker:ping``
    declares ``dampen`` an integer and defaults it to ``1s``; four of
    ``rabbitmq-server-ha``'s "booleans" hold ports and addresses), and the
    agent is the judge of what it accepts.
    """
    found = (_type_mismatch(spec, params[spec.name]) for spec in metadata.parameters if spec.name in params)
    return [mismatch for mismatch in found if mismatch is not None]


def _type_mismatch(spec: ParameterSpec, value: str) -> str | None:
    given = "the agent is given it as it is"
    if spec.type == "integer" and not _INTEGER.fullmatch(value.strip()):
        return f"parameter '{spec.name}' is declared an integer, but is {value!r} ({given})"
    if spec.type == "boolean" and value.strip().lower() not in _BOOLEAN_VALUES:
        return (f"parameter '{spec.name}' is declared a boolean (true/false, yes/no, on/off, 1/0), "
                f"but is {value!r} ({given})")
    if spec.type == "select" and spec.options and value not in spec.options:
        return (f"parameter '{spec.name}' is declared one of {', '.join(spec.options)}, "
                f"but is {value!r} ({given})")
    return None


def _text(element: etree._Element) -> str:
    pieces = (t if isinstance(t, str) else t.decode("utf-8", "replace") for t in element.itertext())
    return " ".join("".join(pieces).split())


def _child_text(parent: etree._Element, tag: str) -> str | None:
    child = parent.find(tag)
    return None if child is None else _text(child)


def _descriptions(element: etree._Element) -> tuple[str, str]:
    """The English (or first) shortdesc and longdesc directly under ``element``."""
    found = {}
    for tag in ("shortdesc", "longdesc"):
        candidates = element.findall(tag)
        chosen = next((c for c in candidates if c.get("lang") in (None, "en")), None)
        if chosen is None and candidates:
            chosen = candidates[0]
        found[tag] = _text(chosen) if chosen is not None else ""
    return found["shortdesc"], found["longdesc"]


def _parameters(root: etree._Element, problems: list[str]) -> tuple[ParameterSpec, ...]:
    container = root.find("parameters")
    if container is None:
        problems.append("no <parameters> element (OCF requires one, even empty)")
        return ()
    specs: list[ParameterSpec] = []
    seen: set[str] = set()
    for element in container.findall("parameter"):
        name = element.get("name")
        if not name:
            problems.append("a <parameter> has no name; it is ignored")
            continue
        if name in seen:
            problems.append(f"parameter '{name}' is declared twice")
        seen.add(name)
        content = element.find("content")
        ptype = "string"
        default = None
        options: tuple[str, ...] = ()
        if content is None:
            problems.append(f"parameter '{name}' has no <content> (its type); taken as a string")
        else:
            ptype = content.get("type") or "string"
            default = content.get("default")
            options = tuple(o.get("value") or "" for o in content.findall("option"))
            if ptype not in PARAMETER_TYPES:
                problems.append(
                    f"parameter '{name}' has type {ptype!r}, not one of "
                    f"{', '.join(PARAMETER_TYPES)}; taken as a string"
                )
            if ptype == "select" and not options:
                problems.append(f"parameter '{name}' is a select without <option>s")
        shortdesc, longdesc = _descriptions(element)
        if not shortdesc:
            problems.append(f"parameter '{name}' has no <shortdesc>")
        group = element.get("unique-group") or (name if is_true(element.get("unique")) else None)
        deprecated = element.find("deprecated")
        replaced = (
            ()
            if deprecated is None
            else tuple(r.get("name") or "" for r in deprecated.findall("replaced-with"))
        )
        specs.append(
            ParameterSpec(
                name=name,
                type=ptype,
                default=default,
                required=is_true(element.get("required")),
                unique_group=group,
                reloadable=is_true(element.get("reloadable")),
                private=is_true(element.get("private")),
                deprecated=deprecated is not None or is_true(element.get("deprecated")),
                replaced_with=replaced,
                options=options,
                shortdesc=shortdesc,
                longdesc=longdesc,
            )
        )
    return tuple(specs)


def _duration(action: str, attribute: str, text: str | None, problems: list[str]) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_interval_ms(text)
    except ValueError:
        problems.append(f"action '{action}': {attribute} {text!r} is not a duration (e.g. 20s, 2m)")
        return None


def _actions(root: etree._Element, problems: list[str]) -> tuple[ActionSpec, ...]:
    container = root.find("actions")
    if container is None:
        problems.append("no <actions> element")
        return ()
    specs: list[ActionSpec] = []
    for element in container.findall("action"):
        name = element.get("name")
        if not name:
            problems.append("an <action> has no name; it is ignored")
            continue
        timeout = _duration(name, "timeout", element.get("timeout"), problems)
        if element.get("timeout") is None:
            problems.append(f"action '{name}' has no timeout")
        depth_text = element.get("depth")
        depth = int(depth_text) if depth_text is not None and depth_text.strip().isdigit() else None
        specs.append(
            ActionSpec(
                name=name,
                timeout_ms=timeout,
                interval_ms=_duration(name, "interval", element.get("interval"), problems),
                depth=depth,
                role=element.get("role"),
                start_delay_ms=_duration(name, "start-delay", element.get("start-delay"), problems),
            )
        )
    for name in MANDATORY_ACTIONS:
        if not any(s.name == name for s in specs):
            problems.append(f"mandatory action '{name}' is not advertised")
    return tuple(specs)


class MetadataCache:
    """Parsed meta-data per agent, dropped when the agent's file changes.

    Keyed by the agent and its file's (mtime, size), so an author editing
    an agent sees the new meta-data without restarting anything.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, int], AgentMetadata]] = {}

    def get(self, key: str, stamp: tuple[int, int]) -> AgentMetadata | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == stamp else None

    def put(self, key: str, stamp: tuple[int, int], metadata: AgentMetadata) -> None:
        self._entries[key] = (stamp, metadata)
