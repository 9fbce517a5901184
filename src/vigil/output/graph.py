"""A transition's graph (actions, their meta, the order between them) as compact JSON.

The controller keeps it with each transition report, so the web page can
draw the order graph of the last transition on any node (as Pacemaker's dot
output does, but in the page) and show what each action was told.  Its
shape is the one ``vigil simulate --format json`` gives (``actions`` with
``id``, ``task``, ``resource``, ``node``, ``interval``, ``pseudo``, ``meta``;
``order`` as ``[before, after]`` pairs of ids), so one drawing code serves
both.  A report is written to the store twice per transition (and, on etcd,
into one key of bounded size), so a graph of more than :data:`GRAPH_LIMIT`
actions is not kept: the page then says so and lists the actions from the
operation log instead.
"""

from __future__ import annotations

import json

from vigil.model.transition import Transition

# The most actions a kept graph may have: a few hundred actions is 50-100 KB of JSON, and a
# larger graph is not something to read as a drawing anyway.
GRAPH_LIMIT = 300


def graph_document(transition: Transition) -> dict[str, object]:
    """The transition's actions (with their meta, sorted by key) and its order edges."""
    return {
        "actions": [
            {"id": action.index, "task": action.task, "resource": action.resource, "node": action.node,
             "interval": action.interval_ms, "pseudo": action.pseudo, "meta": dict(sorted(action.meta))}
            for action in transition.actions
        ],
        "order": [[before, then] for before, then in transition.order],
    }


def graph_json(transition: Transition, limit: int = GRAPH_LIMIT) -> str | None:
    """:func:`graph_document` as compact JSON; None when the transition has more than ``limit`` actions."""
    if len(transition.actions) > limit:
        return None
    return json.dumps(graph_document(transition), separators=(",", ":"))
