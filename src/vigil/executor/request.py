"""The executor's input: which agent, which action, with what.

The executor knows nothing of scheduling.  Whatever decided the action
(the controller running a transition, ``vigil agent run``, the agent test
bench) hands it an :class:`ActionRequest`: a frozen value holding every
fact the agent's environment is built from, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vigil.model.names import is_plain_name

# Pacemaker's default operation timeout.
DEFAULT_TIMEOUT_MS = 20_000

STANDARDS = ("ocf", "lsb", "systemd", "service")

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AgentSpec:
    """An agent, as a CIB names it: ``ocf:heartbeat:Dummy``, ``lsb:logd``, ``systemd:httpd``.

    ``path`` is set for an agent given by its file (``vigil agent test
    ./myagent``) rather than found under the OCF root.
    """

    standard: str
    type: str
    provider: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return self.path
        if self.provider is not None:
            return f"{self.standard}:{self.provider}:{self.type}"
        return f"{self.standard}:{self.type}"

    @classmethod
    def parse(cls, text: str) -> AgentSpec:
        """Read ``ocf:PROVIDER:TYPE``, ``lsb:NAME``, ``systemd:UNIT``, ``service:NAME`` or an agent's path.

        Raises ``ValueError`` with a message that says what form is expected.
        """
        if "/" in text:
            return cls.for_path(text)
        parts = text.split(":")
        standard = parts[0].lower()
        if standard == "ocf" and len(parts) == 3 and all(is_plain_name(p) for p in parts[1:]):
            return cls("ocf", parts[2], parts[1])
        if standard in ("lsb", "systemd", "service") and len(parts) == 2 and is_plain_name(parts[1]):
            return cls(standard, parts[1])
        raise ValueError(
            f"{text!r} is not an agent: use ocf:PROVIDER:TYPE (e.g. ocf:heartbeat:Dummy), "
            "lsb:NAME (a script in the init directory), systemd:UNIT (e.g. systemd:httpd), "
            "service:NAME, or a path to an OCF agent"
        )

    @classmethod
    def for_path(cls, path: str) -> AgentSpec:
        """An OCF agent given by its file.

        Its provider is the directory it sits in when that directory is
        under a ``resource.d``, as on an installed system; otherwise there is
        none, and the agent gets no ``OCF_RESOURCE_PROVIDER``.
        """
        parts = path.rstrip("/").split("/")
        provider = parts[-2] if len(parts) >= 3 and parts[-3] == "resource.d" else None
        return cls("ocf", parts[-1], provider, path)


def _pairs(values: Mapping[str, str] | Iterable[tuple[str, str]]) -> Pairs:
    items = values.items() if isinstance(values, Mapping) else values
    return tuple(sorted((str(k), str(v)) for k, v in items))


@dataclass(frozen=True)
class ActionRequest:
    """One action to run on this node.

    - ``resource_id``: the resource as the cluster knows it; a clone instance
      keeps its number (``ping:1``).
    - ``instance``: the name the agent sees (``OCF_RESOURCE_INSTANCE``);
      None derives it as Pacemaker does: without ``:N`` for an anonymous
      clone instance (meta ``clone`` set, ``globally_unique`` not true).
    - ``params``: instance attributes, exported as ``OCF_RESKEY_<name>``.
    - ``meta``: resource and operation meta attributes plus whatever the
      transition attached (the stop context), exported as
      ``OCF_RESKEY_CRM_meta_<name>`` with ``-`` turned into ``_``.
    - ``interval_ms`` and ``timeout_ms``: the operation's; the timeout is
      enforced by the executor and told to the agent.

    ``params`` and ``meta`` are sorted tuples of pairs, like the model's
    ``Action.meta``, so a request is hashable; :meth:`create` accepts dicts.
    """

    resource_id: str
    agent: AgentSpec
    action: str
    params: Pairs = ()
    meta: Pairs = ()
    interval_ms: int = 0
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    node_name: str = ""
    node_uuid: str = ""
    instance: str | None = None

    def __post_init__(self) -> None:
        if self.timeout_ms <= 0:
            raise ValueError(f"timeout must be positive, not {self.timeout_ms} ms")
        if self.interval_ms < 0:
            raise ValueError(f"interval cannot be negative ({self.interval_ms} ms)")
        if not self.action or "/" in self.action or self.action.startswith("-"):
            raise ValueError(f"{self.action!r} is not an action name")
        for kind, pairs in (("parameter", self.params), ("meta attribute", self.meta)):
            for key, value in pairs:
                if not key or "=" in key or "\0" in key:
                    raise ValueError(f"{key!r} cannot be a {kind} name (no '=', no NUL, not empty)")
                if "\0" in value:
                    raise ValueError(f"{kind} {key!r}: a value cannot contain a NUL byte")

    @classmethod
    def create(
        cls,
        resource_id: str,
        agent: AgentSpec | str,
        action: str,
        params: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        meta: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        interval_ms: int = 0,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        node_name: str = "",
        node_uuid: str = "",
        instance: str | None = None,
    ) -> ActionRequest:
        """Build a request from dicts (or pairs) and an agent given as text."""
        spec = agent if isinstance(agent, AgentSpec) else AgentSpec.parse(agent)
        return cls(
            resource_id,
            spec,
            action,
            _pairs(params),
            _pairs(meta),
            interval_ms,
            timeout_ms,
            node_name,
            node_uuid,
            instance,
        )

    @property
    def params_dict(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def meta_dict(self) -> dict[str, str]:
        return dict(self.meta)

    @property
    def is_probe(self) -> bool:
        """A one-time monitor: the cluster asking "is it running here?"."""
        return self.action == "monitor" and self.interval_ms == 0
