"""``vigil simulate``: plans without a cluster.

``from_file`` loads a CIB, picks "now" and schedules; ``steps`` injects
failures and applies a transition, so that a failure can be played forward
step by step.
"""
