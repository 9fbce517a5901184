"""``vigil agent test``: a test bench for agent authors, stricter than ocf-tester.

Two parts, each a list of steps whose expected results are written down:

1. **The OCF sequence** (ocf-tester's, without its DTD: OCF 1.1 agents pass):
   meta-data valid, validate-all, probe while stopped, start, monitor,
   probe, start again (idempotent), promote/demote when advertised, stop,
   stop again (idempotent), probe after stop.
2. **The recovery drill**: what vigil does to the agent when it keeps
   failing on this node with migration-threshold=3 (DESIGN.md, case 1),
   then a dependency stop and a final admin stop, each with the stop
   context the scheduler would attach, so an author can see the agent do a
   light stop when a restart follows and the heavy one when ``stop_final``
   is true.

The first failing step ends the run (later steps would only repeat it), a
cleanup stop follows when the agent may be left running, and every step
reports the exact environment the agent got and its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.executor.environment import clone_meta
from vigil.executor.executor import Executor
from vigil.executor.metadata import AgentMetadata, check_params, missing_mandatory_actions
from vigil.executor.request import ActionRequest, AgentSpec, Pairs
from vigil.executor.results import ActionResult
from vigil.model.results import OcfRc
from vigil.model.stop_context import StopContext

THRESHOLD = 3  # the drill's migration-threshold
UPSTREAM = "upstream"  # the drill's failed dependency
DEFAULT_MONITOR_MS = 10_000

OK = (OcfRc.SUCCESS,)
RUNNING = (OcfRc.SUCCESS, OcfRc.DEGRADED)
PROMOTED = (OcfRc.RUNNING_PROMOTED, OcfRc.DEGRADED_PROMOTED)
STOPPED = (OcfRc.NOT_RUNNING,)


@dataclass(frozen=True)
class Step:
    """One check: run ``action`` and expect one of ``expect``.

    ``changes_state`` marks the steps after which the resource may be
    running, so that a failure later triggers a cleanup stop.
    """

    phase: str  # "sequence", "drill" or "cleanup"
    title: str
    action: str
    expect: tuple[OcfRc, ...] = OK
    interval_ms: int = 0
    meta: Pairs = ()
    hint: str = ""
    changes_state: bool = False


@dataclass(frozen=True)
class StepReport:
    number: int
    step: Step
    result: ActionResult | None
    passed: bool
    message: str = ""
    notes: tuple[str, ...] = ()
    skipped: bool = False


@dataclass(frozen=True)
class TestReport:
    agent: str
    resource_id: str
    node: str
    steps: tuple[StepReport, ...]

    @property
    def checks(self) -> tuple[StepReport, ...]:
        return tuple(s for s in self.steps if s.step.phase != "cleanup")

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(s.passed for s in self.checks)

    @property
    def first_failure(self) -> StepReport | None:
        return next((s for s in self.checks if not s.passed and not s.skipped), None)


def _recovery(left: int) -> dict[str, str]:
    return StopContext(recoveries_left=str(left)).to_meta()


def _pairs(meta: dict[str, str]) -> Pairs:
    return tuple(sorted(meta.items()))


def sequence_plan(metadata: AgentMetadata | None, monitor_ms: int, is_lsb: bool = False) -> list[Step]:
    """The OCF sequence after the meta-data check (LSB: without validate-all and promotion)."""
    steps: list[Step] = []
    if not is_lsb and metadata is not None and metadata.has_action("validate-all"):
        steps.append(
            Step(
                "sequence",
                "validate-all",
                "validate-all",
                OK,
                hint="validate-all must succeed for the parameters given",
            )
        )
    steps += [
        Step(
            "sequence",
            "probe while stopped",
            "monitor",
            STOPPED,
            hint="the resource must not be running before the test: stop it, or give other parameters "
            "(e.g. another state file)",
        ),
        Step("sequence", "start", "start", OK, changes_state=True),
        Step(
            "sequence",
            "monitor",
            "monitor",
            RUNNING,
            interval_ms=monitor_ms,
            hint="monitor must report running right after a successful start",
        ),
        Step(
            "sequence",
            "probe while started",
            "monitor",
            RUNNING,
            hint="a probe (monitor with interval 0) must report running",
        ),
        Step(
            "sequence",
            "start again (must be idempotent)",
            "start",
            OK,
            hint="start must succeed when the resource is already running",
        ),
        Step("sequence", "monitor after the second start", "monitor", RUNNING, interval_ms=monitor_ms),
    ]
    if (
        not is_lsb
        and metadata is not None
        and metadata.has_action("promote")
        and metadata.has_action("demote")
    ):
        steps += [
            Step("sequence", "promote", "promote", OK),
            Step(
                "sequence",
                "probe while promoted",
                "monitor",
                PROMOTED,
                hint="monitor must answer 8 (OCF_RUNNING_PROMOTED) once promoted",
            ),
            Step("sequence", "demote", "demote", OK),
            Step(
                "sequence",
                "probe after demote",
                "monitor",
                RUNNING,
                hint="monitor must answer 0 once demoted",
            ),
        ]
    steps += [
        Step("sequence", "stop", "stop", OK, hint="stop must succeed and leave nothing running"),
        Step(
            "sequence",
            "stop again (must be idempotent)",
            "stop",
            OK,
            hint="stop must succeed when the resource is already stopped",
        ),
        Step(
            "sequence",
            "probe after stop",
            "monitor",
            STOPPED,
            hint="monitor must report not running (7) after a successful stop",
        ),
    ]
    return steps


def drill_plan(resource_id: str, node: str, monitor_ms: int) -> list[Step]:
    """Repeated failures with migration-threshold=3, a dependency stop, a final admin stop."""

    def monitor(title: str) -> Step:
        return Step("drill", title, "monitor", RUNNING, interval_ms=monitor_ms)

    steps = [
        Step(
            "drill",
            "start (start_reason=initial)",
            "start",
            OK,
            meta=_pairs({"start_reason": "initial"}),
            changes_state=True,
        ),
        monitor("monitor"),
    ]
    for failure in range(1, THRESHOLD + 1):
        left = THRESHOLD - failure
        final = left == 0
        stop = {
            "stop_reason": "failure",
            "stop_final": "true" if final else "false",
            "stop_cause": resource_id,
            **_recovery(left),
        }
        if not final:
            stop["stop_next_node"] = node
        what = (
            "the last one here: the cluster gives up on this node" if final else "a restart in place follows"
        )
        steps.append(
            Step(
                "drill",
                f"failure {failure} of {THRESHOLD}: stop, {what} "
                f"(recoveries_left={left}, stop_final={stop['stop_final']})",
                "stop",
                OK,
                meta=_pairs(stop),
                hint="a stop after a failure must succeed",
            )
        )
        if final:
            steps.append(Step("drill", "probe: stopped for good here", "monitor", STOPPED))
        else:
            steps.append(
                Step(
                    "drill",
                    f"restart in place (start_reason=recovery, recoveries_left={left})",
                    "start",
                    OK,
                    meta=_pairs({"start_reason": "recovery", **_recovery(left)}),
                )
            )
            steps.append(monitor("monitor after the restart"))
    steps += [
        Step(
            "drill",
            "start again after the failures were cleared (start_reason=initial)",
            "start",
            OK,
            meta=_pairs({"start_reason": "initial"}),
        ),
        monitor("monitor"),
        Step(
            "drill",
            f"dependency stop: {UPSTREAM} failed, both restart here (stop_reason=dependency, "
            "stop_final=false)",
            "stop",
            OK,
            meta=_pairs(
                {
                    "stop_reason": "dependency",
                    "stop_cause": UPSTREAM,
                    "stop_final": "false",
                    "stop_next_node": node,
                    **_recovery(THRESHOLD - 1),
                }
            ),
        ),
        Step(
            "drill",
            "start after the dependency (start_reason=dependency)",
            "start",
            OK,
            meta=_pairs({"start_reason": "dependency", **_recovery(THRESHOLD - 1)}),
        ),
        monitor("monitor"),
        Step(
            "drill",
            "final admin stop: disabled by an operator (stop_reason=admin, stop_final=true)",
            "stop",
            OK,
            meta=_pairs({"stop_reason": "admin", "stop_final": "true", "stop_cause": resource_id}),
        ),
        Step("drill", "probe after the final stop", "monitor", STOPPED),
    ]
    return steps


class AgentTest:
    """Runs the sequence and the drill for one agent with the given parameters."""

    def __init__(
        self,
        executor: Executor,
        agent: AgentSpec,
        params: dict[str, str],
        *,
        resource_id: str | None = None,
        meta: dict[str, str] | None = None,
        node_name: str = "",
        node_uuid: str = "",
        timeout_ms: int | None = None,
        drill: bool = True,
    ) -> None:
        self.executor = executor
        self.agent = agent
        self.params = dict(params)
        self.resource_id = resource_id or agent.type
        self.meta = dict(meta or {})
        self.node_name = node_name
        self.node_uuid = node_uuid
        self.timeout_ms = timeout_ms
        self.drill = drill
        self.reports: list[StepReport] = []
        self.metadata: AgentMetadata | None = None

    async def run(self) -> TestReport:
        is_lsb = self.agent.standard == "lsb"
        if is_lsb:
            self.metadata = (
                self.executor.lsb.metadata(self.agent)
                if self.executor.lsb.path(self.agent).is_file()
                else None
            )
        elif not await self._check_metadata():
            return self._report()
        if self.metadata is not None and self.metadata.has_action("promote"):
            # Promotable agents always run as a promotable clone instance.
            self.meta = {**clone_meta(0, 1, 1, promoted_max=1), **self.meta}
        monitor_ms = (
            self.metadata.monitor_interval_ms(DEFAULT_MONITOR_MS) if self.metadata else DEFAULT_MONITOR_MS
        )
        maybe_running = False
        plan = sequence_plan(self.metadata, monitor_ms, is_lsb)
        if self.drill and not is_lsb:
            plan += drill_plan(self.resource_id, self.node_name, monitor_ms)
        for step in plan:
            report = await self._run_step(step)
            maybe_running = maybe_running or step.changes_state
            if not report.passed:
                if maybe_running:
                    await self._run_step(Step("cleanup", "cleanup stop (after the failure)", "stop", OK))
                break
        else:
            if self.drill and is_lsb:
                self._add(
                    Step("drill", "recovery drill", "none"),
                    None,
                    True,
                    skipped=True,
                    message="skipped: init scripts get no environment from the cluster, so the stop "
                    "context cannot reach them",
                )
        return self._report()

    def _report(self) -> TestReport:
        return TestReport(str(self.agent), self.resource_id, self.node_name, tuple(self.reports))

    def _add(
        self,
        step: Step,
        result: ActionResult | None,
        passed: bool,
        message: str = "",
        notes: tuple[str, ...] = (),
        skipped: bool = False,
    ) -> StepReport:
        report = StepReport(len(self.reports) + 1, step, result, passed, message, notes, skipped)
        self.reports.append(report)
        return report

    async def _check_metadata(self) -> bool:
        step = Step("sequence", "meta-data is valid", "meta-data")
        fetch = await self.executor.fetch_metadata(self.agent, self.timeout_ms, use_cache=False)
        if fetch.metadata is None:
            self._add(step, fetch.result, False, fetch.error)
            return False
        metadata = self.metadata = fetch.metadata
        errors = [
            f"mandatory action '{name}' is not advertised" for name in missing_mandatory_actions(metadata)
        ]
        check = check_params(metadata, self.params)
        errors += list(check.errors)
        notes = tuple(p for p in metadata.problems if "mandatory action" not in p) + check.warnings
        if metadata.name and metadata.name != self.agent.type:
            notes += (f"the meta-data names the agent {metadata.name!r}, its file is {self.agent.type!r}",)
        self._add(step, fetch.result, not errors, "; ".join(errors), notes)
        return not errors

    def _request(self, step: Step) -> ActionRequest:
        timeout = self.timeout_ms
        if timeout is None:
            timeout = (
                self.metadata.timeout_ms(step.action, step.interval_ms or None) if self.metadata else 20_000
            )
        return ActionRequest.create(
            self.resource_id,
            self.agent,
            step.action,
            self.params,
            {**self.meta, **dict(step.meta)},
            interval_ms=step.interval_ms,
            timeout_ms=timeout,
            node_name=self.node_name,
            node_uuid=self.node_uuid,
        )

    async def _run_step(self, step: Step) -> StepReport:
        result = await self.executor.run(self._request(step))
        if result.is_one_of(step.expect):
            notes = result.warnings
            if result.rc in (OcfRc.DEGRADED, OcfRc.DEGRADED_PROMOTED):
                notes += ("the agent reports itself degraded (accepted as running)",)
            return self._add(step, result, True, notes=notes)
        expected = " or ".join(rc.label for rc in step.expect)
        message = f"expected rc {expected}, got {result.describe()}"
        if step.hint:
            message += f" ({step.hint})"
        return self._add(step, result, False, message, result.warnings)
