#!/usr/bin/env python3
"""Run random clusters through Pacemaker's scheduler and vigil's, and report.

    python scripts/differential.py --seeds 0-199 [--keep DIR] [--jobs 2] [--preset clones]
                                   [--knob p_fencing=0.8 ...] [--show-known] [--show-order]

Why a script beside the pytest test: the test answers "pass or fail" while
someone working on the scheduler wants the full picture -- every disagreement
with both summaries side by side, grouped by likely cause, the CIBs and both
simulators' full output kept on disk (``--keep``), and knobs to steer the
generator at a feature.  Exit status: 0 when every disagreement is in
``tests/differential/known_differences.txt`` (and no entry there is stale),
1 otherwise, 2 when crm_simulate is missing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import diffharness as dh  # beside this script; the tests of tests/differential use it too

from vigil.testing.gen_cluster import PRESETS


def _knob(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    number: Any = int(value) if value.lstrip("-").isdigit() else float(value)
    return name.strip(), number


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--seeds", default="0-199", help="e.g. 0-199 or 3,17,40-45 (default 0-199)")
    ap.add_argument("--keep", type=Path, help="keep CIBs (and both outputs of disagreeing seeds) here")
    ap.add_argument("--jobs", type=int, default=None, help="parallel seeds (default: usable CPUs)")
    ap.add_argument("--preset", choices=sorted(PRESETS),
                    help="start from a named set of knobs (vigil.testing.gen_model.PRESETS); "
                         "its seeds are judged against tests/differential/known_differences_PRESET.txt")
    ap.add_argument("--knob", type=_knob, action="append", default=[],
                    help="override a vigil.testing.gen_cluster.Knobs field, e.g. p_fencing=0.8")
    ap.add_argument("--known", type=Path, default=None,
                    help="known differences file (default: tests/differential/known_differences.txt, "
                         "or the preset's)")
    ap.add_argument("--show-known", action="store_true", help="also print the known disagreements")
    ap.add_argument("--show-order", action="store_true",
                    help="also print seeds that agree as multisets but not in order")
    args = ap.parse_args(argv)

    if not dh.have_crm_simulate():
        print("crm_simulate not found: install Debian's pacemaker-cli-utils (Pacemaker 2.1.5)",
              file=sys.stderr)
        return 2
    seeds = dh.parse_seeds(args.seeds)
    knobs: dict[str, Any] = dict(PRESETS[args.preset]) if args.preset else {}
    knobs.update(args.knob)
    jobs = args.jobs or dh.default_jobs()
    known = dh.load_known(args.known or dh.known_differences_file(args.preset))
    if args.knob and known.seeds:
        known.seeds.clear()  # seed entries only mean something with the default knobs
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vigil-diff-") as tmp:
        workdir = args.keep or Path(tmp)
        results = dh.run_seeds(seeds, workdir, jobs=jobs, knobs=knobs)
        elapsed = time.monotonic() - start
        verdict = dh.judge(results, known)
        if args.keep:
            dh.keep_outputs(results)
        print(dh.format_report(verdict, elapsed, show_explained=args.show_known))
        if args.show_order:
            for r in results:
                if r.agrees and not r.agrees_in_order:
                    print("\n" + dh.format_result(r))
    if not args.keep:
        print("\n(CIBs were in a temporary directory; use --keep DIR to keep them)")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
