"""vigil's own ``attrd_updater``, ``crm_attribute``, ``crm_master``, ``crm_node``, ``crm_mon``, ``cibadmin``,
``crm_resource`` and ``stonith_admin``: the Pacemaker commands agents call, answered by vigil.

Agents run by vigil find them first in ``PATH`` and in ``HA_SBIN_DIR`` (the
daemon writes a directory of shims, ``STATE_DIR/bin``, each running
``python -m vigil.cli.cluster_tools NAME ARGS``); they act for the node the
agent runs on, through that node's daemon (its API, found through
``$VIGIL_STATE_DIR``), with the semantics Pacemaker gives them.  Without a
daemon to ask they fail at once, saying the cluster cannot be reached (and
"not connected", which agents look for), with Pacemaker's exit code 102.

Only the standard library and two small modules of vigil are imported, so a
call costs a Python start-up and one HTTP request.  See docs/agents-tools.md.
"""

# The commands, as the daemon's shims name them (vigil.executor.cluster_tools.TOOL_NAMES is the same list).
TOOLS = ("attrd_updater", "crm_attribute", "crm_master", "crm_node", "crm_mon", "cibadmin", "crm_resource",
         "stonith_admin")
