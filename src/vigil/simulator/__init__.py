"""``vigil simulate``: plans without a cluster.

``from_file`` loads a CIB, picks "now" and schedules; ``steps`` injects
failures and applies a transition through the controller's own graph
runner, handlers and recorder over a memory store (with
:mod:`vigil.testing`'s scripted agents), so that a failure can be played
forward step by step exactly as the daemon would record it;
``failures`` reads ``--fail RSC:NODE[:OP]``.
"""
