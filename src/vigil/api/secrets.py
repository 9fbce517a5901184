"""Secret parameters are shown only to those holding the token.

A parameter is secret when its agent's meta-data marks it ``private="1"``
(how Pacemaker tells which parameters to keep out of its secure digests), or
when its name says so, for agents that mark nothing (Pacemaker falls back on
``passwd`` and ``password`` the same way): any name holding ``passw``,
``secret``, ``token``, ``credential``, ``api-key``/``apikey``,
``private-key`` or ``community`` (an SNMP community), and a webhook's
``header-Authorization``, ``header-Proxy-Authorization`` and
``header-Cookie`` (and any header naming a key, token or secret).  The same
names are masked in alert agents' and recipients' parameters, and the
password in a URL's ``user:password@``.  A masked value is :data:`MASK`,
wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from vigil.errors import Problem
from vigil.executor.executor import Executor
from vigil.executor.request import AgentSpec
from vigil.model.bundle import expand_bundle
from vigil.model.config import Alert, AlertRecipient, Bundle, Config, Group, NvSet, Primitive, Resource

MASK = "****"
_SECRET_NAME = re.compile(r"passw|secret|token|credential|api[-_]?key|private[-_]?key|community",
                          re.IGNORECASE)
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@:\s]*:)(?P<password>[^/@\s]+)(?=@)",
                           re.IGNORECASE)

# The parameters an agent's meta-data marks private (empty when it has none, or no meta-data).
PrivateParams = Callable[[AgentSpec], Awaitable[frozenset[str]]]
Secret = Callable[[str], bool]


def is_secret_name(name: str) -> bool:
    """Does the name alone say the value is secret (whatever the agent's meta-data)?"""
    lowered = name.lower()
    header = lowered.removeprefix("header-")
    if header != lowered and header in _SECRET_HEADERS:
        return True
    return _SECRET_NAME.search(lowered) is not None


def private_params_of(executor: Executor) -> PrivateParams:
    """The private parameters of an agent, from its (cached) meta-data."""

    async def private(spec: AgentSpec) -> frozenset[str]:
        fetch = await executor.fetch_metadata(spec)
        if fetch.metadata is None:
            return frozenset()
        return frozenset(p.name for p in fetch.metadata.parameters if p.private)

    return private


async def masked_config(config: Config, private_params: PrivateParams | None) -> Config:
    """``config`` with every secret value replaced by :data:`MASK` (see the module docstring)."""
    private: dict[str, frozenset[str]] = {}
    if private_params is not None:
        for prim in (*config.primitives(), *config.templates):
            if prim.agent not in private:
                private[prim.agent] = await private_params(AgentSpec(prim.cls, prim.type, prim.provider))
    return mask_config(config, private)


def mask_config(config: Config, private: Mapping[str, frozenset[str]]) -> Config:
    """``config`` with every secret value masked; ``private`` holds each agent's private parameters."""

    def primitive(prim: Primitive) -> Primitive:
        marked = private.get(prim.agent, frozenset())
        return _mask_primitive(prim, lambda name: name in marked or is_secret_name(name))

    def group(rsc: Group) -> Group:
        return replace(rsc, members=tuple(primitive(member) for member in rsc.members))

    def resource(rsc: Resource) -> Resource:
        if isinstance(rsc, Primitive):
            return primitive(rsc)
        if isinstance(rsc, Group):
            return group(rsc)
        if isinstance(rsc, Bundle):
            return expand_bundle(replace(rsc, child=primitive(rsc.child) if rsc.child is not None else None))
        child = rsc.child
        return replace(rsc, child=primitive(child) if isinstance(child, Primitive) else group(child))

    return replace(config, resources=tuple(resource(rsc) for rsc in config.resources),
                   templates=tuple(primitive(template) for template in config.templates),
                   alerts=tuple(_mask_alert(alert) for alert in config.alerts))


def mask_value(value: str) -> str:
    """A value that is not secret as a whole, with the password of any URL in it masked."""
    return _URL_PASSWORD.sub(lambda found: found["head"] + MASK, value)


def _mask_pairs(pairs: tuple[tuple[str, str], ...], secret: Secret) -> tuple[tuple[str, str], ...]:
    return tuple((name, MASK if secret(name) else mask_value(value)) for name, value in pairs)


def _mask_sets(sets: tuple[NvSet, ...], secret: Secret) -> tuple[NvSet, ...]:
    return tuple(replace(nvset, values=_mask_pairs(nvset.values, secret)) for nvset in sets)


def _mask_primitive(prim: Primitive, secret: Secret) -> Primitive:
    ops = tuple(replace(op, params=_mask_pairs(op.params, secret)) if op.params else op for op in prim.ops)
    return replace(prim, params=_mask_sets(prim.params, secret), ops=ops)


def _mask_alert(alert: Alert) -> Alert:
    recipients = tuple(_mask_recipient(recipient) for recipient in alert.recipients)
    return replace(alert, path=mask_value(alert.path), params=_mask_sets(alert.params, is_secret_name),
                   recipients=recipients)


def _mask_recipient(recipient: AlertRecipient) -> AlertRecipient:
    return replace(recipient, value=mask_value(recipient.value),
                   params=_mask_sets(recipient.params, is_secret_name))


def placeholder_problems(config: Config) -> list[Problem]:
    """Parameters whose value is the mask: a configuration read without the token and loaded
    back would otherwise replace each real secret with :data:`MASK`."""
    return [Problem(where, f"parameter {name} is {value!r}, with the mask {MASK!r} that a read without "
                           "the token shows in place of a secret: put the real value in, or read the "
                           "configuration with the token (docs/security.md)")
            for where, params in _all_params(config) for name, value in params if _is_masked(value)]


def _is_masked(value: str) -> bool:
    return value == MASK or f":{MASK}@" in value


def _all_params(config: Config) -> list[tuple[str, list[tuple[str, str]]]]:
    found = [(f"resource {prim.id}", _pairs(prim.params) + [p for op in prim.ops for p in op.params])
             for prim in (*config.primitives(), *config.templates)]
    for alert in config.alerts:
        found.append((f"alert {alert.id}", _pairs(alert.params)))
        found += [(f"alert {alert.id} recipient {r.id}", _pairs(r.params)) for r in alert.recipients]
    return found


def _pairs(sets: tuple[NvSet, ...]) -> list[tuple[str, str]]:
    return [pair for nvset in sets for pair in nvset.values]
