"""This node's name when none is given: ``uname -n``, as Pacemaker's.

Pacemaker names a node by its ``uname -n`` in full (a host named
``node1.example.com`` is the node ``node1.example.com``, not ``node1``),
and agents ask for it with ``crm_node -n`` or compare it with
``OCF_RESKEY_CRM_meta_on_node``.  Every default in vigil (``vigil run``,
``vigil agent run``) comes from this one function, so the name vigil runs
under, the one it passes agents and the one they are told are the same.
"""

from __future__ import annotations

import os


def local_node_name() -> str:
    """The kernel's node name (``uname -n``), unshortened."""
    return os.uname().nodename
