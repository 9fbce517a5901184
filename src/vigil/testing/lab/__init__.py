"""The fault lab: randomized faults against a live 3-node vigil cluster, audited after every step.

vigil's CTS (issue 16; docs/reliability.md).  A run
(:class:`~vigil.testing.lab.runner.LabRun`) starts a
:class:`~vigil.testing.cluster.LocalCluster` with the lab's configuration and
its two test doubles (``ocf:lab:Probe``, which writes every start and stop to
an activity log, and ``fence_lab``, which ends a node as a power switch
would), then for each step of a seeded schedule injects a fault, waits until
the cluster has settled within the kind's bound, and audits it.
``scripts/fault_lab.py`` is the command; ``tests/lab/`` runs it in CI.
"""
