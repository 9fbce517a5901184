"""CIB pieces for the event tests: alerts, and the daemon tests' CIB with them (and fencing, if asked)."""

from __future__ import annotations

import asyncio

from tests.daemon.conftest import Daemon, cib
from vigil.daemon.statedir import store_url
from vigil.store import open_store


def nvpairs(owner: str, pairs: dict[str, str]) -> str:
    return "".join(f'<nvpair id="{owner}-{i}" name="{k}" value="{v}"/>'
                   for i, (k, v) in enumerate(pairs.items()))


def alert(alert_id: str, path: str, recipients: dict[str, str] | tuple[str, ...] = (), *,
          meta: dict[str, str] | None = None, params: dict[str, str] | None = None,
          select: tuple[str, ...] | None = None,
          recipient_params: dict[str, dict[str, str]] | None = None) -> str:
    """An <alert>; ``recipients`` maps ids to values (a tuple: ids made up); ``select``: kinds like
    ``nodes``, ``resources``, ``attributes``, ``fencing``."""
    named = (recipients if isinstance(recipients, dict)
             else {f"{alert_id}-r{i}": value for i, value in enumerate(recipients)})
    parts = [f'<alert id="{alert_id}" path="{path}">']
    if meta:
        parts.append(f'<meta_attributes id="{alert_id}-meta">{nvpairs(alert_id + "-m", meta)}'
                     "</meta_attributes>")
    if params:
        parts.append(f'<instance_attributes id="{alert_id}-attrs">{nvpairs(alert_id + "-p", params)}'
                     "</instance_attributes>")
    if select is not None:
        parts.append("<select>" + "".join(f"<select_{kind}/>" for kind in select) + "</select>")
    for rid, value in named.items():
        own = (recipient_params or {}).get(rid)
        inner = (f'<instance_attributes id="{rid}-attrs">{nvpairs(rid + "-p", own)}</instance_attributes>'
                 if own else "")
        parts.append(f'<recipient id="{rid}" value="{value}">{inner}</recipient>')
    parts.append("</alert>")
    return "".join(parts)


def events_cib(resources: str, alerts: str, *, options: str = "", fencing: bool = False) -> str:
    """The daemon tests' CIB with ``<alerts>``; ``fencing`` turns stonith-enabled on."""
    text = cib(resources, options=options).replace("</configuration>",
                                                   f"<alerts>{alerts}</alerts>\n  </configuration>")
    if fencing:
        text = text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')
    return text


def cleanup(daemon: Daemon, rsc: str) -> None:
    """What `crm_resource --cleanup` does, from another process: fail-counts and history forgotten."""
    async def run() -> None:
        async with open_store(store_url(daemon.state_dir), create=False) as store:
            await store.clear_failcount(daemon.node, rsc)
            await store.forget_resource(daemon.node, rsc)

    asyncio.run(run())


def fail_count(daemon: Daemon, rsc: str) -> str | None:
    return daemon.attribute(f"fail-count-{rsc}#monitor_1000")
