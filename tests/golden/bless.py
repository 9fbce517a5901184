"""Record what Pacemaker plans for every compute scenario: ``NAME.summary``.

Runs Pacemaker's own ``crm_simulate -x NAME.xml -S`` on each scenario CIB
(``make_scenarios.SCENARIOS``) and writes the normalised ``*`` lines of its
Transition Summary, one a line, to ``tests/golden/NAME.summary``.  The golden
files are Pacemaker's answer, never vigil's: when vigil disagrees, the test
is marked xfail in ``test_golden.py``, the golden file stays as it is.

Usage: ``python tests/golden/bless.py [--check]`` (needs crm_simulate, from
Debian's pacemaker-cli-utils).  ``--check`` only reports golden files that
Pacemaker no longer agrees with.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from make_scenarios import ROOT, SCENARIOS, Scenario, extract_summary, find_crm_simulate


def pacemaker_summary(crm_simulate: str, scenario: Scenario) -> list[str]:
    done = subprocess.run(
        [crm_simulate, "-x", str(scenario.path), "-S"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"crm_simulate failed on {scenario.path} ({done.returncode}): {done.stderr}")
    return extract_summary(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write tests/golden/NAME.summary from crm_simulate.")
    parser.add_argument("--check", action="store_true", help="only verify the golden files")
    args = parser.parse_args(argv)
    crm_simulate = find_crm_simulate()
    if crm_simulate is None:
        print("bless: crm_simulate is not installed (Debian: pacemaker-cli-utils)", file=sys.stderr)
        return 2
    stale = 0
    for scenario in SCENARIOS:
        lines = pacemaker_summary(crm_simulate, scenario)
        text = "".join(f"{line}\n" for line in lines)
        golden = scenario.golden
        current = golden.read_text(encoding="utf-8") if golden.exists() else None
        label = golden.relative_to(ROOT)
        if current == text:
            print(f"ok     {label} ({len(lines)} lines)")
        elif args.check:
            print(f"stale  {label}")
            stale += 1
        else:
            golden.write_text(text, encoding="utf-8")
            print(f"wrote  {label} ({len(lines)} lines)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
