"""The YAML configuration format's vocabulary, shared by its reader and writer.

The keys each kind of item accepts and the ids generated for what a YAML user
does not name (sets, ops, rules, alerts) live here and only here, because the writer
may leave an id out only when the reader would generate exactly that id: the
two directions must agree on every name.

Generated ids follow the conventions of Pacemaker's own tools (``pcs``), so
that a CIB written by them becomes YAML without explicit ids.
"""

from __future__ import annotations

import re

# Top-level sections, in the order the writer emits them.
SECTIONS = (
    "options",
    "rsc_defaults",
    "op_defaults",
    "nodes",
    "resources",
    "constraints",
    "tags",
    "fencing-topology",
    "alerts",
)

NODE_KEYS = ("name", "id", "type", "attributes", "utilization")
PRIMITIVE_KEYS = ("id", "agent", "params", "meta", "utilization", "ops")
GROUP_KEYS = ("group", "params", "meta", "members")
CLONE_KEYS = ("clone", "meta", "resource")
# Op keys with a typed field in the model, written as <op> attributes.
OP_TYPED_KEYS = ("name", "interval", "timeout", "role", "on-fail", "enabled", "start-delay")
# Other <op> attributes Pacemaker defines; they land in the op's meta.
OP_EXTRA_KEYS = ("interval-origin", "record-pending", "requires", "description")
OP_KEYS = ("id", *OP_TYPED_KEYS, *OP_EXTRA_KEYS, "meta", "params")
SET_KEYS = ("id", "score", "rule", "values")
RULE_KEYS = ("id", "score", "score-attribute", "boolean-op", "role", "expressions")
EXPRESSION_KEYS = ("id", "attribute", "operation", "value", "type", "value-source")
DATE_KEYS = ("id", "date", "start", "end", "duration", "date-spec")
RESOURCE_EXPRESSION_KEYS = ("id", "class", "provider", "type")
OP_EXPRESSION_KEYS = ("id", "op", "interval")
DATE_FIELDS = (
    "years",
    "months",
    "weeks",
    "days",
    "hours",
    "minutes",
    "seconds",
    "monthdays",
    "weekdays",
    "yeardays",
    "weekyears",
    "moon",
)
DURATION_FIELDS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
LOCATION_KEYS = (
    "location",
    "resource",
    "resource-pattern",
    "node",
    "score",
    "role",
    "resource-discovery",
    "rules",
    "sets",
)
COLOCATION_KEYS = (
    "colocation",
    "resource",
    "with",
    "score",
    "resource-role",
    "with-role",
    "node-attribute",
    "influence",
    "sets",
)
ORDER_KEYS = ("order", "first", "then", "first-action", "then-action", "kind", "symmetrical", "require-all",
              "sets")
# The keys of a resource set of a location, colocation or order ("id" and "resources" first).
CONSTRAINT_SET_KEYS = ("id", "resources", "sequential", "require-all", "ordering", "action", "role", "score",
                       "kind")
FENCING_KEYS = ("id", "index", "devices", "target", "target-pattern", "target-attribute", "target-value")
TICKET_KEYS = ("ticket-constraint", "ticket", "resource", "resource-role", "loss-policy", "sets")
TICKET_SET_KEYS = ("id", "role", "resources")
CONSTRAINT_KINDS = ("location", "colocation", "order", "ticket-constraint")
ALERT_KEYS = ("id", "path", "description", "meta", "params", "select", "recipients")
RECIPIENT_KEYS = ("id", "value", "description", "meta", "params")
# The kinds of event an alert's select names, each a <select_KIND> in a CIB.
SELECT_KINDS = ("nodes", "fencing", "resources", "attributes")
SELECTED_ATTRIBUTE_KEYS = ("id", "name")

# Ids generated for the sets of each section and item.
OPTIONS_SET = "cib-bootstrap-options"
RSC_DEFAULTS_SET = "rsc_defaults-meta_attributes"
OP_DEFAULTS_SET = "op_defaults-meta_attributes"
PARAMS_SUFFIX = "instance_attributes"
META_SUFFIX = "meta_attributes"
UTILIZATION_SUFFIX = "utilization"

_NOT_ID_CHARACTER = re.compile(r"[^A-Za-z0-9_.-]")
_ID_START = re.compile(r"[A-Za-z_]")


def generated_id(base: str) -> str:
    """``base`` made a valid XML id, so a dump to CIB XML stays loadable by Pacemaker."""
    cleaned = _NOT_ID_CHARACTER.sub("_", base)
    return cleaned if _ID_START.match(cleaned) else f"_{cleaned}"


def indexed(base: str, index: int) -> str:
    """The id of the ``index``-th item of a list: ``base``, ``base-1``, ``base-2`` ..."""
    return generated_id(base if index == 0 else f"{base}-{index}")


def ticket_set_id(constraint_id: str, index: int) -> str:
    """``CONSTRAINT-0``, ``CONSTRAINT-1`` ... for a constraint's resource sets, as crmsh names a ticket's."""
    return generated_id(f"{constraint_id}-{index}")


def node_set_id(node_id: str, key: str) -> str:
    """A node's attribute set is ``nodes-ID`` as ``crm_attribute`` makes it."""
    return generated_id(f"nodes-{node_id}" if key == "attributes" else f"nodes-{node_id}-{key}")


def op_id(resource_id: str, name: str, interval_ms: int | None) -> str:
    """``web-monitor-interval-10s``, as ``pcs`` names ops."""
    interval = "0s" if interval_ms is None else id_duration(interval_ms)
    return generated_id(f"{resource_id}-{name}-interval-{interval}")


def rule_id(owner_id: str, index: int) -> str:
    return indexed(f"{owner_id}-rule", index)


def condition_id(rule: str, index: int) -> str:
    return indexed(f"{rule}-expr", index)


def date_spec_id(expression_id: str) -> str:
    return generated_id(f"{expression_id}-datespec")


def fencing_level_id(
    index: int | None, target: str | None, pattern: str | None, attribute: str | None, value: str | None
) -> str:
    """``fl-node1-1`` as ``pcs`` names levels; the pattern or attribute when there is no target."""
    label = target or pattern or f"{attribute or ''}_{value or ''}"
    return generated_id(f"fl-{label}-{index if index is not None else 0}")


def alert_id(index: int) -> str:
    """``alert``, ``alert-1``, ``alert-2`` ... as ``pcs alert create`` names alerts."""
    return indexed("alert", index)


def recipient_id(alert: str, index: int) -> str:
    """``ALERT-recipient``, ``ALERT-recipient-1`` ... as ``pcs alert recipient add`` names them."""
    return indexed(f"{alert}-recipient", index)


def selected_attribute_id(alert: str, name: str) -> str:
    """``ALERT-select-NAME`` for an attribute an alert selects (``pcs`` does not make these)."""
    return generated_id(f"{alert}-select-{name}")


def id_duration(milliseconds: int) -> str:
    """A duration as it appears in a generated id: whole seconds where possible."""
    if milliseconds % 1000 == 0:
        return f"{milliseconds // 1000}s"
    return f"{milliseconds}ms"


def format_duration(milliseconds: int) -> str:
    """A duration as the writer shows it: the largest unit that divides it."""
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if milliseconds and milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return "0" if milliseconds == 0 else f"{milliseconds}ms"
