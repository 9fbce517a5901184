"""vigil's scheduler against Pacemaker 2.1.5's on random generated clusters.

Runs ``VIGIL_DIFF_SEEDS`` seeds (a count, default 200, or a spec such as
``0-49,77``) of ``vigil.testing.gen_cluster`` through ``crm_simulate -S`` and
vigil's simulator and fails on every multiset disagreement of the transition
summaries that ``known_differences.txt`` does not explain, on every entry of
that file that no longer explains anything, and on any CIB that
``crm_simulate`` itself cannot handle.  ``VIGIL_DIFF_KEEP=DIR`` keeps the CIBs
somewhere stable (default: pytest's temporary directory, also kept);
``VIGIL_DIFF_JOBS`` sets the parallelism.  The full picture, grouped by cause:
``python scripts/differential.py --seeds 0-199``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import diffharness as dh
import pytest

pytestmark = pytest.mark.skipif(
    not dh.have_crm_simulate(),
    reason="crm_simulate (Pacemaker 2.1.5, Debian package pacemaker-cli-utils) is not installed",
)


def _seeds() -> list[int]:
    spec = os.environ.get("VIGIL_DIFF_SEEDS", "200").strip()
    if spec.isdigit():
        return list(range(int(spec)))
    return dh.parse_seeds(spec)


def test_vigil_agrees_with_pacemaker(tmp_path_factory: pytest.TempPathFactory) -> None:
    keep = os.environ.get("VIGIL_DIFF_KEEP")
    workdir = Path(keep) if keep else tmp_path_factory.mktemp("differential")
    start = time.monotonic()
    results = dh.run_seeds(_seeds(), workdir, jobs=dh.default_jobs())
    verdict = dh.judge(results, dh.load_known())
    dh.keep_outputs(results)
    report = dh.format_report(verdict, time.monotonic() - start)
    if not verdict.ok:
        # pytest.fail, not assert: the assertion rewriter would also print the
        # repr of every result
        pytest.fail(report, pytrace=False)
    print(report)  # the figures, for -s / -rP
