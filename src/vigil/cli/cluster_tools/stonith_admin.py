"""``stonith_admin``: fence a node, list the devices that may fence it, show the fence history.

- ``-B HOST`` (``--reboot``), ``-F HOST`` (``--fence``, off): fence through
  the cluster's devices, as ``vigil node fence`` does, and wait for the
  result (``-t`` seconds at most; a node does not fence itself in a cluster);
- ``-l HOST``: the configured devices that may fence HOST (named in their
  ``pcmk_host_list``/``pcmk_host_map``, or naming no host at all);
- ``-H NODE`` (``*``: every node): the last successful fencing of each node,
  every recorded one with ``--verbose``; with ``--output-as xml``, every one,
  as Pacemaker's ``<fence_event>`` elements.

``--output-as xml`` wraps any answer in ``<pacemaker-result>``, valid against
Pacemaker's schema.  ``-T``/``--tag``, ``--tolerance``, ``-y`` are accepted.
"""

from __future__ import annotations

import argparse
import shlex
import time
from typing import Any
from xml.sax.saxutils import quoteattr

from vigil.cli.cluster_tools.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, Parser, ToolError, emit
from vigil.cli.cluster_tools.connection import ApiError, Daemon, path

NAME = "stonith_admin"
API_VERSION = "2.25"
DEFAULT_TIMEOUT_S = 120


def parser() -> Parser:
    p = Parser(NAME, "Fence a node, list its fence devices, show the fence history (vigil's stonith_admin).",
               help_flags=("-?", "--help"))
    p.add_argument("-B", "--reboot", metavar="HOST", help="Fence HOST by rebooting it.")
    p.add_argument("-F", "--fence", metavar="HOST", help="Fence HOST by powering it off.")
    p.add_argument("-l", "--list", metavar="HOST", help="The devices that may fence HOST.")
    p.add_argument("-H", "--history", metavar="NODE", help="The fence history of NODE (* for every node).")
    p.add_argument("-q", "--quiet", action="store_true", help="Less output.")
    p.add_argument("-t", "--timeout", type=int, default=DEFAULT_TIMEOUT_S, help="Seconds to wait at most.")
    p.add_argument("-T", "--tag", help="Accepted.")
    p.add_argument("-y", "--delay", help="Accepted.")
    p.add_argument("--tolerance", help="Accepted.")
    p.add_argument("-b", "--broadcast", action="store_true", help="Accepted.")
    p.add_argument("--output-as", default="text", choices=["text", "xml"], help="text or xml.")
    return p


def main(argv: list[str]) -> int:
    options = parser().parse(argv)
    request = " ".join(shlex.quote(arg) for arg in [NAME, *argv])
    xml = options.output_as == "xml"
    try:
        lines = _run(options, xml)
    except ToolError as error:
        if not xml:
            raise
        emit(result_xml(request, [], error.exit_code, error.message))
        return error.exit_code
    if xml:
        emit(result_xml(request, lines))
    elif lines:
        emit("\n".join(lines))
    return EXIT_OK


def _run(options: argparse.Namespace, xml: bool) -> list[str]:
    if options.reboot or options.fence:
        target = options.reboot or options.fence
        _fence(target, "reboot" if options.reboot else "off", options.timeout)
        return []
    if options.list:
        devices = Daemon.find().get("/api/v1/fencing/devices", target=options.list)["devices"]
        return device_lines(devices, xml, options.quiet)
    if options.history:
        target = None if options.history == "*" else options.history
        entries = Daemon.find().get("/api/v1/fencing/history", target=target)
        return history_lines(entries, xml, verbose=options.verbose > 0)
    raise ToolError("give a command: --reboot HOST, --fence HOST, --list HOST or --history NODE", EXIT_USAGE)


def _fence(target: str, action: str, timeout_s: int) -> None:
    try:
        Daemon.find().change("POST", path("nodes", target, "fence"), {"action": action},
                             timeout=max(1, timeout_s) + 30)
    except ApiError as error:
        raise ToolError(f"Couldn't {action} {target}: {error.message}", EXIT_ERROR) from None


def device_lines(devices: list[str], xml: bool, quiet: bool) -> list[str]:
    if xml:
        items = "".join(f"\n    <item>{_escape(device)}</item>" for device in devices)
        return [f'  <list name="fence-devices" count="{len(devices)}">{items}\n  </list>']
    if quiet:
        return list(devices)
    count = len(devices)
    return [*devices, f"{count} fence device{'s' if count != 1 else ''} found"]


def _when(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(epoch))


def history_lines(entries: list[dict[str, Any]], xml: bool, verbose: bool) -> list[str]:
    """The fence history as stonith_admin shows it (text: the last success per node unless verbose)."""
    if xml:
        events = "".join(f"\n    {fence_event(entry)}" for entry in reversed(entries))
        return [f'  <list name="event" count="{len(entries)}">{events}\n  </list>']
    shown = entries if verbose else _last_successes(entries)
    return [_event_text(entry) for entry in reversed(shown)]


def _last_successes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["succeeded"]:
            last[entry["target"]] = entry
    return sorted(last.values(), key=lambda entry: entry["completed"])


def _event_text(entry: dict[str, Any]) -> str:
    outcome = "successful" if entry["succeeded"] else "failed"
    when = "completed" if entry["succeeded"] else "last-failed"
    return (f"{entry['action']} of {entry['target']} {outcome}: delegate={entry['executioner']}, "
            f"client={entry['client']}, origin={entry['origin']}, {when}='{_when(entry['completed'])}'")


def fence_event(entry: dict[str, Any]) -> str:
    """One ``<fence_event>`` (Pacemaker's fence-event-2.15 schema)."""
    attributes = {"action": entry["action"], "target": entry["target"], "client": entry["client"] or "vigil",
                  "origin": entry["origin"] or entry["executioner"] or "unknown",
                  "status": "success" if entry["succeeded"] else "failed",
                  "delegate": entry["executioner"], "completed": _when(entry["completed"])}
    shown = " ".join(f"{name}={quoteattr(str(value))}" for name, value in attributes.items() if value)
    return f"<fence_event {shown}/>"


def result_xml(request: str, body: list[str], code: int = EXIT_OK, error: str | None = None) -> str:
    """``<pacemaker-result>`` around ``body`` with its ``<status>``."""
    if error is None:
        status = f'  <status code="{code}" message="OK"/>'
    else:
        status = (f'  <status code="{code}" message="Error occurred">\n    <errors>\n'
                  f"      <error>{_escape(error)}</error>\n    </errors>\n  </status>")
    inner = "\n".join([*body, status])
    return f'<pacemaker-result api-version="{API_VERSION}" request={quoteattr(request)}>\n{inner}\n' \
           "</pacemaker-result>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
