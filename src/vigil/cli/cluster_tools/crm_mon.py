"""``crm_mon``: the cluster's status, once, as text or as crm_mon's XML.

``--output-as=xml``, ``--as-xml`` and ``-X`` print the XML Pacemaker's
crm_mon prints (the daemon renders it: ``GET /api/v1/status?format=xml``),
valid against Pacemaker's own schema; otherwise the text ``vigil status``
shows.  ``-s`` prints one Nagios-style line (``CLUSTER OK: ...``).  The
display options (``-1 -r -A -f -n -o -t -R -c -j -b -D -Q`` ...) are
accepted: vigil always shows everything once.  Watching (without ``-1``,
or ``-d``) is not offered to agents, nor is HTML.

``CIB_file`` (how ``crm_mon_no_validation`` hands crm_mon the output of
``cibadmin -Q``) is read and set aside: the status always comes from the
running cluster, which is where that CIB came from.
"""

from __future__ import annotations

import os
from typing import Any

from vigil.cli.cluster_tools.common import EXIT_OK, EXIT_USAGE, Parser, ToolError, emit
from vigil.cli.cluster_tools.connection import Daemon

NAME = "crm_mon"
# Nagios' plugin exit codes, for -s.
NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL = 0, 1, 2
_FLAGS = (("-1", "--one-shot"), ("-r", "--inactive"), ("-A", "--show-node-attributes"),
          ("-f", "--failcounts"), ("-n", "--group-by-node"), ("-o", "--operations"),
          ("-t", "--timing-details"), ("-R", "--show-detail"), ("-c", "--tickets"), ("-j", "--pending"),
          ("-b", "--brief"), ("-D", "--hide-headers"), ("-Q", "--quiet"), ("-k", "--watch-fencing"),
          ("-l", "--no-summary"))


def parser() -> Parser:
    p = Parser(NAME, "The cluster's status, once (vigil's crm_mon).", help_flags=("-?", "--help"))
    for short, long in _FLAGS:
        p.add_argument(short, long, action="store_true", help="Accepted.")
    p.add_argument("--output-as", default="text", help="text or xml.")
    p.add_argument("--output-to", default="-", help="A file, or - for stdout.")
    p.add_argument("-X", "--as-xml", action="store_true", help="The same as --output-as=xml.")
    p.add_argument("-s", "--simple-status", action="store_true", help="One line, for Nagios.")
    p.add_argument("-m", "--fence-history", nargs="?", const="2", help="Accepted.")
    p.add_argument("-L", "--neg-locations", nargs="?", const="", help="Accepted.")
    p.add_argument("-I", "--include", action="append", help="Accepted.")
    p.add_argument("--exclude", action="append", help="Accepted.")
    p.add_argument("-i", "--interval", help="Accepted.")
    p.add_argument("-d", "--daemonize", action="store_true", help="Not offered.")
    p.add_argument("-h", "--as-html", help="Not offered.")
    p.add_argument("-w", "--web-cgi", action="store_true", help="Not offered.")
    p.add_argument("-E", "--external-agent", help="Not offered.")
    p.add_argument("-p", "--pid-file", help="Not offered.")
    return p


def _drain_cib_file() -> None:
    """Read ``$CIB_file`` to its end (a pipe's writer then finishes), and set it aside."""
    name = os.environ.get("CIB_file")  # noqa: SIM112 (Pacemaker's own spelling)
    if not name:
        return
    try:
        with open(name, "rb") as handle:
            while handle.read(65536):
                pass
    except OSError:
        pass


def main(argv: list[str]) -> int:
    options = parser().parse(argv)
    if options.daemonize or options.as_html or options.web_cgi or options.external_agent or options.pid_file:
        raise ToolError("only a one-shot status is offered to agents (crm_mon -1, text or xml); "
                        "watch the cluster with `vigil status` or its API", EXIT_USAGE)
    fmt = "xml" if options.as_xml else options.output_as.lower()
    if fmt not in ("text", "xml"):
        raise ToolError(f"--output-as {options.output_as}: vigil's crm_mon prints text or xml", EXIT_USAGE)
    _drain_cib_file()
    daemon = Daemon.find()
    if options.simple_status:
        line, code = simple_status(daemon.get("/api/v1/status"))
        _write(options.output_to, line + "\n")
        return code
    text = daemon.text("/api/v1/status", format=fmt)
    _write(options.output_to, text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def _write(target: str, text: str) -> None:
    if target in ("-", ""):
        emit(text.rstrip("\n"))
        return
    try:
        with open(target, "w") as handle:
            handle.write(text)
    except OSError as error:
        raise ToolError(f"cannot write {target}: {error.strerror}") from None


def simple_status(report: dict[str, Any]) -> tuple[str, int]:
    """crm_mon -s: one line and its Nagios exit code, from the JSON status."""
    nodes = report.get("nodes", [])
    offline = [node["name"] for node in nodes if not node.get("online")]
    if not report.get("have_quorum", True):
        return "CLUSTER CRIT: No quorum", NAGIOS_CRITICAL
    if offline:
        return f"CLUSTER WARN: offline node{'s' if len(offline) > 1 else ''}: {', '.join(offline)}", \
            NAGIOS_WARNING
    instances = sum(len(_primitives(rsc)) for rsc in report.get("resources", []))
    online = len(nodes) - len(offline)
    return (f"CLUSTER OK: {online} node{'s' if online != 1 else ''} online, {instances} resource "
            f"instance{'s' if instances != 1 else ''} configured"), NAGIOS_OK


def _primitives(rsc: dict[str, Any]) -> list[dict[str, Any]]:
    if rsc.get("kind") == "primitive":
        return [rsc]
    return [p for member in rsc.get("members", []) for p in _primitives(member)]

