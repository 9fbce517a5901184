"""A resource's operation history as ``vigil history`` shows it: one line per result.

Each result of the operation log (every one, not only the latest per
operation as the status keeps) with its exit code and execution status, the
agent's exit reason, and for stops and starts the stop context the action
carried: why it ran, whether it was final, what caused it, how many
recoveries were left.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from vigil.model.results import ExecStatus, OcfRc, rc_name, status_label
from vigil.model.status import OpRecord
from vigil.model.stop_context import context_items

if TYPE_CHECKING:
    from vigil.store.base import LogEntry


def task_name(operation: str, interval_ms: int) -> str:
    """``probe`` for a one-shot monitor, else the operation."""
    return "probe" if operation == "monitor" and interval_ms == 0 else operation


def is_failed(record: OpRecord) -> bool:
    """Did the result differ from what was expected (a probe may find either state)?"""
    if record.op_status != ExecStatus.DONE:
        return record.op_status not in (ExecStatus.PENDING, ExecStatus.CANCELLED)
    expected = record.expected_rc
    if record.is_probe:
        return record.rc not in (OcfRc.SUCCESS, OcfRc.NOT_RUNNING, OcfRc.RUNNING_PROMOTED)
    return expected is not None and record.rc != expected


@dataclass(frozen=True)
class HistoryEntry:
    revision: int
    time: int | None
    node: str
    resource: str
    task: str
    interval_ms: int
    rc: int
    rc_name: str
    status: str
    failed: bool
    call_id: int
    exit_reason: str | None = None
    exec_time_ms: int | None = None
    # The stop context the action was given (stop_reason, stop_final, ..., start_reason).
    context: tuple[tuple[str, str], ...] = ()


def history_entries(log: Iterable[LogEntry]) -> list[HistoryEntry]:
    entries = []
    for item in log:
        record = item.record
        meta = dict(item.meta)
        entries.append(HistoryEntry(
            revision=item.revision,
            time=record.last_rc_change if record.last_rc_change is not None else record.last_run,
            node=item.node,
            resource=item.resource,
            task=task_name(record.operation, record.interval_ms),
            interval_ms=record.interval_ms,
            rc=record.rc,
            rc_name=rc_name(record.rc),
            status=status_label(record.op_status),
            failed=is_failed(record),
            call_id=record.call_id,
            exit_reason=record.exit_reason,
            exec_time_ms=record.exec_time_ms,
            context=context_items(meta),
        ))
    return entries


def format_time(epoch: int | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def format_interval(interval_ms: int) -> str:
    if interval_ms == 0:
        return "0"
    if interval_ms % 1000 == 0:
        return f"{interval_ms // 1000}s"
    return f"{interval_ms}ms"


def render_history(entries: list[HistoryEntry]) -> str:
    """One line per result: time, node, resource, task, interval, rc (OCF name), status, context."""
    if not entries:
        return "No operations recorded.\n"
    lines = []
    for entry in entries:
        text = (f"{format_time(entry.time)}  {entry.node}  {entry.resource}  {entry.task}"
                f"  interval={format_interval(entry.interval_ms)}  rc={entry.rc} ({entry.rc_name})"
                f"  status={entry.status}")
        if entry.failed:
            text += "  FAILED"
        if entry.exit_reason:
            text += f"  exit-reason={entry.exit_reason!r}"
        if entry.context:
            text += "  " + " ".join(f"{key}={value}" for key, value in entry.context)
        lines.append(text)
    return "\n".join(lines) + "\n"
