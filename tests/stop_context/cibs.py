"""A small builder of Pacemaker CIBs for stop-context scenarios.

Each scenario needs only a few nodes, Dummy resources and a status section;
writing them with this builder keeps every test readable on one screen.
Digests are the real ones Pacemaker computes for a parameterless Dummy with a
10 s monitor (timeout 20 s), so no spurious "definition changed" restarts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

START_DIGEST = "f2317cad3d54cec5d7d7aa7d0bf35cf8"  # md5 of ' <parameters/>\n'
MONITOR_DIGEST = "4811cef7f7f94e3a35a70be7916cb2fd"  # ... with CRM_meta_timeout=20000
NOW = 1_700_000_000


def digest_of(params: dict[str, str]) -> str:
    attrs = "".join(f' {k}="{v}"' for k, v in sorted(params.items()))
    return hashlib.md5(f" <parameters{attrs}/>\n".encode()).hexdigest()


def primitive(rsc: str, meta: dict[str, str] | None = None, params: dict[str, str] | None = None,
              on_fail: str | None = None) -> str:
    meta_xml = "".join(
        f'<nvpair id="{rsc}-m-{k}" name="{k}" value="{v}"/>' for k, v in (meta or {}).items()
    )
    params_xml = "".join(
        f'<nvpair id="{rsc}-p-{k}" name="{k}" value="{v}"/>' for k, v in (params or {}).items()
    )
    fail = f' on-fail="{on_fail}"' if on_fail else ""
    return (
        f'<primitive id="{rsc}" class="ocf" provider="heartbeat" type="Dummy">'
        + (f'<meta_attributes id="{rsc}-meta">{meta_xml}</meta_attributes>' if meta_xml else "")
        + (f'<instance_attributes id="{rsc}-params">{params_xml}</instance_attributes>' if params_xml else "")
        + f'<operations><op id="{rsc}-mon" name="monitor" interval="10s" timeout="20s"{fail}/></operations>'
        + "</primitive>"
    )


def group(gid: str, *members: str, meta: dict[str, str] | None = None) -> str:
    meta_xml = "".join(f'<nvpair id="{gid}-m-{k}" name="{k}" value="{v}"/>' for k, v in (meta or {}).items())
    return (f'<group id="{gid}">'
            + (f'<meta_attributes id="{gid}-meta">{meta_xml}</meta_attributes>' if meta_xml else "")
            + "".join(primitive(m) for m in members) + "</group>")


def _op(rsc: str, task: str, interval: int, rc: int, expected: int, call: int, node: str,
        digest: str, suffix: str) -> str:
    key = f"0:0:{expected}:00000000-0000-0000-0000-000000000000"
    return (f'<lrm_rsc_op id="{rsc}_{suffix}" operation_key="{rsc}_{task}_{interval}" operation="{task}" '
            f'transition-key="{key}" transition-magic="0:{rc};{key}" call-id="{call}" rc-code="{rc}" '
            f'op-status="0" interval="{interval}" last-rc-change="{NOW - 100}" last-run="{NOW - 100}" '
            f'exec-time="1" queue-time="0" op-digest="{digest}" crm_feature_set="3.16.1" on_node="{node}"/>')


@dataclass
class History:
    """What one node remembers of one resource."""

    rsc: str
    running: bool = True
    failed_monitor: bool = False
    digest: str = START_DIGEST

    def xml(self, node: str, base_call: int) -> str:
        ops = []
        if self.running:
            ops.append(_op(self.rsc, "start", 0, 0, 0, base_call, node, self.digest, "last_0"))
            ops.append(_op(self.rsc, "monitor", 10000, 0, 0, base_call + 1, node, MONITOR_DIGEST,
                           "monitor_10000"))
        else:
            ops.append(_op(self.rsc, "monitor", 0, 7, 7, base_call, node, START_DIGEST, "last_0"))
        if self.failed_monitor:
            ops.append(_op(self.rsc, "monitor", 10000, 7, 0, base_call + 2, node, MONITOR_DIGEST,
                           "last_failure_0"))
        return (f'<lrm_resource id="{self.rsc}" class="ocf" provider="heartbeat" type="Dummy">'
                + "".join(ops) + "</lrm_resource>")


@dataclass
class NodeStatus:
    name: str
    histories: list[History] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)

    def xml(self, index: int) -> str:
        attrs = "".join(f'<nvpair id="st-{self.name}-{k}" name="{k}" value="{v}"/>'
                        for k, v in self.attrs.items())
        histories = "".join(h.xml(self.name, 10 * (i + 1)) for i, h in enumerate(self.histories))
        return (f'<node_state id="{index}" uname="{self.name}" in_ccm="true" crmd="online" join="member" '
                f'expected="member"><transient_attributes id="{index}"><instance_attributes id="st-{index}">'
                f'{attrs}</instance_attributes></transient_attributes>'
                f'<lrm id="{index}"><lrm_resources>{histories}</lrm_resources></lrm></node_state>')


def cib(resources: str, status: list[NodeStatus], constraints: str = "",
        rsc_defaults: dict[str, str] | None = None, node_attrs: dict[str, dict[str, str]] | None = None,
        ) -> bytes:
    nodes = "".join(
        f'<node id="{i}" uname="{n.name}">'
        + (f'<instance_attributes id="na-{i}">'
           + "".join(f'<nvpair id="na-{i}-{k}" name="{k}" value="{v}"/>'
                     for k, v in (node_attrs or {}).get(n.name, {}).items())
           + "</instance_attributes>" if (node_attrs or {}).get(n.name) else "")
        + "</node>"
        for i, n in enumerate(status, start=1)
    )
    defaults = ""
    if rsc_defaults:
        defaults = ('<rsc_defaults><meta_attributes id="rsc-defaults">'
                    + "".join(f'<nvpair id="rd-{k}" name="{k}" value="{v}"/>'
                              for k, v in rsc_defaults.items())
                    + "</meta_attributes></rsc_defaults>")
    states = "".join(n.xml(i) for i, n in enumerate(status, start=1))
    return (
        f'<cib validate-with="pacemaker-3.9" crm_feature_set="3.16.1" epoch="1" num_updates="1" '
        f'admin_epoch="0" have-quorum="1" dc-uuid="1" execution-date="{NOW}"><configuration>'
        '<crm_config><cluster_property_set id="opts">'
        '<nvpair id="opt-stonith" name="stonith-enabled" value="false"/>'
        '</cluster_property_set></crm_config>'
        f"<nodes>{nodes}</nodes><resources>{resources}</resources>"
        f"<constraints>{constraints}</constraints>{defaults}</configuration>"
        f"<status>{states}</status></cib>"
    ).encode()
