"""A lab run: start the cluster, then for each step inject, wait until settled, audit, report.

Why "settled" is a quiet window rather than one good reading: a recurring
monitor notices a failure up to one interval late, and a rebooted node is
probed a moment after it serves its API; so the cluster counts as settled
once, for ``quiet_s`` seconds (longer than a monitor interval), every node
has been up and serving, the controller's plan has been empty with its last
transition complete and the same, every resource has been where the store
says, and no agent has started or stopped anything.  The recovery time is
the start of that window, less the time the fault was injected.

A failed audit prints the seed, the step and the log lines that show it, and
(unless ``keep_going``) ends the run; the lab's directory is then kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.testing.lab import audits
from vigil.testing.lab.activity import ActivityReader, Event, Timeline, Violation
from vigil.testing.lab.control import LabCluster, LabError, store_dump
from vigil.testing.lab.faults import (
    INJECTORS,
    Injected,
    cleanup_after,
    operator,
)
from vigil.testing.lab.faults import placement as store_placement
from vigil.testing.lab.known import tolerated
from vigil.testing.lab.report import StepResult
from vigil.testing.lab.schedule import KINDS, OPERATOR_KINDS, Step
from vigil.testing.lab.workspace import (
    MONITOR_TIMEOUT_S,
    NODES,
    START_STOP_TIMEOUT_S,
    LabPaths,
    all_primitives,
    clone_primitives,
)

# The quiet window (seconds): longer than a recurring monitor's interval (3 s).
QUIET_S = 3.5
POLL_S = 0.25
# How long the cluster may take to settle after it starts (seconds).
START_SETTLE_S = 120.0
# Events this close to the present may still be followed by earlier ones (seconds).
REORDER_S = 0.5
LAB_PRIMITIVES = (*all_primitives(), "X")


@dataclass
class Settle:
    """The outcome of one wait: when the quiet window began (None: never within the bound), and why not."""

    at: float | None
    why_not: str = ""


@dataclass
class LabRun:
    """A lab run's state between steps: the cluster, the timeline, the windows of doubt."""

    paths: LabPaths
    seed: int
    reboot_delay: float = 2.0
    keep_going: bool = False
    quiet_s: float = QUIET_S
    # Known vigil issues (vigil.testing.lab.known) whose failed audits are counted, not failed.
    tolerate: tuple[str, ...] = ()
    # The flags that restrict the schedule (--only, --tolerate), for the replay line.
    replay_flags: str = ""
    say: Callable[[str], None] = print
    lab: LabCluster = field(init=False)
    timeline: Timeline = field(init=False)
    results: list[StepResult] = field(default_factory=list)
    windows: list[audits.Window] = field(default_factory=list)
    started_s: float = 0.0

    def __post_init__(self) -> None:
        self.lab = LabCluster(self.paths, reboot_delay=self.reboot_delay)
        shown = self.say
        self.paths.root.mkdir(parents=True, exist_ok=True)
        report = self.paths.root / "lab-report.txt"

        def say(line: str) -> None:
            """Shown, and kept with the run's logs (a CI failure's report survives in the directory)."""
            shown(line)
            with open(report, "a") as stream:
                stream.write(line + "\n")

        self.say = say
        self.timeline = Timeline(clone_primitives())
        self.reader = ActivityReader(self.paths.activity_log)
        self.logs = audits.LogWatch()
        self._seen_violations = 0
        self.step_events: list[Event] = []  # what the activity log said since the step began
        self._last_busy = 0.0
        self._epoch = time.time() - time.monotonic()

    # -- the run -------------------------------------------------------------------------------

    def run(self, steps: Sequence[Step]) -> list[StepResult]:
        began = time.monotonic()
        self.lab.start()
        self.started_s = time.monotonic() - began
        try:
            first = self.wait_settled(START_SETTLE_S)
            if first.at is None:
                raise LabError(f"the cluster did not settle within {START_SETTLE_S:.0f} s of its start:"
                               f" {first.why_not}")
            baseline, _known = tolerated(self.audit(None, StepResult(0, "start", "the cluster starts")),
                                         self.tolerate)
            if baseline:
                self.report_failure(StepResult(0, "start", "the cluster starts", violations=baseline), None)
                return self.results
            for step in steps:
                result = self.run_step(step)
                self.results.append(result)
                self.say(self.step_line(result, len(steps)))
                if not result.passed:
                    self.report_failure(result, step)
                    if not self.keep_going or not result.settled:
                        break
        finally:
            self.lab.close()
        return self.results

    def run_step(self, step: Step) -> StepResult:
        kind = KINDS[step.kind]
        result = StepResult(step.number, step.kind, step.describe())
        self.catch_up()
        self.step_events = []
        active_before = self.timeline.active()
        began = time.monotonic()
        try:
            if step.kind in OPERATOR_KINDS:
                injected = operator(self.lab, step, self.phase_settle)
            else:
                injected = INJECTORS[step.kind](self.lab, step)
        except LabError as error:
            injected = Injected("", began, set(NODES))
            result.violations.append(Violation("the step could be carried out", str(error)))
        result.target, result.notes = injected.target, injected.notes
        result.held_s = round(injected.held_s, 2)
        result.skipped = injected.skipped
        settle = self.wait_settled(kind.settle_s + injected.held_s, injected)
        if settle.at is None:
            result.violations.append(Violation(
                "settled within its bound",
                f"not settled {kind.settle_s:.0f} s after the fault (plus {injected.held_s:.1f} s held):"
                f" {settle.why_not}", tuple(store_dump(self.lab.local.store_url()))))
            settle = self.wait_settled(START_SETTLE_S)  # a last chance, to audit and (--keep-going) go on
            result.settled = settle.at is not None
        else:
            result.recovery_s = round(settle.at - injected.t_inject, 2)
        end = time.monotonic() if settle.at is None else settle.at + self.quiet_s
        self.windows.append(audits.Window(injected.t_inject - 1.0, end, frozenset(injected.disturbed)))
        if settle.at is not None and step.kind == "start-fail" and step.resource:
            try:
                cleanup_after(self.lab, step.resource)
            except LabError as error:
                result.violations.append(Violation("the step could be carried out", str(error)))
            if self.wait_settled(kind.settle_s).at is None:
                result.violations.append(Violation("settled within its bound",
                                                   "not settled after the cleanup"))
        if settle.at is not None:
            result.violations.extend(self.audit(injected, result, active_before))
        result.violations, result.known = tolerated(result.violations, self.tolerate)
        return result

    def phase_settle(self, bound: float) -> None:
        """Between an operator step's two commands."""
        if self.wait_settled(bound).at is None:
            raise LabError(f"not settled {bound:.0f} s after the first command")

    # -- settling -----------------------------------------------------------------------------------

    def catch_up(self) -> list[Event]:
        """Read the new lines of the activity log; take those safely in the past into the timeline."""
        events = self.reader.new_events()
        self.timeline.add(events)
        self.step_events.extend(events)
        for event in events:
            if event.ev == "monitor" and event.rc == 0:
                continue
            # A hung action is busy until its timeout ends it (and a moment for its result).
            hung = {"monitor": MONITOR_TIMEOUT_S, "start": START_STOP_TIMEOUT_S}.get(event.op or "", 0)
            self._last_busy = max(self._last_busy, event.t + (hung + 1.0 if event.ev == "hang" else 0.0))
        self.timeline.advance(time.monotonic() - REORDER_S)
        return events

    def settled_now(self) -> tuple[bool, str, Any]:
        """(settled, why not, the controller's transition) as of now."""
        if not self.lab.all_up():
            down = [n.name for n in self.lab.local.nodes if not n.running() or not n.serving()]
            return False, f"nodes not up and serving: {', '.join(down) or 'rebooting'}", None
        report = self.lab.controller_status()
        if report is None:
            return False, "no controller", None
        nodes = report.get("nodes") or []
        offline = [f"{n.get('name')} {n.get('state')}" for n in nodes
                   if not n.get("online") or n.get("state") not in ("online", "standby")]
        if len(nodes) != len(NODES) or offline:
            return False, f"nodes not online in the controller's view: {', '.join(offline)}", None
        last = report.get("last_transition") or {}
        if report.get("pending"):
            return False, f"the controller still plans: {'; '.join(report['pending'][:6])}", None
        if last and last.get("outcome") != "complete":
            return False, f"transition {last.get('number')} is {last.get('outcome')}", None
        if not report.get("have_quorum") or report.get("store_problem"):
            return False, "no quorum, or the store refuses", None
        stored = {(r, n) for r, ns in store_placement(report).items() if r in LAB_PRIMITIVES for n in ns}
        files = {pair for pair in self.lab.state_files() if pair[0] in LAB_PRIMITIVES}
        if stored != files:
            return False, audits.describe_difference("the store shows", stored, "the agents run", files), None
        return True, "", (report.get("controller"), last.get("number"), last.get("started"))

    def wait_settled(self, bound: float, injected: Injected | None = None) -> Settle:
        """Until settled (see the module's docstring), at most ``bound`` seconds; a resource fault
        counts only once its failure shows in the activity log (the fault took effect)."""
        deadline = time.monotonic() + bound
        quiet_since: float | None = None
        signature: Any = None
        why = ""
        while True:
            self.catch_up()
            now = time.monotonic()
            ok, why, seen = self.settled_now()
            if ok and injected is not None and injected.expect_failure and not self.failed_since(injected):
                ok, why = False, f"the failure of {injected.target} has not shown yet"
            if not ok:
                quiet_since = None
            elif quiet_since is None or seen != signature or self._last_busy > quiet_since:
                quiet_since, signature = max(now, self._last_busy), seen
            if quiet_since is not None and time.monotonic() - quiet_since >= self.quiet_s:
                return Settle(quiet_since)
            if time.monotonic() >= deadline:
                return Settle(None, why or "not quiet yet")
            time.sleep(POLL_S)

    def failed_since(self, injected: Injected) -> bool:
        """Whether the agent of the resource the step broke has failed since the injection."""
        assert injected.expect_failure is not None
        node, rsc = injected.expect_failure

        def is_failure(event: Event) -> bool:
            if event.node != node or event.rsc != rsc or event.t < injected.t_inject:
                return False
            if event.ev == "monitor":
                return event.interval > 0 and event.rc not in (0, None)
            return event.ev in ("hang", "start-fail", "stop-fail")

        return any(is_failure(event) for event in self.step_events)

    # -- audits -------------------------------------------------------------------------------------

    def audit(self, injected: Injected | None, result: StepResult,
              active_before: set[tuple[str, str]] | None = None) -> list[Violation]:
        self.catch_up()
        report = self.lab.controller_status()
        found = list(self.timeline.violations[self._seen_violations:])
        self._seen_violations = len(self.timeline.violations)
        if report is None:
            return [*found, Violation("runs where the store says", "no controller to ask")]
        found += audits.placement(report, self.lab.state_files(), self.timeline.active(), LAB_PRIMITIVES)
        found += audits.failcounts(report, self.timeline, self.windows, LAB_PRIMITIVES)
        found += self.logs.tracebacks([n.log_path for n in self.lab.local.nodes])
        if injected is not None and active_before is not None:
            for lost in sorted(injected.disturbed):
                lost_at = [t for text in self.logs.text.values()
                           for t in audits.lost_records(text, lost, self._epoch)
                           if t >= injected.t_inject - 1.0]
                found += audits.fenced_before_moved(self.timeline, lost, lost_at, active_before,
                                                    clone_primitives())
        if self.lab.boot_errors:
            found.append(Violation("nodes boot", "; ".join(self.lab.boot_errors)))
            self.lab.boot_errors.clear()
        return found

    # -- reporting ----------------------------------------------------------------------------------

    def step_line(self, result: StepResult, total: int) -> str:
        recovery = "NOT settled" if result.recovery_s is None else f"settled in {result.recovery_s:.2f} s"
        held = f", held {result.held_s:.1f} s" if result.held_s else ""
        notes = f" ({'; '.join(result.notes)})" if result.notes else ""
        verdict = "audits ok" if result.passed else f"{len(result.violations)} FAILED AUDIT(S)"
        if result.known:
            verdict += f" (tolerated known issue: {', '.join(sorted(set(result.known)))})"
        if result.skipped:
            recovery, verdict = f"skipped: {result.skipped}", "audits ok" if result.passed else verdict
        return (f"step {result.number}/{total} {result.kind}: {result.target or result.planned}{notes}{held};"
                f" {recovery}; {verdict}")

    def report_failure(self, result: StepResult, step: Step | None) -> None:
        say = self.say
        say(f"\nFAILED AUDIT at step {result.number} ({result.planned}) of the run with seed {self.seed}")
        for violation in result.violations:
            say(f"  [{violation.audit}] {violation.message}")
            for line in violation.lines:
                say(f"      {line}")
        since = self.windows[-1].t0 if self.windows else 0.0
        say(f"  vigil's log lines since the step began (wall clock {self.wall(since)}):")
        for line in self.log_lines(since, result):
            say(f"    {line}")
        say(f"  everything is kept in {self.paths.root} (activity log {self.paths.activity_log})")
        if step is not None:
            say(f"  replay: scripts/fault_lab.py --seed {self.seed} --faults {step.number}"
                f"{self.replay_flags}")

    def wall(self, monotonic: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self._epoch + monotonic))

    def log_lines(self, since: float, result: StepResult, limit: int = 30) -> list[str]:
        """Each node's log lines since ``since``: warnings and worse, and lines naming the failure's
        resources."""
        cutoff = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self._epoch + since))
        words = {w for v in result.violations for w in v.message.replace(",", " ").split()
                 if w in LAB_PRIMITIVES}
        lines: list[str] = []
        for node in self.lab.local.nodes:
            picked = [f"{node.name}: {line}" for line in node.log().splitlines()
                      if line[:19] >= cutoff and (any(w in line for w in ("WARNING", "ERROR", "CRITICAL"))
                                                  or any(f" {w}" in line for w in words))]
            lines.extend(picked[-limit:])
        return lines
