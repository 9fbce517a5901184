"""vigil's scheduler against Pacemaker 2.1.5's on random generated clusters.

Runs ``VIGIL_DIFF_SEEDS`` seeds (a count, default 200, or a spec such as
``0-49,77``) of ``vigil.testing.gen_cluster`` through ``crm_simulate -S`` and
vigil's simulator and fails on every multiset disagreement of the transition
summaries that ``known_differences.txt`` does not explain, on every entry of
that file that no longer explains anything, and on any CIB that
``crm_simulate`` itself cannot handle.  ``VIGIL_DIFF_KEEP=DIR`` keeps the CIBs
somewhere stable (default: pytest's temporary directory, also kept);
``VIGIL_DIFF_JOBS`` sets the parallelism.  A second run uses the generator's
"clones" preset (anonymous clones, cloned groups, interleave, constraints
between them: where instance placement can go wrong), ``VIGIL_DIFF_CLONE_SEEDS``
seeds (default 100) judged against ``known_differences_clones.txt``; a third
the "promotable" preset (promotable clones, most with notifications,
promotion scores, promoted instances, constraints by role),
``VIGIL_DIFF_PROMOTABLE_SEEDS`` seeds against ``known_differences_promotable.txt``.
The full picture, grouped by cause:
``python scripts/differential.py --seeds 0-199``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import diffharness as dh
import pytest

from vigil.testing.gen_cluster import PRESETS

pytestmark = pytest.mark.skipif(
    not dh.have_crm_simulate(),
    reason="crm_simulate (Pacemaker 2.1.5, Debian package pacemaker-cli-utils) is not installed",
)


def _seeds(variable: str = "VIGIL_DIFF_SEEDS", default: str = "200") -> list[int]:
    spec = os.environ.get(variable, default).strip()
    if spec.isdigit():
        return list(range(int(spec)))
    return dh.parse_seeds(spec)


def test_vigil_agrees_with_pacemaker(tmp_path_factory: pytest.TempPathFactory) -> None:
    _run_and_judge(tmp_path_factory, _seeds(), None)


def test_clone_shapes_agree_with_pacemaker(tmp_path_factory: pytest.TempPathFactory) -> None:
    _run_and_judge(tmp_path_factory, _seeds("VIGIL_DIFF_CLONE_SEEDS", "100"), "clones")


def test_promotable_clones_agree_with_pacemaker(tmp_path_factory: pytest.TempPathFactory) -> None:
    _run_and_judge(tmp_path_factory, _seeds("VIGIL_DIFF_PROMOTABLE_SEEDS", "100"), "promotable")


def _run_and_judge(tmp_path_factory: pytest.TempPathFactory, seeds: list[int], preset: str | None) -> None:
    keep = os.environ.get("VIGIL_DIFF_KEEP")
    name = preset or "differential"
    workdir = Path(keep) / name if keep else tmp_path_factory.mktemp(name)
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    knobs = dict(PRESETS[preset]) if preset else None
    results = dh.run_seeds(seeds, workdir, jobs=dh.default_jobs(), knobs=knobs)
    verdict = dh.judge(results, dh.load_known(dh.known_differences_file(preset)))
    dh.keep_outputs(results)
    report = dh.format_report(verdict, time.monotonic() - start)
    if not verdict.ok:
        # pytest.fail, not assert: the assertion rewriter would also print the
        # repr of every result
        pytest.fail(report, pytrace=False)
    print(report)  # the figures, for -s / -rP
