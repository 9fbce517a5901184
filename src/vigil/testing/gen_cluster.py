"""Seeded generator of random Pacemaker clusters, written as CIB XML.

Why it exists: vigil claims to schedule like Pacemaker.  The cheapest strong
check of that claim is differential testing -- feed the same random cluster to
vigil and to Pacemaker's own scheduler (``crm_simulate``) and compare the
transition summaries.  That needs a supply of clusters that are *valid* for
Pacemaker 2.1.5 (the version Debian ships), varied enough to reach the corners
(failures, fencing, quorum, constraints, stickiness, groups, clones ...), and
reproducible from a seed so that any disagreement can be replayed.  The
generator ships in the package so that vigil users can fuzz their own builds
the same way.

``generate(seed, **knobs)`` returns the CIB as bytes; the same seed and knobs
always give the same bytes.  ``generate_cluster`` also returns the set of
feature tags the cluster exercises, which a differential report uses to group
disagreements by likely cause.

The work is split in three: ``vigil.testing.gen_model`` defines the data
(``Knobs``, ``ClusterPlan``, ``GENERATOR_VERSION``), ``vigil.testing.gen_plan``
decides everything from the seed (and tags the features),
``vigil.testing.gen_xml`` writes the plan as XML.  Extending means a knob in
``Knobs`` (bump ``GENERATOR_VERSION`` when a change reshuffles seeds), a
decision in the planner that tags its feature, and at most a new element in
the writer.  This module is the stable entry point and re-exports the rest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.testing.gen_model import (
    GENERATOR_VERSION,
    INFINITY,
    PRESETS,
    Clone,
    ClusterPlan,
    Group,
    History,
    Knobs,
    Node,
    Primitive,
    TopLevel,
    op_digest,
)
from vigil.testing.gen_plan import plan_cluster
from vigil.testing.gen_xml import render_cib

__all__ = [
    "GENERATOR_VERSION",
    "INFINITY",
    "PRESETS",
    "Clone",
    "ClusterPlan",
    "GeneratedCluster",
    "Group",
    "History",
    "Knobs",
    "Node",
    "Primitive",
    "TopLevel",
    "generate",
    "generate_cluster",
    "op_digest",
    "plan_cluster",
    "render_cib",
]


@dataclass(frozen=True)
class GeneratedCluster:
    seed: int
    xml: bytes
    features: frozenset[str]


def generate_cluster(seed: int, **knobs: Any) -> GeneratedCluster:
    """The cluster of ``seed`` with its feature tags (see the module docstring).

    ``knobs`` override fields of ``Knobs``; an unknown name raises ``TypeError``.
    """
    plan = plan_cluster(seed, Knobs(**knobs))
    return GeneratedCluster(seed, render_cib(plan), frozenset(plan.features))


def generate(seed: int, **knobs: Any) -> bytes:
    """The CIB XML of the random cluster of ``seed``; deterministic."""
    return generate_cluster(seed, **knobs).xml


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vigil.testing.gen_cluster SEED [-o FILE]``: write one cluster."""
    ap = argparse.ArgumentParser(description="Write the random Pacemaker CIB of a seed.")
    ap.add_argument("seed", type=int)
    ap.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    ap.add_argument("--features", action="store_true", help="print the feature tags to stderr")
    args = ap.parse_args(argv)
    gen = generate_cluster(args.seed)
    if args.output is None:
        sys.stdout.buffer.write(gen.xml)
    else:
        args.output.write_bytes(gen.xml)
    if args.features:
        print(" ".join(sorted(gen.features)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
