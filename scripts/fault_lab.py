"""The fault lab: randomized faults against a live 3-node vigil cluster, audited after every step.

    .venv/bin/python scripts/fault_lab.py --faults 20                  # a fresh seed, printed
    .venv/bin/python scripts/fault_lab.py --faults 20 --seed 1234      # replay that run
    .venv/bin/python scripts/fault_lab.py --faults 500 --keep-going --json long.json --workdir /tmp/lab
    .venv/bin/python scripts/fault_lab.py --list-kinds
    .venv/bin/python scripts/fault_lab.py --faults 30 --seed 7 --dry-run  # print the schedule only

A 3-member etcd and three ``vigil run`` nodes on loopback
(:class:`vigil.testing.cluster.LocalCluster`), the lab's configuration
(primitives, a group, an anonymous clone, a cloned group, a ``fence_lab``
device per node that really ends its node), and a schedule of faults drawn
from the seed.  After every step the lab waits until the cluster has settled
(within the kind's bound) and audits it.  Prints one line per step, then the
recovery times per fault kind.  See docs/reliability.md.

Exit codes: 0 every audit passed; 1 an audit failed (the seed, the step and
the log lines are printed, the working directory is kept); 2 the lab could not
run (no etcd, a bad argument, a --workdir that is not empty); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from vigil.testing.cluster import INSTALL_HINT, ClusterError, etcd_binary
from vigil.testing.lab.control import LabError
from vigil.testing.lab.known import KNOWN_ISSUES
from vigil.testing.lab.report import as_json, figures, table_text
from vigil.testing.lab.runner import LabRun
from vigil.testing.lab.schedule import KINDS, make_schedule
from vigil.testing.lab.workspace import LabPaths


def kinds_argument(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault kind(s) {', '.join(unknown)};"
                                         f" known: {', '.join(KINDS)}")
    return names


def known_argument(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in KNOWN_ISSUES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown issue(s) {', '.join(unknown)};"
                                         f" known: {', '.join(KNOWN_ISSUES) or 'none'}")
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", type=int, default=20, help="how many steps (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="the schedule's seed (default: a fresh one)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep everything here (default: a temporary directory, removed after a"
                        " clean run)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the results here")
    parser.add_argument("--only", type=kinds_argument, default=None, metavar="KIND,...",
                        help="draw only these fault kinds")
    parser.add_argument("--skip", type=kinds_argument, default=(), metavar="KIND,...",
                        help="never draw these fault kinds (e.g. one known to fail)")
    parser.add_argument("--reboot-delay", type=float, default=2.0, metavar="SECONDS",
                        help="how long a fenced node stays off before the lab boots it (default 2)")
    parser.add_argument("--tolerate", type=known_argument, default=(), metavar="ISSUE,...",
                        help="count, rather than fail, the audits a known vigil issue explains"
                        " (--list-known)")
    parser.add_argument("--keep-going", action="store_true",
                        help="go on after a failed audit (while the cluster still settles)")
    parser.add_argument("--dry-run", action="store_true", help="print the schedule and exit")
    parser.add_argument("--list-kinds", action="store_true", help="print the fault kinds and exit")
    parser.add_argument("--list-known", action="store_true", help="print the known vigil issues and exit")
    args = parser.parse_args(argv)
    if args.faults < 1:
        parser.error(f"--faults must be at least 1, not {args.faults}")
    if args.reboot_delay < 0:
        parser.error(f"--reboot-delay cannot be negative ({args.reboot_delay})")
    kinds = tuple(k for k in (args.only or tuple(KINDS)) if k not in args.skip)
    if not kinds:
        parser.error("--only and --skip leave no fault kind to draw")
    args.kinds = kinds
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    return args


def list_kinds() -> None:
    for kind in KINDS.values():
        print(f"{kind.name:<18} settle bound {kind.settle_s:>3.0f} s  {kind.what}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list_kinds:
        list_kinds()
        return 0
    if args.list_known:
        for issue in KNOWN_ISSUES.values():
            print(f"{issue.name} (audit: {issue.audit})\n  {issue.diagnosis}")
        return 0
    steps = make_schedule(args.seed, args.faults, args.kinds)
    restricted = f" --only {','.join(args.only)}" if args.only else ""
    restricted += f" --skip {','.join(args.skip)}" if args.skip else ""
    restricted += f" --tolerate {','.join(args.tolerate)}" if args.tolerate else ""
    print(f"fault lab: seed {args.seed}, {len(steps)} faults (replay: scripts/fault_lab.py --seed {args.seed}"
          f" --faults {args.faults}{restricted})", flush=True)
    if args.dry_run:
        for step in steps:
            print(f"  {step.number:>4} {step.describe()}")
        return 0
    if etcd_binary() is None:
        print(f"fault lab: no etcd server binary: {INSTALL_HINT}", file=sys.stderr)
        return 2
    own = args.workdir is None
    root = Path(tempfile.mkdtemp(prefix="vigil-lab-")) if own else args.workdir
    try:
        if not own and root.exists() and (not root.is_dir() or any(root.iterdir())):
            print(f"fault lab: --workdir {root} is not an empty directory: give a new or empty one",
                  file=sys.stderr)
            return 2
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"fault lab: cannot use --workdir {root}: {error}", file=sys.stderr)
        return 2
    print(f"working directory: {root}", flush=True)
    run = LabRun(LabPaths(root), args.seed, reboot_delay=args.reboot_delay, keep_going=args.keep_going,
                 tolerate=args.tolerate, replay_flags=restricted, say=lambda line: print(line, flush=True))
    began = time.monotonic()
    try:
        results = run.run(steps)
    except (LabError, ClusterError) as error:
        print(f"fault lab: {error}\n(everything is kept in {root})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fault lab: interrupted after {len(run.results)} faults (everything is kept in {root})",
              file=sys.stderr)
        return 130
    took = time.monotonic() - began
    failed = [r for r in results if not r.passed]
    print(f"\n{len(results)} of {len(steps)} faults run in {took:.0f} s"
          f" (cluster start {run.started_s:.1f} s),"
          f" seed {args.seed}, {run.lab.reboots} node boots; failed audits: {len(failed)}")
    print(table_text(figures(results)))
    known = [name for r in results for name in r.known]
    for name in sorted(set(known)):
        print(f"tolerated known issue {name}: {known.count(name)} failed audit(s) explained by it")
    if args.json is not None:
        document = as_json(args.seed, results, {"faults": args.faults, "kinds": list(args.kinds),
                                                "seconds": round(took, 1), "cores": os.cpu_count(),
                                                "load_average": os.getloadavg()})
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results written to {args.json}")
    complete = len(results) == len(steps)
    if failed or not complete:
        print(f"everything is kept in {root}", file=sys.stderr)
        return 1
    if own:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
