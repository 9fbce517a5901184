"""The domain model: Pacemaker's vocabulary, defined once, pure, and free of any file format.

Every other package speaks through these; none keeps a copy.

The configuration and the status
    ``config`` (resources, constraints, nodes, alerts), ``rules`` (their
    rule trees), ``status`` (node states and operation histories),
    ``cluster`` (both), ``transition`` (what the scheduler decides, and the
    order graph of its actions), ``activity`` (what the controller reports).

What they mean
    ``results``: agent exit codes (:class:`~vigil.model.results.OcfRc`) and
    execution statuses (:class:`~vigil.model.results.ExecStatus`), with
    their texts;
    ``failcounts``: the fail-count and last-failure attribute names, their
    sum and the recoveries left;
    ``booleans``: Pacemaker's booleans (``is_true``, ``parse_bool``);
    ``scores``: scores and their arithmetic;
    ``rule_eval`` and ``nvsets``: rule and name/value-set evaluation at a time;
    ``options`` and ``option_values``: cluster options (2.x and 3.x names)
    and the values they may take;
    ``resources``: the resource tree, the meta attributes in effect at a
    time, whether a clone is globally unique;
    ``stop_context``: the stop context's keys and its typed value;
    ``digests``: operation digests; ``node_attributes``: a node's attributes
    as rules see them; ``names``: what may be an id or an agent's name;
    ``isodate``: ISO 8601 dates, durations and intervals;
    ``order_cycles``: ordering cycles in a configuration.
"""
