"""Checking a configuration's agents: what is wrong everywhere is refused, what is one node's is a warning.

Issue 17, items 4 and 6.  An agent missing on this node (or whose meta-data
fails) and a parameter value not of its declared type do not refuse a
configuration: they are warnings, shown by ``vigil config load``, and the
configuration is stored.  A class vigil does not run and an agent name that
is no plain name are refused, as before.  Real agents (the executor tests'
``ocf:vigil-test:minimal``), a real SQLite store.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.operations.test_cli_offline import stored
from vigil.admin.intake import Findings, check_agents, parse_config
from vigil.cli.main import cli
from vigil.executor import Executor

AGENTS = Path(__file__).resolve().parents[1] / "executor" / "agents"


@pytest.fixture
def ocf_root(tmp_path: Path) -> Path:
    root = tmp_path / "ocf"
    shutil.copytree(AGENTS, root)
    for agent in (root / "resource.d" / "vigil-test").iterdir():
        agent.chmod(0o755)
    return root


def primitive(rsc: str, cls: str, provider: str, kind: str, params: dict[str, str]) -> str:
    pairs = "".join(f'<nvpair id="{rsc}-{k}" name="{k}" value="{v}"/>' for k, v in params.items())
    return (f'<primitive id="{rsc}" class="{cls}" provider="{provider}" type="{kind}">'
            f'<instance_attributes id="{rsc}-p">{pairs}</instance_attributes></primitive>')


def cib(*primitives: str) -> str:
    return ('<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration>'
            '<crm_config/><nodes/><resources>' + "".join(primitives) +
            '</resources><constraints/></configuration></cib>')


MIXED = cib(primitive("typed", "ocf", "vigil-test", "minimal", {"state": "/tmp/x", "count": "1s"}),
            primitive("ghost", "ocf", "vigil-test", "NoSuchAgent", {}))


def check(text: str, root: Path) -> Findings:
    config, _ = parse_config(text.encode(), "cib.xml")

    async def run() -> Findings:
        executor = Executor(ocf_root_dir=root)
        try:
            return await check_agents(config, executor)
        finally:
            await executor.close()

    return asyncio.run(run())


def test_a_missing_agent_and_a_mistyped_value_are_warnings(ocf_root: Path) -> None:
    found = check(MIXED, ocf_root)
    assert found.problems == []
    typed, ghost = found.warnings
    assert typed == ("resource typed: parameter 'count' is declared an integer, but is '1s' "
                     "(the agent is given it as it is)")
    assert ghost.startswith("resource ghost: agent ocf:vigil-test:NoSuchAgent cannot be used on this node: ")
    assert ghost.endswith("the resource will be failed here (not installed) and run where the agent works")


def test_a_class_vigil_does_not_run_and_a_path_for_a_name_are_refused(ocf_root: Path) -> None:
    found = check(cib(primitive("a", "nagios", "x", "check_http", {}),
                      primitive("b", "ocf", "vigil-test", "../minimal", {})), ocf_root)
    assert [problem.where for problem in found.problems] == ["resource a", "resource b"]
    assert "agent class 'nagios'" in found.problems[0].message
    assert "its type '../minimal' is not a plain name" in found.problems[1].message
    assert found.warnings == []


def test_config_load_stores_the_configuration_and_shows_the_warnings(ocf_root: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    (tmp_path / "cib.xml").write_text(MIXED)
    result = CliRunner().invoke(cli, ["config", "load", str(tmp_path / "cib.xml"), "--state-dir", str(state)],
                                env={"OCF_ROOT": str(ocf_root)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "configuration loaded" in lines[0]
    assert lines[1].startswith("  warning: resource typed: parameter 'count' is declared an integer")
    assert lines[2].startswith("  warning: resource ghost: agent ocf:vigil-test:NoSuchAgent cannot be used")
    config, _ = stored(state)
    assert [p.id for p in config.primitives()] == ["typed", "ghost"]
