"""What vigil shows people and programs: every output format in one place, all pure.

- ``transition``: a plan in crm_simulate's layout, as JSON, or as text with
  each action's context (``vigil simulate``);
- ``report``: ``vigil status`` as data (crm_mon's picture of one snapshot),
  with ``status_text`` its crm_mon-style text and ``metrics`` its
  Prometheus exposition;
- ``failcounts``: fail-counts per resource and node with the budget left;
- ``history``: a resource's operation log, one line per result;
- ``agent``: the reports of ``vigil agent run/info/test``.
"""
