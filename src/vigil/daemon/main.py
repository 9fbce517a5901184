"""The daemon's life: open the store, take the configuration, serve the API, run the controller.

Start-up is refused, with every problem named and nothing stored, when the
configuration is bad (syntax, an agent class vigil does not run, a node that
is not this one); an agent missing on this node is only a warning (its
resource is failed "not installed" here, as in Pacemaker).  SIGTERM or
SIGINT stops it gracefully: every resource here is stopped in order
(``stop_reason=shutdown``) unless ``--leave-running``; a second signal
stops at once and leaves the resources as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from vigil.admin.intake import (
    Agreement,
    Findings,
    agrees_with_file,
    check_for_node,
    install,
    parse_config,
    read_config_file,
    with_node,
)
from vigil.api.app import create_app
from vigil.api.context import ApiContext
from vigil.api.hosts import HostPolicy
from vigil.api.page import close_live_feed
from vigil.api.secrets import private_params_of
from vigil.controller.loop import Controller
from vigil.controller.settings import member_ttl_s
from vigil.daemon.fence_requests import FenceRequests
from vigil.daemon.roles import ClusterNode
from vigil.daemon.statedir import (
    ApiAddress,
    StateDirLock,
    ensure_token,
    prepare_state_dir,
    record_store_url,
    remove_api_address,
    resolve_store_url,
    write_api_address,
)
from vigil.daemon.systemd import notify
from vigil.errors import InputError, Problem
from vigil.events.dispatcher import EventDispatcher
from vigil.events.recent import RecentEvents
from vigil.executor.cluster_tools import TOOLS_SUBDIR, install_shims
from vigil.executor.environment import with_cluster_tools
from vigil.executor.executor import Executor
from vigil.executor.subreaper import Subreaper
from vigil.fencing.agent import FenceAgents
from vigil.fencing.device import StonithClass
from vigil.fencing.fencer import Fencer
from vigil.model.config import Config
from vigil.simulator.what_if import imagine
from vigil.store import NodeNameTaken, Store, StoreError, open_store
from vigil.store.coord import Guard, Lease

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:7945"
API_SHUTDOWN_GRACE_S = 5


@dataclass(frozen=True)
class DaemonOptions:
    state_dir: Path
    node: str
    listen: str = DEFAULT_LISTEN
    config_file: Path | None = None
    leave_running: bool = False
    # Further Host names the API answers to (--allowed-host), beyond the listen address's.
    allowed_hosts: tuple[str, ...] = ()
    # The store URL (--store / $VIGIL_STORE); None: the one recorded, else the SQLite store in state_dir.
    store: str | None = None
    # The TTL of this node's membership lease (--member-ttl): how long a node that died (kill -9)
    # or was cut off stays a member; None: the cluster option member-ttl (default 3 s).
    member_ttl_s: int | None = None


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (port 0 picks a free one); raises InputError naming the option."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise InputError([Problem("--listen", f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:7945)")])
    return host.strip("[]"), int(port_text)


class _ApiServer(uvicorn.Server):
    """uvicorn's server, minus its signal handling: signals belong to the daemon,
    which stops the resources before the API goes away."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn before 0.29's capture_signals
        return


class Daemon:
    def __init__(self, options: DaemonOptions) -> None:
        self.options = options
        self.store: Store | None = None
        # Every agent finds vigil's attrd_updater, crm_attribute ... first (docs/agents-tools.md).
        state_dir = options.state_dir.absolute()
        agent_env = with_cluster_tools(os.environ, state_dir / TOOLS_SUBDIR, state_dir)
        self.executor = Executor(environ=agent_env)
        # Fence devices (class stonith) run through the fence agents, as do fencings.
        self.fence_agents = FenceAgents(self.executor.spawner, environ=agent_env)
        self.executor.classes["stonith"] = StonithClass(self.fence_agents)
        # Alert agents and webhooks, told of every event (docs/events.md).
        self.events = EventDispatcher(options.node, environ=agent_env)
        # What agents orphan is re-parented to vigil and reaped by it (docs/executor.md).
        self.subreaper = Subreaper()
        self.controller: Controller | ClusterNode | None = None
        self._signals = 0

    async def run(self) -> None:
        """Run until stopped; raises InputError or StoreError (clear messages) when it cannot start."""
        options = self.options
        host, port = parse_listen(options.listen)
        hosts = HostPolicy.for_listen(host, options.allowed_hosts)
        prepare_state_dir(options.state_dir)
        # One daemon per state directory: a second one is refused before it touches anything.
        lock = StateDirLock(options.state_dir)
        lock.acquire()
        try:
            install_shims(options.state_dir.absolute() / TOOLS_SUBDIR)
            await self._run_locked(host, port, hosts)
        finally:
            lock.release()

    async def _run_locked(self, host: str, port: int, hosts: HostPolicy) -> None:
        options = self.options
        token = ensure_token(options.state_dir)
        url = resolve_store_url(options.state_dir, options.store)
        store = open_store(url)
        self.store = store
        following: asyncio.Task[None] | None = None
        try:
            # One daemon per node name in the cluster: a second one is refused (NodeNameTaken).
            lease, incarnation = await self._join(store)
            record_store_url(options.state_dir, url)  # so the CLI finds the store while vigil is down
            self.subreaper.start()
            await self._take_configuration(store)
            config, config_revision = await store.get_config()
            self.events.configure(config)
            self.events.start()
            following = asyncio.create_task(self._follow_alerts(store, config_revision), name="alerts-config")
            controller: Controller | ClusterNode
            if store.capabilities.multi_node:
                # A cluster: this node's agent always, the controller while elected (docs/cluster.md).
                controller = ClusterNode(store, self.executor, options.node, lease, incarnation,
                                         fencer=lambda: Fencer(self.fence_agents), events=self.events)
            else:
                controller = Controller(store, self.executor, options.node, events=self.events,
                                        fencer=Fencer(self.fence_agents))
            self.controller = controller
            await self._serve(controller, store, token, host, port, hosts)
        finally:
            remove_api_address(options.state_dir)
            if following is not None:
                following.cancel()
            await self.events.close()
            await self.executor.close()
            await self.subreaper.close()
            await store.close()

    async def _join(self, store: Store) -> tuple[Lease, Guard]:
        """Take this node's membership key (create-only, on a lease kept alive off the loop).

        A daemon killed with ``kill -9`` leaves its key until its lease
        expires, so a name that is taken is asked for again until one TTL has
        passed; a daemon that is alive keeps its lease, and the second one is
        then refused with the holder named.  (On SQLite the state directory's
        lock has already kept a second daemon out.)
        """
        ttl = self.options.member_ttl_s
        if ttl is None:
            config, _revision = await store.get_config()
            ttl = member_ttl_s(config, int(time.time()))
        lease = await store.grant_lease(ttl)
        deadline = time.monotonic() + ttl + 1
        while True:
            try:
                return lease, await store.join(self.options.node, lease)
            except NodeNameTaken:
                if time.monotonic() >= deadline:
                    await lease.revoke()
                    raise
                await asyncio.sleep(0.25)

    async def _follow_alerts(self, store: Store, config_revision: int) -> None:
        """Give the dispatcher each new configuration's alerts."""
        try:
            async for change in store.watch(await store.revision()):
                if change.config_revision > config_revision:
                    config, config_revision = await store.get_config()
                    self.events.configure(config)
        except StoreError as error:
            log.error("alerts no longer follow configuration changes: the store failed: %s", error)

    async def _take_configuration(self, store: Store) -> None:
        """Install ``--config``'s file (else the stored configuration, given this node if it names none).

        On a cluster store that already holds a configuration the file is only
        held against it (:func:`~vigil.admin.intake.check_start_file`): the same one, or that plus
        this node joining, goes in; any other is refused and nothing is written,
        so the last node to start never replaces what the others run.  A
        single-node store takes the file as it is, as it always has.
        """
        options = self.options
        agrees: Agreement | None = None
        if options.config_file is not None:
            loaded, warnings = read_config_file(options.config_file)
            for warning in warnings:
                log.warning("%s", warning)
            if store.capabilities.multi_node:
                agrees = agrees_with_file(loaded, options.node, str(options.config_file))
        else:
            loaded, _revision = await store.get_config()
        config = with_node(loaded, options.node)
        found = await self.check(config)
        if found.problems:
            raise InputError(found.problems)
        for warning in found.warnings:
            log.warning("%s", warning)
        if await install(store, config, agrees=agrees):
            origin = f" from {options.config_file}" if options.config_file else ""
            log.info("configuration installed%s", origin)
        elif options.config_file is not None:
            log.info("%s is the configuration already stored: nothing written", options.config_file)

    async def check(self, config: Config) -> Findings:
        assert self.store is not None
        return await check_for_node(config, self.options.node, self.executor,
                                    multi_node=self.store.capabilities.multi_node)

    async def _check_for_api(self, config: Config) -> Findings:
        return await self.check(with_node(config, self.options.node))

    async def _serve(self, controller: Controller | ClusterNode, store: Store, token: str, host: str,
                     port: int, hosts: HostPolicy) -> None:
        context = ApiContext(store=store, controller=controller, token=token, parse_config=parse_config,
                             check_config=self._check_for_api, clock=time.time,
                             private_params=private_params_of(self.executor),
                             fencing=FenceRequests(store, Fencer(self.fence_agents), self.events,
                                                   self.options.node, time.time, controller),
                             recent_events=self._recent_events(), what_if=imagine)
        # A request still running at shutdown (a `resource restart` waiting) is ended after a few
        # seconds rather than holding up the exit.
        app = create_app(context, hosts)
        server = _ApiServer(uvicorn.Config(app, host=host, port=port, log_config=None,
                                           lifespan="off", access_log=False,
                                           timeout_graceful_shutdown=API_SHUTDOWN_GRACE_S))
        serving = asyncio.create_task(server.serve(), name="api")
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it (e.g. the port is taken)
                raise OSError(f"the API could not listen on {host}:{port}")
            await asyncio.sleep(0.02)
        bound = server.servers[0].sockets[0].getsockname()
        url = f"http://{host if ':' not in host else f'[{host}]'}:{bound[1]}"
        running = asyncio.create_task(controller.run(), name="controller")
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        write_api_address(self.options.state_dir, ApiAddress(url, os.getpid(), self.options.node))
        log.info("vigil %s serving on %s (state directory %s)", self.options.node, url,
                 self.options.state_dir)
        notify("READY=1", f"STATUS=serving on {url}")
        try:
            await running
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            await close_live_feed(app)  # the web page's streams would hold the exit up
            server.should_exit = True
            await serving

    def _recent_events(self) -> RecentEvents:
        """The newest events, kept for the web page (docs/web.md)."""
        recent = RecentEvents()
        self.events.add_listener(recent.add)
        return recent

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        controller = self.controller
        if controller is None:
            return
        leave = self.options.leave_running or self._signals > 1
        log.info("%s received: %s", signal.Signals(signum).name,
                 "stopping, leaving resources running" if leave else "stopping every resource here first")
        notify("STOPPING=1")
        asyncio.get_running_loop().create_task(controller.stop(leave_running=leave))
