#!/usr/bin/env python3
"""alert_haproxy: take a backend server out of haproxy when the cluster gives up on it.

An alert agent (Pacemaker's alert interface, plus vigil's stop context).
Configure it like Pacemaker's sample agents; the recipient is haproxy's
admin socket (``stats socket /run/haproxy/admin.sock level admin``):

    <alert id="haproxy" path="/usr/local/lib/vigil/alert_haproxy.py">
      <instance_attributes id="haproxy-attrs">
        <nvpair id="haproxy-server" name="haproxy_server" value="be_{rsc}/{node}"/>
        <nvpair id="haproxy-rscs" name="haproxy_resources" value="web api"/>
      </instance_attributes>
      <select><select_resources/></select>
      <recipient id="haproxy-sock" value="/run/haproxy/admin.sock"/>
    </alert>

What it does, per resource event of a listed resource:

- a successful **stop that is final** (``CRM_alert_stop_final=true``: the
  cluster will not run the resource on this node again) and the
  **recovery-exhausted** event: ``set server BACKEND/SERVER state maint``;
- a **non-final stop** (a restart in place): nothing, haproxy's health checks
  cover the few seconds it takes;
- a successful **start**: ``set server BACKEND/SERVER state ready``.

Under Pacemaker, which has no stop context, every stop is taken as final
(the safe choice).  Instance attributes (plain environment variables):

- ``haproxy_server``: the server that stands for resource {rsc} on node
  {node}; default ``{rsc}/{node}`` (a backend named after the resource, a
  server after the node);
- ``haproxy_resources``: the resources to act for, separated by spaces
  (default: every resource);
- ``haproxy_timeout``: seconds to wait for haproxy (default 5).

Exit code 0 when haproxy took the command or nothing had to be done, 1 when
haproxy could not be reached or refused the command (said on stderr).
"""

import os
import socket
import sys


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def wanted_state() -> str | None:
    """maint, ready, or None (nothing to do) for this event."""
    if env("CRM_alert_kind") != "resource":
        return None
    task = env("CRM_alert_task")
    if task == "recovery-exhausted":
        return "maint"
    done_ok = env("CRM_alert_status") == "0" and env("CRM_alert_rc") == "0"
    if task == "stop" and done_ok:
        return "maint" if env("CRM_alert_stop_final", "true") == "true" else None
    if task == "start" and done_ok:
        return "ready"
    return None


def tell_haproxy(path: str, command: str, timeout: float) -> str:
    """Send one command on the admin socket; haproxy's answer (empty: done)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(command.encode() + b"\n")
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    return answer.decode("utf-8", "replace").strip()


def main() -> int:
    if not env("CRM_alert_version"):
        print(f"{sys.argv[0]} must be run as an alert agent (vigil, or Pacemaker 1.1.15 or later)")
        return 0
    socket_path = env("CRM_alert_recipient")
    if not socket_path:
        print(f"{sys.argv[0]} needs a recipient: the path of haproxy's admin socket", file=sys.stderr)
        return 0
    resources = env("haproxy_resources").split()
    rsc, node = env("CRM_alert_rsc"), env("CRM_alert_node")
    state = wanted_state()
    if state is None or (resources and rsc not in resources):
        return 0
    server = env("haproxy_server", "{rsc}/{node}").format(rsc=rsc, node=node)
    try:
        answer = tell_haproxy(socket_path, f"set server {server} state {state}",
                              float(env("haproxy_timeout", "5")))
    except (OSError, ValueError) as error:
        print(f"cannot reach haproxy at {socket_path}: {error}", file=sys.stderr)
        return 1
    if answer:
        print(f"haproxy refused 'set server {server} state {state}': {answer}", file=sys.stderr)
        return 1
    print(f"{server} is now {state} ({env('CRM_alert_task')} of {rsc} on {node})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
