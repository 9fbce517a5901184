"""A value that does not fit its declared type is a warning, never a refused start (issue 17, item 4).

Pacemaker does not check values against the types in an agent's meta-data,
and real agents depend on that: ``ocf:pacemaker:ping`` declares ``dampen``
an integer and defaults it to ``1s``.  vigil logs the mismatch and starts the
agent with the value as given; only a missing required parameter still
refuses a start.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from vigil.executor import ActionRequest, AgentSpec, Executor
from vigil.executor.metadata import AgentMetadata, check_params, type_mismatches
from vigil.model.results import ExecStatus, OcfRc

from .conftest import run

PING = Path("/usr/lib/ocf/resource.d/pacemaker/ping")


def start(tmp_path: Path, **params: str) -> ActionRequest:
    return ActionRequest.create("rsc", "ocf:vigil-test:minimal", "start",
                                {"state": str(tmp_path / "state"), **params}, timeout_ms=10_000)


def test_a_value_of_the_wrong_type_is_logged_and_the_agent_starts_with_it(
    executor: Executor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="vigil.executor.executor"):
        result = run(executor.run(start(tmp_path, count="1s", mode="thorough")))
    assert (result.rc, result.status) == (OcfRc.SUCCESS, ExecStatus.DONE), result.exit_reason
    assert (tmp_path / "state").exists(), "the agent itself ran its start"
    assert "parameter 'count' is declared an integer, but is '1s' (the agent is given it as it is)" \
        in result.warnings
    assert "parameter 'mode' is declared one of light, heavy, but is 'thorough' " \
           "(the agent is given it as it is)" in result.warnings
    assert "rsc: parameter 'count' is declared an integer, but is '1s'" in caplog.text


def test_a_missing_required_parameter_still_refuses_the_start(executor: Executor, tmp_path: Path) -> None:
    result = run(executor.run(ActionRequest.create("rsc", "ocf:vigil-test:minimal", "start", {"count": "x"},
                                                   timeout_ms=10_000)))
    assert (result.rc, result.status) == (OcfRc.ERR_CONFIGURED, ExecStatus.ERROR_FATAL)
    assert "required parameter 'state'" in result.exit_reason and "'count'" not in result.exit_reason


@pytest.mark.skipif(not PING.exists(), reason="ocf:pacemaker:ping (pacemaker-resource-agents) is missing")
def test_pings_own_default_dampen_is_only_a_warning() -> None:
    async def metadata_of_ping() -> AgentMetadata:
        executor = Executor()
        try:
            return await executor.metadata(AgentSpec("ocf", "ping", "pacemaker"))
        finally:
            await executor.close()

    metadata = run(metadata_of_ping())
    spec = metadata.parameter("dampen")
    assert spec is not None and spec.type == "integer" and spec.default is not None
    assert spec.default.endswith("s"), "ping declares an integer and defaults it to a duration"
    params = {"host_list": "127.0.0.1", "dampen": spec.default}
    assert check_params(metadata, params).errors == ()
    assert type_mismatches(metadata, params) == [
        f"parameter 'dampen' is declared an integer, but is {spec.default!r} "
        "(the agent is given it as it is)"]
