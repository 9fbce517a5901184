"""``vigil run``: start the daemon on this machine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from vigil.daemon.statedir import resolve_state_dir
from vigil.errors import InputError, VigilError


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Configuration to run (Pacemaker CIB XML or YAML); default: the stored one.")
@click.option("--state-dir", default=None, metavar="DIR",
              help="Where the store, the API address and the token live "
                   "(default: $VIGIL_STATE_DIR, else /var/lib/vigil or ~/.local/state/vigil).")
@click.option("--listen", default=None, metavar="HOST:PORT",
              help="Address of the REST API (default 127.0.0.1:7945; port 0 picks a free one).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME", envvar="VIGIL_ALLOWED_HOSTS",
              help="A further Host name the API answers to (repeat for several; $VIGIL_ALLOWED_HOSTS: "
                   "separated by spaces); the listen address's names are always accepted "
                   "(docs/security.md).")
@click.option("--store", default=None, metavar="URL",
              help="The store: sqlite:///PATH (one machine) or etcd://HOST:PORT[,HOST:PORT...][/CLUSTER]; "
                   "default: $VIGIL_STORE, else the one the state directory recorded, else the SQLite "
                   "store in it.  Recorded in the state directory for the commands that run without vigil.")
@click.option("--node", default=None, help="This node's name (default: `uname -n`, as Pacemaker's).")
@click.option("--member-ttl", "member_ttl", type=click.IntRange(min=2), default=None, metavar="SECONDS",
              help="TTL of this node's membership lease in the store (default: the cluster option "
                   "member-ttl, 3 s): how long a node that died or was cut off stays a member.")
@click.option("--leave-running", is_flag=True,
              help="On SIGTERM, leave the resources running (for maintenance of vigil itself).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Log every action's result (debug level).")
def run(config_file: Path | None, state_dir: str | None, listen: str | None, allowed_hosts: tuple[str, ...],
        store: str | None, node: str | None, member_ttl: int | None, leave_running: bool, log_format: str,
        verbose: bool) -> None:
    """Keep this machine's resources running: probe, schedule, recover, until stopped.

    SIGTERM or Ctrl-C stops every resource here in order first (each stop is
    told stop_reason=shutdown); a second signal, or --leave-running, leaves
    them running.
    """
    import logging

    from vigil.daemon.logs import setup_logging
    from vigil.daemon.main import DEFAULT_LISTEN, Daemon, DaemonOptions
    from vigil.executor.node_name import local_node_name

    listener = setup_logging(log_format, logging.DEBUG if verbose else logging.INFO)
    options = DaemonOptions(
        state_dir=resolve_state_dir(state_dir),
        node=node or local_node_name(),
        listen=listen or DEFAULT_LISTEN,
        config_file=config_file,
        leave_running=leave_running,
        allowed_hosts=allowed_hosts,
        store=store,
        **({"member_ttl_s": member_ttl} if member_ttl is not None else {}),
    )
    # The log is flushed (listener stopped) before the command line prints an error.
    try:
        asyncio.run(Daemon(options).run())
    except InputError as error:
        error.add_note("nothing was changed; fix the problems above and start again")
        raise
    except OSError as error:
        raise VigilError(str(error)) from error
    finally:
        listener.stop()
