"""The executor's vocabulary: result enums, recovery classes, agent names, the OCF environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.executor import ActionRequest, AgentSpec, Recovery, recovery_class
from vigil.executor.environment import (
    CRM_FEATURE_SET,
    PACEMAKER_OCF_VARIABLES,
    agent_variables,
    clone_meta,
    inherited_environment,
    instance_name,
)
from vigil.executor.lsb import lsb_to_ocf, read_header
from vigil.model.results import ExecStatus, OcfRc

HERE = Path(__file__).resolve().parent


def test_result_enums_have_pacemakers_numbers_as_the_model_records_them() -> None:
    # enum ocf_exitcode and enum pcmk_exec_status, as a CIB's history records them.
    assert {rc.name: int(rc) for rc in OcfRc} == {
        "SUCCESS": 0, "ERR_GENERIC": 1, "ERR_ARGS": 2, "ERR_UNIMPLEMENTED": 3, "ERR_PERM": 4,
        "ERR_INSTALLED": 5, "ERR_CONFIGURED": 6, "NOT_RUNNING": 7, "RUNNING_PROMOTED": 8,
        "FAILED_PROMOTED": 9, "DEGRADED": 190, "DEGRADED_PROMOTED": 191, "UNKNOWN": 193,
    }
    assert {status.name: int(status) for status in ExecStatus} == {
        "PENDING": -1, "DONE": 0, "CANCELLED": 1, "TIMEOUT": 2, "NOT_SUPPORTED": 3, "ERROR": 4,
        "ERROR_HARD": 5, "ERROR_FATAL": 6, "NOT_INSTALLED": 7, "NOT_CONNECTED": 8, "INVALID": 9,
        "NO_FENCE_DEVICE": 10, "NO_SECRETS": 11,
    }
    assert OcfRc.from_exit_code(193) == OcfRc.ERR_GENERIC


@pytest.mark.parametrize(
    ("code", "rc"),
    [
        (0, OcfRc.SUCCESS),
        (7, OcfRc.NOT_RUNNING),
        (9, OcfRc.FAILED_PROMOTED),
        (190, OcfRc.DEGRADED),
        (191, OcfRc.DEGRADED_PROMOTED),
        (10, OcfRc.ERR_GENERIC),
        (42, OcfRc.ERR_GENERIC),
        (127, OcfRc.ERR_GENERIC),
        (189, OcfRc.ERR_GENERIC),
        (255, OcfRc.ERR_GENERIC),
    ],
)
def test_exit_codes_outside_ocf_become_generic_errors(code: int, rc: OcfRc) -> None:
    assert OcfRc.from_exit_code(code) is rc


@pytest.mark.parametrize(
    ("rc", "status", "interval", "recovery"),
    [
        (OcfRc.ERR_GENERIC, ExecStatus.DONE, 0, Recovery.SOFT),
        (
            OcfRc.SUCCESS,
            ExecStatus.DONE,
            0,
            Recovery.SOFT,
        ),  # e.g. a probe finding it running where unexpected
        (OcfRc.ERR_ARGS, ExecStatus.DONE, 0, Recovery.HARD),
        (OcfRc.ERR_UNIMPLEMENTED, ExecStatus.DONE, 0, Recovery.HARD),
        (OcfRc.ERR_UNIMPLEMENTED, ExecStatus.DONE, 10_000, Recovery.NONE),
        (OcfRc.ERR_PERM, ExecStatus.ERROR, 0, Recovery.HARD),
        (OcfRc.ERR_INSTALLED, ExecStatus.DONE, 0, Recovery.HARD),
        (OcfRc.ERR_CONFIGURED, ExecStatus.DONE, 0, Recovery.FATAL),
        (OcfRc.NOT_RUNNING, ExecStatus.DONE, 0, Recovery.NONE),
        (OcfRc.RUNNING_PROMOTED, ExecStatus.DONE, 0, Recovery.SOFT),
        (OcfRc.FAILED_PROMOTED, ExecStatus.DONE, 0, Recovery.SOFT),
        (OcfRc.DEGRADED, ExecStatus.DONE, 0, Recovery.NONE),
        (OcfRc.DEGRADED_PROMOTED, ExecStatus.DONE, 0, Recovery.NONE),
        (OcfRc.ERR_GENERIC, ExecStatus.TIMEOUT, 0, Recovery.SOFT),
        (OcfRc.ERR_GENERIC, ExecStatus.ERROR, 0, Recovery.SOFT),  # killed by a signal
        (OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED, 0, Recovery.HARD),
        (OcfRc.ERR_CONFIGURED, ExecStatus.ERROR_FATAL, 0, Recovery.FATAL),
        (OcfRc.SUCCESS, ExecStatus.CANCELLED, 0, Recovery.NONE),
    ],
)
def test_recovery_classes(rc: OcfRc, status: ExecStatus, interval: int, recovery: Recovery) -> None:
    assert recovery_class(rc, status, interval) is recovery


@pytest.mark.parametrize(
    ("action", "code", "rc"),
    [
        ("start", 0, OcfRc.SUCCESS),
        ("start", 1, OcfRc.ERR_GENERIC),
        ("stop", 5, OcfRc.ERR_INSTALLED),
        ("start", 7, OcfRc.NOT_RUNNING),
        ("start", 8, OcfRc.ERR_GENERIC),
        ("start", 150, OcfRc.ERR_GENERIC),
        ("status", 0, OcfRc.SUCCESS),
        ("status", 1, OcfRc.NOT_RUNNING),
        ("status", 2, OcfRc.NOT_RUNNING),
        ("status", 3, OcfRc.NOT_RUNNING),
        ("status", 4, OcfRc.ERR_GENERIC),
        ("monitor", 3, OcfRc.NOT_RUNNING),
        ("status", 150, OcfRc.ERR_INSTALLED),
        ("status", 151, OcfRc.ERR_PERM),
        ("status", 7, OcfRc.ERR_GENERIC),
    ],
)
def test_lsb_exit_codes(action: str, code: int, rc: OcfRc) -> None:
    assert lsb_to_ocf(action, code) is rc


def test_lsb_header_is_read() -> None:
    header = read_header(HERE / "lsb" / "vigil-test-service")
    assert header["Provides"] == "vigil-test-service"
    assert header["Short-Description"] == "vigil's test service"
    assert header["Description"].endswith("so each copy of the script is independent.")


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("ocf:heartbeat:Dummy", AgentSpec("ocf", "Dummy", "heartbeat")),
        ("lsb:logd", AgentSpec("lsb", "logd")),
        (
            "/usr/lib/ocf/resource.d/pacemaker/Stateful",
            AgentSpec("ocf", "Stateful", "pacemaker", "/usr/lib/ocf/resource.d/pacemaker/Stateful"),
        ),
        ("./my-agent", AgentSpec("ocf", "my-agent", None, "./my-agent")),
    ],
)
def test_agent_names(text: str, spec: AgentSpec) -> None:
    assert AgentSpec.parse(text) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Dummy", "use ocf:PROVIDER:TYPE"),
        ("ocf:Dummy", "use ocf:PROVIDER:TYPE"),
        ("upstart:sshd", "systemd:UNIT"),
        ("ocf:heart beat:Dummy", "use ocf:PROVIDER:TYPE"),
    ],
)
def test_bad_agent_names_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AgentSpec.parse(text)


def test_requests_refuse_what_execve_cannot_carry() -> None:
    with pytest.raises(ValueError, match="cannot be a parameter name"):
        ActionRequest.create("r", "ocf:x:y", "start", {"a=b": "1"})
    with pytest.raises(ValueError, match="NUL"):
        ActionRequest.create("r", "ocf:x:y", "start", meta={"k": "a\0b"})
    with pytest.raises(ValueError, match="timeout must be positive"):
        ActionRequest.create("r", "ocf:x:y", "start", timeout_ms=0)


def test_the_environment_is_pacemakers() -> None:
    request = ActionRequest.create(
        "web",
        "ocf:heartbeat:apache",
        "stop",
        {"configfile": "/etc/apache2.conf", "OCF_CHECK_LEVEL": "10"},
        {"on-fail": "restart", "stop_reason": "failure", "stop_final": "false", "timeout": "1"},
        interval_ms=0,
        timeout_ms=30_000,
        node_name="node1",
        node_uuid="1",
    )
    env = agent_variables(request, Path("/usr/lib/ocf"))
    assert env == {
        "OCF_RA_VERSION_MAJOR": "1",
        "OCF_RA_VERSION_MINOR": "1",
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
        "OCF_RESOURCE_INSTANCE": "web",
        "OCF_RESOURCE_TYPE": "apache",
        "OCF_RESOURCE_PROVIDER": "heartbeat",
        "OCF_RESKEY_configfile": "/etc/apache2.conf",
        "OCF_CHECK_LEVEL": "10",
        "OCF_RESKEY_crm_feature_set": CRM_FEATURE_SET,
        "OCF_RESKEY_CRM_meta_on_fail": "restart",
        "OCF_RESKEY_CRM_meta_stop_reason": "failure",
        "OCF_RESKEY_CRM_meta_stop_final": "false",
        # The timeout the agent is told is the one the executor enforces.
        "OCF_RESKEY_CRM_meta_timeout": "30000",
        "OCF_RESKEY_CRM_meta_interval": "0",
        "OCF_RESKEY_CRM_meta_name": "stop",
        "OCF_RESKEY_CRM_meta_on_node": "node1",
        "OCF_RESKEY_CRM_meta_on_node_uuid": "1",
    }
    for name in env:
        assert (
            name in PACEMAKER_OCF_VARIABLES
            or name.startswith("OCF_RESKEY_CRM_meta_")
            or name[len("OCF_RESKEY_") :] in request.params_dict
        )


@pytest.mark.parametrize(
    ("resource", "unique", "instance"),
    [
        ("ping:2", False, "ping"),
        ("ping:2", True, "ping:2"),
        ("ping", False, "ping"),
    ],
)
def test_clone_instances_are_named_as_pacemaker_names_them(
    resource: str, unique: bool, instance: str
) -> None:
    meta = clone_meta(2, 3, globally_unique=unique)
    request = ActionRequest.create(resource, "ocf:pacemaker:ping", "start", meta=meta)
    assert instance_name(request) == instance
    env = agent_variables(request, Path("/usr/lib/ocf"))
    assert env["OCF_RESKEY_CRM_meta_clone_max"] == "3"
    assert env["OCF_RESKEY_CRM_meta_globally_unique"] == ("true" if unique else "false")


def test_a_plain_resource_with_a_number_keeps_its_name() -> None:
    assert instance_name(ActionRequest.create("db:1", "ocf:x:y", "start")) == "db:1"
    assert instance_name(ActionRequest.create("db:1", "ocf:x:y", "start", instance="db")) == "db"


def test_inherited_environment_drops_stray_ocf_variables() -> None:
    env = inherited_environment({"OCF_RESKEY_state": "/tmp/x", "OCF_ROOT": "/elsewhere", "HOME": "/root"})
    assert env["HOME"] == "/root"
    assert not any(k.startswith("OCF_") for k in env)
    assert "PATH" in env
