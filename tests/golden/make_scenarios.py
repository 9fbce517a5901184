"""Generate the OpenStack compute-node scenario CIBs, reproducibly.

Two layouts of the same three services, libvirtd -> neutron-agent ->
nova-compute, on three nodes:

- ``compute``: a cloned group (``compute-clone`` of ``compute-group``);
- ``compute-interleaved``: three anonymous clones with ``interleave=true``,
  ordered libvirtd-clone -> neutron-agent-clone -> nova-compute-clone and
  colocated with INFINITY.

The two healthy layouts are written to ``examples/``; the failure variants
(a failed 10 s monitor on node1) to ``tests/golden/``.  Every CIB loads in
Pacemaker 2.1.5 (``validate-with="pacemaker-3.9"``), fixes "now" with
``execution-date``, and carries real op-digests, so nothing but the injected
failure gives the scheduler a reason to act.

Run ``python tests/golden/make_scenarios.py`` to rewrite the files, ``--check``
to verify they are current.  ``bless.py`` then records what Pacemaker plans.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLES = ROOT / "examples"

NODES = ("node1", "node2", "node3")
CHAIN = ("libvirtd", "neutron-agent", "nova-compute")
MIGRATION_THRESHOLD = 3

# Times (epoch seconds).  Everything started at START; failure i of the
# failed resource happened at START + i * FAILURE_STEP; "now" is after all.
START = 1_700_000_000
FAILURE_STEP = 600
EXECUTION_DATE = 1_700_003_600
RESTART_DELAY = 5

# md5 of " <parameters/>\n": start and probe of a parameterless Dummy.
DIGEST_PLAIN = "f2317cad3d54cec5d7d7aa7d0bf35cf8"
# md5 of ' <parameters CRM_meta_timeout="20000"/>\n': the 10 s monitor, timeout 20 s.
DIGEST_MONITOR = "4811cef7f7f94e3a35a70be7916cb2fd"
# The controller's UUID in transition keys (any fixed value will do).
DC_UUID = "3f0c8d52-6a1e-4b7d-9c2f-0e5a7b1d4c60"

LAYOUTS = ("compute", "compute-interleaved")


@dataclass(frozen=True)
class Failure:
    """The recurring monitor of ``resource`` returned 7 (not running) on ``node``.

    ``count`` is the fail-count it reached: the failures before the last one
    were recovered in place (the history shows their restarts).
    """

    resource: str
    node: str
    count: int


@dataclass(frozen=True)
class Scenario:
    name: str
    layout: str
    failure: Failure | None
    description: str

    @property
    def path(self) -> Path:
        if self.failure is None:
            return EXAMPLES / f"{self.name}.xml"
        return HERE / f"{self.name}.xml"

    @property
    def golden(self) -> Path:
        return HERE / f"{self.name}.summary"


def _layout_words(layout: str) -> str:
    if layout == "compute":
        return "the cloned group compute-clone (libvirtd, neutron-agent, nova-compute)"
    return "three interleaved clones libvirtd-clone, neutron-agent-clone, nova-compute-clone"


def _scenarios() -> tuple[Scenario, ...]:
    scenarios: list[Scenario] = []
    for layout in LAYOUTS:
        scenarios.append(
            Scenario(
                layout,
                layout,
                None,
                f"{_layout_words(layout)} running on node1, node2 and node3; nothing failed.",
            )
        )
    for layout in LAYOUTS:
        for count in (1, 2, 3):
            left = "reaching" if count == MIGRATION_THRESHOLD else "below"
            scenarios.append(
                Scenario(
                    f"{layout}-neutron-fail{count}",
                    layout,
                    Failure("neutron-agent", "node1", count),
                    f"{_layout_words(layout)}; neutron-agent's 10 s monitor failed (rc 7) on node1, "
                    f"fail-count {count}, {left} migration-threshold={MIGRATION_THRESHOLD}.",
                )
            )
    for layout in LAYOUTS:
        scenarios.append(
            Scenario(
                f"{layout}-nova-fail1",
                layout,
                Failure("nova-compute", "node1", 1),
                f"{_layout_words(layout)}; nova-compute's 10 s monitor failed (rc 7) on node1, "
                f"fail-count 1 (migration-threshold={MIGRATION_THRESHOLD}).",
            )
        )
    return tuple(scenarios)


SCENARIOS = _scenarios()


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


def _primitive(rsc: str, indent: str) -> list[str]:
    return [
        f'{indent}<primitive id="{rsc}" class="ocf" provider="heartbeat" type="Dummy">',
        f"{indent}  <operations>",
        f'{indent}    <op id="{rsc}-monitor-10s" name="monitor" interval="10s" timeout="20s"/>',
        f"{indent}  </operations>",
        f"{indent}</primitive>",
    ]


def _clone_meta(clone: str, indent: str, interleave: bool) -> list[str]:
    lines = [f'{indent}<meta_attributes id="{clone}-meta">']
    if interleave:
        lines.append(f'{indent}  <nvpair id="{clone}-interleave" name="interleave" value="true"/>')
    lines.append(
        f'{indent}  <nvpair id="{clone}-migration-threshold" name="migration-threshold" '
        f'value="{MIGRATION_THRESHOLD}"/>'
    )
    lines.append(f"{indent}</meta_attributes>")
    return lines


def _resources(layout: str) -> list[str]:
    lines = ["    <resources>"]
    if layout == "compute":
        lines.append('      <clone id="compute-clone">')
        lines += _clone_meta("compute-clone", "        ", interleave=False)
        lines.append('        <group id="compute-group">')
        for rsc in CHAIN:
            lines += _primitive(rsc, "          ")
        lines.append("        </group>")
        lines.append("      </clone>")
    else:
        for rsc in CHAIN:
            lines.append(f'      <clone id="{rsc}-clone">')
            lines += _clone_meta(f"{rsc}-clone", "        ", interleave=True)
            lines += _primitive(rsc, "        ")
            lines.append("      </clone>")
    lines.append("    </resources>")
    return lines


def _constraints(layout: str) -> list[str]:
    if layout == "compute":
        return ["    <constraints/>"]
    lines = ["    <constraints>"]
    for first, then in itertools.pairwise(CHAIN):
        lines.append(
            f'      <rsc_order id="order-{first}-then-{then}" first="{first}-clone" '
            f'then="{then}-clone" kind="Mandatory"/>'
        )
    for first, then in itertools.pairwise(CHAIN):
        lines.append(
            f'      <rsc_colocation id="colocation-{then}-with-{first}" rsc="{then}-clone" '
            f'with-rsc="{first}-clone" score="INFINITY"/>'
        )
    lines.append("    </constraints>")
    return lines


# ---------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Op:
    """One ``lrm_rsc_op`` record."""

    record_id: str
    task: str
    interval_ms: int
    call_id: int
    rc: int
    when: int
    transition: int
    action: int
    exit_reason: str = ""

    def render(self, rsc: str, node: str) -> list[str]:
        key = f"{self.action}:{self.transition}:0:{DC_UUID}"
        digest = DIGEST_MONITOR if self.interval_ms else DIGEST_PLAIN
        exec_time = 10 if self.interval_ms else 20
        return [
            f'            <lrm_rsc_op id="{self.record_id}" '
            f'operation_key="{rsc}_{self.task}_{self.interval_ms}" operation="{self.task}"',
            '                        crm-debug-origin="do_update_resource" crm_feature_set="3.16.1"',
            f'                        transition-key="{key}"',
            f'                        transition-magic="0:{self.rc};{key}"',
            f'                        exit-reason="{self.exit_reason}" on_node="{node}" '
            f'call-id="{self.call_id}" rc-code="{self.rc}" op-status="0"',
            f'                        interval="{self.interval_ms}" last-rc-change="{self.when}" '
            f'exec-time="{exec_time}" queue-time="0"',
            f'                        op-digest="{digest}"/>',
        ]


def _affected(failed: str) -> tuple[str, ...]:
    """What a recovery of ``failed`` restarted: it and everything after it.

    In the group the later members depend on it; in the interleaved layout
    the later clones' instances on the same node do, through the orders.
    """
    return CHAIN[CHAIN.index(failed) :]


def _node_history(node: str, failure: Failure | None) -> dict[str, list[_Op]]:
    """The operation records each resource has on ``node``, as the controller keeps them.

    Only the last non-recurring operation (``_last_0``), the recurring monitor
    and the last failure (``_last_failure_0``) are kept: the probes that found
    nothing before the first start were overwritten by it.
    """
    call_id = len(CHAIN)  # probes took the first call ids
    transition = 1
    action = 1
    last_start: dict[str, _Op] = {}
    monitor: dict[str, _Op] = {}

    def start_and_monitor(rsc: str, when: int) -> None:
        nonlocal call_id, action
        call_id += 1
        action += 1
        last_start[rsc] = _Op(f"{rsc}_last_0", "start", 0, call_id, 0, when, transition, action)
        call_id += 1
        action += 1
        monitor[rsc] = _Op(f"{rsc}_monitor_10000", "monitor", 10_000, call_id, 0, when, transition, action)

    for rsc in CHAIN:
        start_and_monitor(rsc, START)
    last_failure: _Op | None = None
    if failure is not None and failure.node == node:
        for number in range(1, failure.count + 1):
            when = START + number * FAILURE_STEP
            failed = monitor[failure.resource]
            reason = "not running"
            monitor[failure.resource] = _Op(
                failed.record_id,
                "monitor",
                10_000,
                failed.call_id,
                7,
                when,
                failed.transition,
                failed.action,
                reason,
            )
            last_failure = _Op(
                f"{failure.resource}_last_failure_0",
                "monitor",
                10_000,
                failed.call_id,
                7,
                when,
                failed.transition,
                failed.action,
                reason,
            )
            if number < failure.count:  # recovered in place, with its dependents
                transition += 1
                action = 1
                for rsc in _affected(failure.resource):
                    start_and_monitor(rsc, when + RESTART_DELAY)
    history: dict[str, list[_Op]] = {}
    for rsc in CHAIN:
        records = [last_start[rsc], monitor[rsc]]
        if last_failure is not None and failure is not None and failure.resource == rsc:
            records.append(last_failure)
        history[rsc] = records
    return history


def _node_state(index: int, node: str, failure: Failure | None) -> list[str]:
    node_id = str(index + 1)
    lines = [
        f'    <node_state id="{node_id}" uname="{node}" in_ccm="true" crmd="online" join="member" '
        f'expected="member">'
    ]
    if failure is not None and failure.node == node:
        rsc = failure.resource
        last = START + failure.count * FAILURE_STEP
        lines += [
            f'      <transient_attributes id="{node_id}">',
            f'        <instance_attributes id="status-{node_id}">',
            f'          <nvpair id="status-{node_id}-fail-count-{rsc}.monitor_10000" '
            f'name="fail-count-{rsc}#monitor_10000" value="{failure.count}"/>',
            f'          <nvpair id="status-{node_id}-last-failure-{rsc}.monitor_10000" '
            f'name="last-failure-{rsc}#monitor_10000" value="{last}"/>',
            "        </instance_attributes>",
            "      </transient_attributes>",
        ]
    lines += [f'      <lrm id="{node_id}">', "        <lrm_resources>"]
    for rsc, records in _node_history(node, failure).items():
        lines.append(f'          <lrm_resource id="{rsc}" class="ocf" provider="heartbeat" type="Dummy">')
        for record in records:
            lines += record.render(rsc, node)
        lines.append("          </lrm_resource>")
    lines += ["        </lrm_resources>", "      </lrm>", "    </node_state>"]
    return lines


# ---------------------------------------------------------------------------
# The whole CIB
# ---------------------------------------------------------------------------


def _comment(scenario: Scenario) -> list[str]:
    # An XML comment cannot hold a double hyphen: keep the text free of one.
    text = [
        "",
        *textwrap.wrap(
            f"{scenario.name}: {scenario.description}",
            width=78,
            initial_indent="  ",
            subsequent_indent="  ",
            break_on_hyphens=False,
        ),
        "",
        "  Generated by tests/golden/make_scenarios.py; edit that script, not this",
        "  file, and run tests/golden/bless.py to record what Pacemaker plans",
        "  (tests/golden/NAME.summary).  Fencing is disabled to keep the example",
        '  small; execution-date fixes "now"; the op-digests are the real ones',
        "  for these definitions, so no definition change restarts anything.",
    ]
    if scenario.failure is None:
        text += [
            "",
            "  Nothing failed, so the schedulers plan nothing:",
            f'  "vigil simulate examples/{scenario.name}.xml" and',
            f'  "crm_simulate -x examples/{scenario.name}.xml -S" print no transition summary line.',
            "",
            "  The same cluster with failures injected is in tests/golden/;",
            "  docs/scenarios.md says what Pacemaker and vigil plan for each.",
        ]
    text.append("")
    assert all("--" not in line for line in text), "double hyphen in an XML comment"
    return ["<!--", *text, "-->"]


def render_scenario(scenario: Scenario) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', *_comment(scenario)]
    lines += [
        '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="20" num_updates="0" '
        'admin_epoch="0"',
        f'     have-quorum="1" dc-uuid="1" execution-date="{EXECUTION_DATE}">',
        "  <configuration>",
        "    <crm_config>",
        '      <cluster_property_set id="cib-bootstrap-options">',
        '        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>',
        "      </cluster_property_set>",
        "    </crm_config>",
        "    <nodes>",
    ]
    lines += [f'      <node id="{index + 1}" uname="{node}"/>' for index, node in enumerate(NODES)]
    lines.append("    </nodes>")
    lines += _resources(scenario.layout)
    lines += _constraints(scenario.layout)
    lines += ["  </configuration>", "  <status>"]
    for index, node in enumerate(NODES):
        lines += _node_state(index, node, scenario.failure)
    lines += ["  </status>", "</cib>"]
    return "\n".join(lines) + "\n"


def render_all() -> dict[Path, str]:
    """Every scenario file, by path, as this script writes it."""
    return {scenario.path: render_scenario(scenario) for scenario in SCENARIOS}


# ---------------------------------------------------------------------------
# Shared with bless.py and test_golden.py
# ---------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def extract_summary(output: str) -> list[str]:
    """The normalised ``*`` lines of the ``Transition Summary:`` block.

    The block ends at the first line that is neither indented nor empty;
    runs of white space collapse to one (as the corpus README describes).
    """
    lines: list[str] = []
    inside = False
    for line in output.splitlines():
        if line.strip() == "Transition Summary:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line[0].isspace():
            break
        stripped = line.strip()
        if stripped.startswith("*"):
            lines.append(_SPACES.sub(" ", stripped))
    return lines


def read_golden(scenario: Scenario) -> list[str]:
    return [line for line in scenario.golden.read_text(encoding="utf-8").splitlines() if line]


def find_crm_simulate() -> str | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which("crm_simulate", path=search)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only verify that the files are current")
    args = parser.parse_args(argv)
    stale = 0
    for path, text in render_all().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            print(f"stale: {path.relative_to(ROOT)}")
            stale += 1
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
