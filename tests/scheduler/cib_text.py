"""CIB text for scheduler tests that write a small cluster inline: two member nodes (node1, node2),
what each one's status holds, and a resource's last operation record."""

from __future__ import annotations

NOW = 1700000000


def two_node_cib(*, resources: str = "", constraints: str = "", node1: str = "", node2: str = "",
                 more_states: str = "", stonith: bool = True) -> bytes:
    """Both nodes online members; ``node1``/``node2``: what their ``node_state`` holds (``lrm``,
    ``transient_attributes``); ``more_states``: other ``node_state`` elements (remote nodes)."""
    return f"""<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0"
     admin_epoch="0" have-quorum="1" dc-uuid="1" execution-date="{NOW}">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opt-stonith" name="stonith-enabled" value="{'true' if stonith else 'false'}"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>{resources}</resources>
    <constraints>{constraints}</constraints>
  </configuration>
  <status>
    {_member("1", node1)}
    {_member("2", node2)}
    {more_states}
  </status>
</cib>""".encode()


def _member(node_id: str, holds: str) -> str:
    return (f'<node_state id="{node_id}" uname="node{node_id}" in_ccm="true" crmd="online" join="member" '
            f'expected="member">{holds}</node_state>')


def lrm(node_id: str, records: str) -> str:
    """A node's resource history: ``records`` are :func:`last_op` texts."""
    return f'<lrm id="{node_id}"><lrm_resources>{records}</lrm_resources></lrm>'


def last_op(rsc: str, task: str, rc: int, call: int, *, node: str = "node1", cls: str = "ocf",
            provider: str = "heartbeat", agent: str = "Dummy", age: int = 100, extra: str = "") -> str:
    """``rsc``'s history with its one last operation (``extra``: more attributes of the record)."""
    return (f'<lrm_resource id="{rsc}" class="{cls}" provider="{provider}" type="{agent}">'
            f'<lrm_rsc_op id="{rsc}_last_0" operation_key="{rsc}_{task}_0" operation="{task}" '
            f'transition-key="{call}:1:0:x" transition-magic="0:{rc};{call}:1:0:x" call-id="{call}" '
            f'rc-code="{rc}" op-status="0" interval="0" last-rc-change="{NOW - age}" {extra}'
            f'on_node="{node}"/></lrm_resource>')
