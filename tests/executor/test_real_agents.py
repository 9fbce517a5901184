"""Real agents, unmodified: Debian's ocf:heartbeat:Dummy, ocf:pacemaker:Dummy and Stateful, and init scripts.

Their environment is checked against the variables Pacemaker documents for
OCF agents: everything vigil sets is on that list (or is a parameter or a
meta attribute), and everything Pacemaker always sets is there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.controller.requests import ConfiguredPrimitives, prepare
from vigil.executor import ActionRequest, Executor
from vigil.executor.environment import CRM_FEATURE_SET, PACEMAKER_OCF_VARIABLES, clone_meta
from vigil.formats.cib.load import load_cib
from vigil.model.results import ExecStatus, OcfRc

from .conftest import needs_debian_agents, run

ALWAYS_SET = {
    "OCF_RA_VERSION_MAJOR",
    "OCF_RA_VERSION_MINOR",
    "OCF_ROOT",
    "OCF_EXIT_REASON_PREFIX",
    "OCF_RESOURCE_INSTANCE",
    "OCF_RESOURCE_TYPE",
    "OCF_RESOURCE_PROVIDER",
    "OCF_RESKEY_crm_feature_set",
    "OCF_RESKEY_CRM_meta_timeout",
    "OCF_RESKEY_CRM_meta_on_node",
    "OCF_RESKEY_CRM_meta_on_node_uuid",
}


def cycle(
    executor: Executor,
    agent: str,
    resource: str,
    params: dict[str, str],
    meta: dict[str, str],
    steps: list[tuple[str, int, OcfRc]],
) -> list[tuple[str, OcfRc, ExecStatus, str]]:
    """Run the steps in order; return (action, rc, status, exit reason) of each."""

    async def go() -> list[tuple[str, OcfRc, ExecStatus, str]]:
        seen = []
        for action, interval, _ in steps:
            result = await executor.run(
                ActionRequest.create(
                    resource,
                    agent,
                    action,
                    params,
                    meta,
                    interval_ms=interval,
                    node_name="node1",
                    node_uuid="1",
                )
            )
            seen.append((action, result.rc, result.status, result.exit_reason))
        return seen

    return run(go())


def expected(steps: list[tuple[str, int, OcfRc]]) -> list[tuple[str, OcfRc, ExecStatus, str]]:
    return [(action, rc, ExecStatus.DONE, "") for action, _, rc in steps]


BASIC = [
    ("monitor", 0, OcfRc.NOT_RUNNING),
    ("start", 0, OcfRc.SUCCESS),
    ("monitor", 10_000, OcfRc.SUCCESS),
    ("start", 0, OcfRc.SUCCESS),
    ("stop", 0, OcfRc.SUCCESS),
    ("stop", 0, OcfRc.SUCCESS),
    ("monitor", 0, OcfRc.NOT_RUNNING),
]


@needs_debian_agents
@pytest.mark.parametrize("agent", ["ocf:heartbeat:Dummy", "ocf:pacemaker:Dummy"])
def test_debian_dummies_start_monitor_stop(agent: str, tmp_path: Path) -> None:
    state = tmp_path / "dummy.state"
    seen = cycle(Executor(), agent, "dummy", {"state": str(state)}, {}, BASIC)
    assert seen == expected(BASIC)
    assert not state.exists()


@needs_debian_agents
def test_stateful_is_promoted_and_demoted(tmp_path: Path) -> None:
    steps = [
        ("monitor", 0, OcfRc.NOT_RUNNING),
        ("start", 0, OcfRc.SUCCESS),
        ("monitor", 11_000, OcfRc.SUCCESS),
        ("promote", 0, OcfRc.SUCCESS),
        ("monitor", 10_000, OcfRc.RUNNING_PROMOTED),
        ("demote", 0, OcfRc.SUCCESS),
        ("monitor", 11_000, OcfRc.SUCCESS),
        ("stop", 0, OcfRc.SUCCESS),
        ("monitor", 0, OcfRc.NOT_RUNNING),
    ]
    meta = clone_meta(0, 2, promoted_max=1)
    seen = cycle(
        Executor(), "ocf:pacemaker:Stateful", "stateful:0", {"state": str(tmp_path / "s.state")}, meta, steps
    )
    assert seen == expected(steps)


def read_env_dumps(path: Path) -> list[dict[str, str]]:
    """ocf:pacemaker:Dummy's envfile: blocks of `env | sort` between ### lines."""
    dumps: list[dict[str, str]] = []
    for line in path.read_text().splitlines():
        if line.startswith("### ") and line.endswith(" ###"):
            dumps.append({})
        elif line != "###" and "=" in line and dumps:
            key, _, value = line.partition("=")
            dumps[-1][key] = value
    return dumps


@needs_debian_agents
def test_environment_received_by_pacemakers_dummy_is_pacemakers(tmp_path: Path) -> None:
    envfile = tmp_path / "env"
    params = {"state": str(tmp_path / "d.state"), "envfile": str(envfile)}
    meta = {
        **clone_meta(2, 3),
        "target-role": "Started",
        "stop_reason": "failure",
        "stop_final": "false",
        "recoveries_left": "2",
    }

    async def go() -> None:
        executor = Executor()
        for action in ("start", "stop"):
            result = await executor.run(
                ActionRequest.create(
                    "dummy:2",
                    "ocf:pacemaker:Dummy",
                    action,
                    params,
                    meta,
                    timeout_ms=20_000,
                    node_name="node1",
                    node_uuid="1",
                )
            )
            assert result.rc == OcfRc.SUCCESS, result.describe()

    run(go())
    start, stop = read_env_dumps(envfile)
    for env in (start, stop):
        ocf = {k: v for k, v in env.items() if k.startswith(("OCF_", "PCMK_", "HA_"))}
        unexpected = [
            k
            for k in ocf
            if k not in PACEMAKER_OCF_VARIABLES
            and not k.startswith("OCF_RESKEY_CRM_meta_")
            and k[len("OCF_RESKEY_") :] not in params
        ]
        assert unexpected == []
        assert set(ocf) >= ALWAYS_SET
        assert ocf["OCF_RESOURCE_INSTANCE"] == "dummy"  # an anonymous clone instance, without ":2"
        assert ocf["OCF_RESOURCE_TYPE"] == "Dummy" and ocf["OCF_RESOURCE_PROVIDER"] == "pacemaker"
        assert ocf["OCF_RESKEY_crm_feature_set"] == CRM_FEATURE_SET
        assert (ocf["OCF_RESKEY_CRM_meta_on_node"], ocf["OCF_RESKEY_CRM_meta_on_node_uuid"]) == ("node1", "1")
        assert (ocf["OCF_RESKEY_CRM_meta_clone"], ocf["OCF_RESKEY_CRM_meta_clone_max"]) == ("2", "3")
        assert ocf["OCF_RESKEY_CRM_meta_target_role"] == "Started"
        assert ocf["OCF_RESKEY_CRM_meta_stop_reason"] == "failure"
        assert ocf["OCF_RESKEY_CRM_meta_timeout"] == "20000"
    assert (start["OCF_RESKEY_CRM_meta_name"], stop["OCF_RESKEY_CRM_meta_name"]) == ("start", "stop")


def test_bundled_init_script_start_status_stop(executor: Executor, lsb_dir: Path) -> None:
    steps = [
        ("monitor", 0, OcfRc.NOT_RUNNING),
        ("start", 0, OcfRc.SUCCESS),
        ("monitor", 15_000, OcfRc.SUCCESS),
        ("start", 0, OcfRc.SUCCESS),
        ("status", 0, OcfRc.SUCCESS),
        ("stop", 0, OcfRc.SUCCESS),
        ("stop", 0, OcfRc.SUCCESS),
        ("status", 0, OcfRc.NOT_RUNNING),
    ]
    assert cycle(executor, "lsb:vigil-test-service", "svc", {}, {}, steps) == expected(steps)


def test_init_script_that_left_a_pid_file_is_not_running(executor: Executor, lsb_dir: Path) -> None:
    (lsb_dir / ".vigil-test-service.pid").write_text("999999999\n")
    result = run(executor.run(ActionRequest.create("svc", "lsb:vigil-test-service", "monitor")))
    assert (result.exit_code, result.rc) == (1, OcfRc.NOT_RUNNING)
    (lsb_dir / ".vigil-test-service.pid").unlink()


def test_init_script_gets_no_ocf_environment(executor: Executor) -> None:
    result = run(executor.run(ActionRequest.create("svc", "lsb:vigil-test-service", "status")))
    assert result.environment == ()


def test_missing_init_script_is_not_installed(executor: Executor) -> None:
    result = run(executor.run(ActionRequest.create("svc", "lsb:no-such-service", "status")))
    assert (result.rc, result.status) == (OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED)


LOGD = Path("/etc/init.d/logd")


@pytest.mark.skipif(
    not LOGD.exists(),
    reason="cluster-glue's /etc/init.d/logd (a resource-agents dependency) is not installed",
)
def test_a_real_debian_init_script_status(tmp_path: Path) -> None:
    """cluster-glue's logd script, installed with resource-agents: status only, it starts nothing."""
    result = run(
        Executor(lsb_dir=Path("/etc/init.d")).run(ActionRequest.create("logd", "lsb:logd", "monitor"))
    )
    assert result.status == ExecStatus.DONE
    # 3 (stopped) maps to OCF 7; 0 if someone runs ha_logd on this machine.
    assert (result.exit_code, result.rc) in ((3, OcfRc.NOT_RUNNING), (0, OcfRc.SUCCESS))


def test_the_reported_environment_is_exactly_what_the_agent_got(ocf_root: Path, tmp_path: Path) -> None:
    envfile = tmp_path / "env"
    executor = Executor(ocf_root_dir=ocf_root, environ={"PATH": "/usr/bin:/bin", "OCF_RESKEY_stray": "x"})
    result = run(
        executor.run(
            ActionRequest.create(
                "probe",
                "ocf:vigil-test:envdump",
                "monitor",
                {"envfile": str(envfile)},
                {"stop_reason": "admin"},
            )
        )
    )
    assert result.rc == OcfRc.NOT_RUNNING
    received = dict(line.split("=", 1) for line in envfile.read_text().splitlines() if "=" in line)
    assert {k: v for k, v in received.items() if k.startswith("OCF_")} == dict(result.environment)
    assert received["PATH"] == "/usr/bin:/bin"


@needs_debian_agents
def test_a_planned_migration_reaches_pacemakers_dummy_as_pacemaker_passes_it(tmp_path: Path) -> None:
    """A migrate_to and migrate_from with the meta vigil plans for them (see
    tests/scheduler/test_migration.py), prepared as the controller prepares
    them, reach ocf:pacemaker:Dummy as Pacemaker passes them: both ends of
    the migration, and record_pending on migrate_to."""
    envfile = tmp_path / "env"
    params = {"state": str(tmp_path / "vm.state"), "envfile": str(envfile)}
    nvpairs = "".join(f'<nvpair id="vm-{k}" name="{k}" value="{v}"/>' for k, v in params.items())
    xml = (
        '<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration>'
        '<crm_config/><nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes><resources>'
        '<primitive id="vm" class="ocf" provider="pacemaker" type="Dummy">'
        f'<instance_attributes id="vm-params">{nvpairs}</instance_attributes>'
        '<meta_attributes id="vm-meta"><nvpair id="vm-am" name="allow-migrate" value="true"/>'
        '</meta_attributes>'
        '</primitive></resources><constraints/></configuration><status/></cib>'
    ).encode()
    config = load_cib(xml)[0].config
    now = 1_700_000_000
    migration = {"migrate_source": "node1", "migrate_target": "node2"}
    steps = [("start", "node1", {}), ("migrate_to", "node1", {**migration, "record_pending": "true"}),
             ("migrate_from", "node2", migration)]

    async def go() -> None:
        executor = Executor()
        for task, node, meta in steps:
            prepared = prepare(ConfiguredPrimitives(config, now), resource_id="vm", task=task, interval_ms=0,
                               node=node, node_attrs={"#uname": node}, now=now, meta=meta)
            assert prepared is not None
            result = await executor.run(prepared.request)
            assert result.rc == OcfRc.SUCCESS, result.describe()

    run(go())
    _, migrate_to, migrate_from = read_env_dumps(envfile)
    for env in (migrate_to, migrate_from):
        assert env["OCF_RESKEY_CRM_meta_migrate_source"] == "node1"
        assert env["OCF_RESKEY_CRM_meta_migrate_target"] == "node2"
    assert migrate_to["OCF_RESKEY_CRM_meta_record_pending"] == "true"
    assert "OCF_RESKEY_CRM_meta_record_pending" not in migrate_from
    assert (migrate_to["OCF_RESKEY_CRM_meta_name"], migrate_from["OCF_RESKEY_CRM_meta_name"]) == (
        "migrate_to", "migrate_from")
