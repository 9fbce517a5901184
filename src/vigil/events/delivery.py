"""Delivering one event to one target: run an alert agent, or POST to a webhook.

Alert agents run through a :class:`~vigil.executor.process.Spawner`, so a
timeout ends the agent's whole process group (TERM, then KILL), and their
output is captured with a cap and logged.  Webhooks are POSTed with httpx:
the event as JSON, each attempt bounded by the alert's timeout, retried
with a doubling back-off on a connection error, a timeout, a 5xx or a 429
(a 4xx other than 429 is the receiver refusing the event: not retried).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from vigil.events.alerts import AlertTarget
from vigil.events.environment import agent_environment, run_keys
from vigil.events.model import Event, event_fields
from vigil.executor.process import Spawner, SpawnerClosed

log = logging.getLogger(__name__)

# The longest back-off between two webhook attempts.
MAX_RETRY_DELAY_S = 30.0
_OUTPUT_LOG_LIMIT = 2000
_HEADER_PREFIX = "header-"


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    FAILED = "failed"
    TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Delivery:
    """What became of one delivery."""

    target: AlertTarget
    outcome: Outcome
    detail: str = ""
    attempts: int = 1


def _text(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text if len(text) <= _OUTPUT_LOG_LIMIT else text[:_OUTPUT_LOG_LIMIT] + " [...]"


async def run_agent(spawner: Spawner, event: Event, target: AlertTarget, sequence: int,
                    inherited: Mapping[str, str]) -> Delivery:
    """Run ``target``'s agent for ``event``; never raises for the agent's misbehaviour."""
    env = agent_environment(event, target, sequence, inherited)
    try:
        proc = await spawner.run([target.path], env, target.timeout_ms / 1000, cwd="/")
    except SpawnerClosed:
        return Delivery(target, Outcome.FAILED, "vigil is shutting down")
    output = "; ".join(f"{name}: {_text(data)}" for name, data in (("stdout", proc.stdout),
                                                                    ("stderr", proc.stderr)) if data.strip())
    if proc.spawn_errno is not None:
        log.warning("alert %s: cannot run %s: %s", target.name, target.path, proc.spawn_error)
        return Delivery(target, Outcome.FAILED, f"cannot run {target.path}: {proc.spawn_error}")
    if proc.timed_out:
        log.warning("alert %s: %s did not finish within its timeout of %d ms; its process group was ended",
                    target.name, target.path, target.timeout_ms)
        return Delivery(target, Outcome.TIMED_OUT, f"timed out after {target.timeout_ms} ms")
    if proc.cancelled:
        return Delivery(target, Outcome.FAILED, "cancelled: vigil is shutting down")
    if proc.exit_code != 0:
        how = (f"exited with {proc.exit_code}" if proc.exit_code is not None
               else f"killed by signal {proc.signal}")
        log.warning("alert %s: %s %s%s", target.name, target.path, how, f" ({output})" if output else "")
        return Delivery(target, Outcome.FAILED, how)
    if output:
        log.info("alert %s: %s said: %s", target.name, target.path, output)
    log.debug("alert %s: %s done for %s", target.name, target.path, event.kind)
    return Delivery(target, Outcome.DELIVERED)


def webhook_body(event: Event, target: AlertTarget, sequence: int, origin: str) -> dict[str, object]:
    """The JSON a webhook receives: the event's fields, where and when it was sent
    from, and the ``CRM_alert_*`` keys an alert agent would have been given."""
    body: dict[str, object] = {
        "version": 1,
        "origin": origin,
        "alert": target.alert_id,
        "recipient": target.recipient,
        "sequence": sequence,
    }
    body.update(event_fields(event))
    keys = run_keys(event, target, sequence)
    body["timestamp"] = keys["CRM_alert_timestamp"]
    body["environment"] = keys
    return body


async def post_webhook(client: httpx.AsyncClient, event: Event, target: AlertTarget, sequence: int,
                       origin: str) -> Delivery:
    """POST ``event`` to ``target.recipient``, retrying; never raises for the receiver's faults."""
    if not target.recipient.startswith(("http://", "https://")):
        log.warning("alert %s: a webhook recipient must be an http:// or https:// URL", target.name)
        return Delivery(target, Outcome.FAILED, "not a URL", attempts=0)
    content = json.dumps(webhook_body(event, target, sequence, origin)).encode()
    headers = {"content-type": "application/json", "user-agent": "vigil-events/1"}
    headers.update({name[len(_HEADER_PREFIX):]: value for name, value in target.params
                    if name.startswith(_HEADER_PREFIX) and len(name) > len(_HEADER_PREFIX)})
    delay = target.retry_delay_ms / 1000
    detail = ""
    outcome = Outcome.FAILED
    attempts = 0
    for attempt in range(1 + target.retries):
        attempts = attempt + 1
        if attempt:
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
        try:
            response = await client.post(target.recipient, content=content, headers=headers,
                                         timeout=target.timeout_ms / 1000)
        except httpx.TimeoutException:
            outcome, detail = Outcome.TIMED_OUT, f"no answer within {target.timeout_ms} ms"
            continue
        except httpx.HTTPError as error:
            outcome, detail = Outcome.FAILED, f"{type(error).__name__}: {error}"
            continue
        if response.is_success:
            log.debug("alert %s: POSTed %s (attempt %d)", target.name, event.kind, attempts)
            return Delivery(target, Outcome.DELIVERED, f"HTTP {response.status_code}", attempts)
        outcome, detail = Outcome.FAILED, f"HTTP {response.status_code}"
        if response.status_code < 500 and response.status_code != 429:
            break
    log.warning("alert %s: could not deliver a %s event after %d attempt(s): %s", target.name, event.kind,
                attempts, detail)
    return Delivery(target, outcome, detail, attempts)
