"""What the API refuses or hides: secrets without the token, foreign Host names, oversized bodies,
bodies that are not JSON objects (docs/security.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.api.conftest import AUTH, Api, run_api
from tests.api.test_api import CHANGES, READS, error_of
from vigil.admin.intake import parse_config
from vigil.api.hosts import HostPolicy
from vigil.api.limits import COMMAND_BODY_LIMIT, CONFIG_BODY_LIMIT
from vigil.api.secrets import MASK
from vigil.errors import InputError
from vigil.executor.executor import Executor

SECRETS_CIB = b"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="true"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="n1" uname="n1"/>
    </nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="web-params">
          <nvpair id="web-state" name="state" value="/run/web.state"/>
          <nvpair id="web-pw" name="db_password" value="hunter2-db"/>
          <nvpair id="web-url" name="backend" value="https://admin:hunter2-url@db.example/x"/>
        </instance_attributes>
        <operations>
          <op id="web-mon" name="monitor" interval="10s">
            <instance_attributes id="web-mon-params">
              <nvpair id="web-mon-token" name="api_token" value="hunter2-op"/>
            </instance_attributes>
          </op>
        </operations>
      </primitive>
      <clone id="cl">
        <group id="g">
          <primitive id="inner" class="ocf" provider="heartbeat" type="Dummy">
            <instance_attributes id="inner-params">
              <nvpair id="inner-pw" name="passwd" value="hunter2-inner"/>
            </instance_attributes>
          </primitive>
        </group>
      </clone>
      <primitive id="ipmi" class="stonith" type="fence_ipmilan">
        <instance_attributes id="ipmi-params">
          <nvpair id="ipmi-ip" name="ip" value="192.0.2.7"/>
          <nvpair id="ipmi-login" name="username" value="admin"/>
          <nvpair id="ipmi-pw" name="password" value="hunter2-fence"/>
        </instance_attributes>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""
ALERTS = b"""
    <alerts>
      <alert id="central" path="vigil:webhook">
        <recipient id="central-to" value="https://hooks.example/vigil">
          <instance_attributes id="central-to-params">
            <nvpair id="central-auth" name="header-Authorization" value="Bearer hunter2-hook"/>
            <nvpair id="central-trace" name="header-X-Trace" value="visible-header"/>
          </instance_attributes>
        </recipient>
      </alert>
    </alerts>
  </configuration>"""
TEMPLATE = b"""
      <template id="db-template" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="db-template-params">
          <nvpair id="db-template-pw" name="passwd" value="hunter2-template"/>
        </instance_attributes>
      </template>
      <primitive id="db" template="db-template"/>"""
SECRETS = ["hunter2-db", "hunter2-url", "hunter2-op", "hunter2-inner", "hunter2-fence",
           "hunter2-hook"]
VISIBLE = ["/run/web.state", "192.0.2.7", "admin", "db.example", "visible-header", "hooks.example"]


def secrets_config(*, template: bool = False) -> bytes:
    """The CIB with secrets everywhere; ``template``: one in a resource template too (XML only)."""
    text = SECRETS_CIB.replace(b"\n  </configuration>", ALERTS, 1)
    return text.replace(b"<resources>", b"<resources>" + TEMPLATE, 1) if template else text


# -- secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "yaml"])
def test_a_read_without_the_token_masks_every_secret_and_shows_the_rest(fmt: str) -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.get("/api/v1/config", params={"format": fmt})
        assert response.status_code == 200, response.text
        text = response.text
        for secret in SECRETS:
            assert secret not in text, secret
        for shown in [*VISIBLE, "https://admin:****@db.example/x"]:
            assert shown in text, shown
        if fmt == "yaml":
            assert "db_password: '****'" in text
            yaml.safe_load(text)  # the mask is quoted: `*` alone would start a YAML alias
        else:
            assert f'name="db_password" value="{MASK}"' in text

    run_api(scenario, config=parse_config(secrets_config(), "secrets.xml")[0])


@pytest.mark.parametrize("fmt", ["xml", "yaml"])
def test_a_read_with_the_token_shows_the_secrets(fmt: str) -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.get("/api/v1/config", params={"format": fmt}, headers=AUTH)
        assert response.status_code == 200, response.text
        for value in [*SECRETS, *VISIBLE]:
            assert value in response.text, value
        assert MASK not in response.text

    run_api(scenario, config=parse_config(secrets_config(), "secrets.xml")[0])


def test_a_template_secret_is_masked_and_the_primitive_still_uses_the_template() -> None:
    """The secret is masked both in the template and in the primitive built from it, so the export
    still writes the primitive as using the template, not as an override that leaks nothing but
    would no longer follow the template."""

    async def scenario(api: Api) -> None:
        text = (await api.client.get("/api/v1/config")).text
        assert "hunter2-template" not in text
        assert f'name="passwd" value="{MASK}"' in text
        assert '<primitive id="db" template="db-template"/>' in text
        assert "hunter2-template" in (await api.client.get("/api/v1/config", headers=AUTH)).text

    run_api(scenario, config=parse_config(secrets_config(template=True), "secrets.xml")[0])


def test_a_configuration_yaml_cannot_express_is_a_clear_error_not_a_crash() -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.get("/api/v1/config", params={"format": "yaml"}, headers=AUTH)
        status, message, details = error_of(response)
        assert status == 400 and "format=xml" in message
        assert any("db-template" in detail for detail in details), details

    run_api(scenario, config=parse_config(secrets_config(template=True), "secrets.xml")[0])


def test_a_read_of_the_configuration_with_a_wrong_token_is_refused() -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.get("/api/v1/config", headers={"Authorization": "Bearer wrong"})
        status, message, _ = error_of(response)
        assert status == 401 and "token" in message
        assert response.headers["WWW-Authenticate"] == "Bearer"

    run_api(scenario, config=parse_config(secrets_config(), "secrets.xml")[0])


def test_credentials_that_are_no_bearer_token_are_no_token_and_the_secrets_stay_masked() -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.get("/api/v1/config", headers={"Authorization": "Basic eDp5"})
        assert response.status_code == 200
        assert "hunter2-db" not in response.text and MASK in response.text

    run_api(scenario, config=parse_config(secrets_config(), "secrets.xml")[0])


def test_no_other_read_shows_a_secret() -> None:
    async def scenario(api: Api) -> None:
        reads = [path for path in READS if path not in ("/api/v1/resources/g", "/api/v1/config")]
        for path in [*reads, "/api/v1/simulate?format=json", "/api/v1/simulate?format=pacemaker",
                     "/api/v1/resources/cl", "/openapi.json"]:
            response = await api.client.get(path)
            assert response.status_code == 200, (path, response.text)
            for secret in SECRETS:
                assert secret not in response.text, (path, secret)

    run_api(scenario, config=parse_config(secrets_config(), "secrets.xml")[0])


PRIVATE_AGENT = """#!/bin/sh
# A test agent whose meta-data marks one parameter private="1", the way Pacemaker learns it.
case "$1" in
meta-data) cat <<'EOF'
<?xml version="1.0"?>
<resource-agent name="Vault" version="1.0">
  <version>1.1</version>
  <longdesc lang="en">test</longdesc>
  <shortdesc lang="en">test</shortdesc>
  <parameters>
    <parameter name="unlock_phrase" private="1">
      <longdesc lang="en">x</longdesc><shortdesc lang="en">x</shortdesc><content type="string"/>
    </parameter>
    <parameter name="endpoint">
      <longdesc lang="en">x</longdesc><shortdesc lang="en">x</shortdesc><content type="string"/>
    </parameter>
  </parameters>
  <actions>
    <action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
    <action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
EOF
exit 0;;
*) exit 7;;
esac
"""

VAULT_CIB = b"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes><node id="n1" uname="n1"/></nodes>
    <resources>
      <primitive id="vault" class="ocf" provider="sectest" type="Vault">
        <instance_attributes id="vault-params">
          <nvpair id="vault-phrase" name="unlock_phrase" value="open-sesame"/>
          <nvpair id="vault-endpoint" name="endpoint" value="vault.example:8200"/>
        </instance_attributes>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def test_a_parameter_the_agent_marks_private_is_masked(tmp_path: Path) -> None:
    agent = tmp_path / "Vault"
    agent.write_text(PRIVATE_AGENT)
    agent.chmod(0o755)

    async def scenario(api: Api) -> None:
        masked = (await api.client.get("/api/v1/config")).text
        assert "open-sesame" not in masked and f'name="unlock_phrase" value="{MASK}"' in masked
        assert "vault.example:8200" in masked
        shown = (await api.client.get("/api/v1/config", headers=AUTH)).text
        assert "open-sesame" in shown

    run_api(scenario, config=parse_config(VAULT_CIB, "vault.xml")[0],
            executor=Executor(bundled_ocf={"sectest": tmp_path}))


def test_loading_a_masked_configuration_back_is_refused_and_changes_nothing() -> None:
    async def scenario(api: Api) -> None:
        masked = (await api.client.get("/api/v1/config")).content
        before = await api.store.revision()
        response = await api.client.put("/api/v1/config", content=masked, headers=AUTH)
        status, message, details = error_of(response)
        assert status == 400 and "nothing was changed" in message
        assert any(d.startswith("resource web: parameter db_password is '****'") for d in details), details
        assert any("alert central recipient central-to: parameter header-Authorization" in d
                   for d in details), details
        assert await api.store.revision() == before
        assert api.controller.pokes == []

    run_api(scenario, config=parse_config(secrets_config(), "secrets.xml")[0])


# -- Host names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("listen", "host", "allowed"), [
    ("127.0.0.1", "127.0.0.1:7945", True),
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "localhost:7945", True),
    ("127.0.0.1", "LocalHost.", True),
    ("127.0.0.1", "[::1]:7945", True),
    ("::1", "[::1]:7945", True),
    ("192.0.2.10", "192.0.2.10:7945", True),
    ("192.0.2.10", "localhost:7945", False),
    ("127.0.0.1", "evil.example", False),
    ("127.0.0.1", "evil.example:7945", False),
    ("127.0.0.1", "127.0.0.1.evil.example", False),
    ("127.0.0.1", "evil.example@127.0.0.1", False),
    ("127.0.0.1", "127.0.0.1:notaport", False),
    ("127.0.0.1", "", False),
    ("127.0.0.1", "10.0.0.1:7945", False),
    ("0.0.0.0", "10.0.0.1:7945", True),
    ("::", "[fe80::1]:7945", True),
    ("0.0.0.0", "localhost", True),
    ("0.0.0.0", "evil.example", False),
])
def test_the_host_names_the_api_answers_to(listen: str, host: str, allowed: bool) -> None:
    assert HostPolicy.for_listen(listen).allows(host) is allowed


def test_names_the_operator_adds_are_answered_to() -> None:
    policy = HostPolicy.for_listen("127.0.0.1", ["Vigil.Example.COM", "192.0.2.10", "[2001:db8::1]"])
    for host in ["vigil.example.com:7945", "192.0.2.10", "[2001:db8::1]:7945", "localhost"]:
        assert policy.allows(host), host
    assert not policy.allows("other.example.com")


def test_an_added_name_that_is_not_a_host_name_is_refused_naming_the_option() -> None:
    with pytest.raises(InputError) as raised:
        HostPolicy.for_listen("127.0.0.1", ["ok.example", "vigil.example:8080", "http://x", ""])
    problems = [str(problem) for problem in raised.value.problems]
    assert len(problems) == 3
    assert all(p.startswith("--allowed-host: ") and "is not a host name" in p for p in problems), problems


def test_a_request_to_a_foreign_host_name_is_421_on_every_route() -> None:
    async def scenario(api: Api) -> None:
        before = await api.store.revision()
        for path in READS:
            response = await api.client.get(path, headers={"Host": "evil.example:7945"})
            status, message, _ = error_of(response)
            assert status == 421, path
            assert "'evil.example:7945'" in message and "--allowed-host" in message
            assert "localhost" in message
        for method, path, body in CHANGES:
            response = await api.client.request(method, path, json=body, headers={**AUTH, "Host": "evil"})
            assert response.status_code == 421, path
        assert await api.store.revision() == before
        assert api.controller.pokes == []
        for host in ["127.0.0.1:7945", "localhost:7945", "[::1]:7945"]:
            assert (await api.client.get("/api/v1/status", headers={"Host": host})).status_code == 200

    run_api(scenario, hosts=HostPolicy.for_listen("127.0.0.1"))


def test_two_host_headers_are_refused() -> None:
    async def scenario(api: Api) -> None:
        request = api.client.build_request("GET", "/healthz")
        request.headers = httpx.Headers([("host", "127.0.0.1"), ("host", "evil.example")])
        assert (await api.client.send(request)).status_code == 421

    run_api(scenario, hosts=HostPolicy.for_listen("127.0.0.1"))


# -- bodies -------------------------------------------------------------------------------------


def test_a_configuration_larger_than_the_limit_is_refused_from_its_length_alone() -> None:
    async def scenario(api: Api) -> None:
        before = await api.store.revision()
        body = b"<" * (CONFIG_BODY_LIMIT + 1)
        status, message, _ = error_of(await api.client.put("/api/v1/config", content=body, headers=AUTH))
        assert status == 413 and "16 MiB" in message and "PUT /api/v1/config" in message
        assert await api.store.revision() == before

    run_api(scenario)


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit() -> None:
    """Without a Content-Length the body is counted as it arrives: the API stops reading it just
    past the limit instead of taking it all in first."""
    chunk = b" " * (1024 * 1024)
    sent = [0]

    async def body() -> AsyncIterator[bytes]:
        for _ in range(64):
            sent[0] += 1
            yield chunk

    async def scenario(api: Api) -> None:
        response = await api.client.put("/api/v1/config", content=body(), headers=AUTH)
        status, message, _ = error_of(response)
        assert status == 413 and "16 MiB" in message
        assert sent[0] <= CONFIG_BODY_LIMIT // len(chunk) + 2

    run_api(scenario)


def test_a_command_body_larger_than_its_limit_is_refused() -> None:
    async def scenario(api: Api) -> None:
        before = await api.store.revision()
        body = json.dumps({"node": "n" * COMMAND_BODY_LIMIT}).encode()
        response = await api.client.post("/api/v1/resources/web/ban", content=body,
                                         headers={**AUTH, "Content-Type": "application/json"})
        status, message, _ = error_of(response)
        assert status == 413 and "64 KiB" in message
        assert await api.store.revision() == before and api.controller.pokes == []

    run_api(scenario)


BODY_ROUTES = [(method, path) for method, path, body in CHANGES if method == "POST"]


@pytest.mark.parametrize("body", [b"null", b"[]", b"3", b'"n1"'], ids=["null", "list", "number", "string"])
def test_a_json_body_that_is_not_an_object_is_refused(body: bytes) -> None:
    async def scenario(api: Api) -> None:
        before = await api.store.revision()
        for method, path in BODY_ROUTES:
            response = await api.client.request(method, path, content=body,
                                                headers={**AUTH, "Content-Type": "application/json"})
            status, message, _ = error_of(response)
            assert status == 422, (path, response.text)
            assert "must be a JSON object" in message and "nothing was changed" in message
        assert await api.store.revision() == before
        assert api.controller.pokes == []

    run_api(scenario)


def test_an_empty_body_still_means_the_defaults() -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.post("/api/v1/nodes/n1/standby", headers=AUTH)
        assert response.status_code == 200 and response.json()["changed"] is True

    run_api(scenario)

