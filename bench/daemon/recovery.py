"""How fast `vigil run` reacts to a failure, with a 1 s monitor on one node.

    .venv/bin/python bench/daemon/recovery.py [--failures N] [--interval 1s] [--json]

Starts a real daemon (SQLite store in a temporary state directory) with one
resource of the agent ``bench/daemon/agents/Timed``, which logs when each of
its actions began and ended (nanoseconds, taken by the agent itself).  Then,
N times: removes the resource's state file (the failure), waits until the
resource runs again and the cluster is quiet, and reads the agent's log.
Per failure:

* **detection → recovery start**: from the end of the monitor that reported
  the failure to the beginning of the recovery's stop.  This is vigil's own
  reaction time: record the result and its fail-count, plan, start the graph.
* **detection → running again**: to the end of the recovery's start.
* **failure → running again**: from the moment the file was removed, which
  includes waiting for the next monitor (up to one interval).

Prints medians and extremes; the figures go in docs/benchmarks.md.
migration-threshold is INFINITY, so every failure is recovered in place.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VIGIL = Path(sys.executable).parent / "vigil"
SYSTEM_OCF = Path("/usr/lib/ocf")

CIB = """<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0"
     admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes/>
    <resources>
      <primitive id="svc" class="ocf" provider="bench" type="Timed">
        <instance_attributes id="svc-params">
          <nvpair id="svc-state" name="state" value="{state}"/>
          <nvpair id="svc-log" name="log" value="{log}"/>
        </instance_attributes>
        <operations><op id="svc-monitor" name="monitor" interval="{interval}" timeout="10s"/></operations>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
</cib>
"""


def read_log(path: Path) -> list[tuple[str, int, int, int]]:
    """(action, began ns, ended ns, rc) per line."""
    entries = []
    for line in path.read_text().splitlines():
        action, _interval, began, ended, rc = line.split()
        entries.append((action, int(began), int(ended), int(rc)))
    return entries


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise SystemExit("timed out: the daemon did not recover the resource; see its log")


def measure(failures: int, interval: str, workdir: Path) -> dict[str, list[float]]:
    ocf = workdir / "ocf"
    (ocf / "resource.d" / "bench").mkdir(parents=True)
    shutil.copy(HERE / "agents" / "Timed", ocf / "resource.d" / "bench" / "Timed")
    (ocf / "resource.d" / "bench" / "Timed").chmod(0o755)
    state, log = workdir / "svc.state", workdir / "svc.log"
    config = workdir / "cluster.xml"
    config.write_text(CIB.format(state=state, log=log, interval=interval))
    env = {**os.environ, "OCF_ROOT": str(ocf)}
    with (workdir / "vigil.log").open("wb") as out:
        daemon = subprocess.Popen([str(VIGIL), "run", "--config", str(config), "--state-dir",
                                   str(workdir / "state"), "--listen", "127.0.0.1:0", "--node", "bench"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(state.exists, 30)
        time.sleep(1.5)
        results: dict[str, list[float]] = {
            "detect_to_stop": [], "detect_to_running": [], "fail_to_running": []}
        for _ in range(failures):
            starts_before = sum(1 for e in read_log(log) if e[0] == "start")
            failed_at = time.time_ns()
            state.unlink()
            wait_for(lambda n=starts_before: sum(1 for e in read_log(log) if e[0] == "start") > n, 30)
            entries = read_log(log)
            detect = max(e[2] for e in entries if e[0] == "monitor" and e[3] == 7 and e[1] >= failed_at)
            stop_began = min(e[1] for e in entries if e[0] == "stop" and e[1] >= detect)
            running = max(e[2] for e in entries if e[0] == "start")
            results["detect_to_stop"].append((stop_began - detect) / 1e6)
            results["detect_to_running"].append((running - detect) / 1e6)
            results["fail_to_running"].append((running - failed_at) / 1e6)
            time.sleep(1.2)  # a quiet cluster before the next failure
        return results
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--failures", type=int, default=20)
    parser.add_argument("--interval", default="1s", help="the monitor interval (default 1s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        results = measure(args.failures, args.interval, Path(tmp))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Linux {platform.release()}, Python {platform.python_version()}")
    print(f"{args.failures} failures, monitor interval {args.interval}, milliseconds (median, min, max):")
    labels = {"detect_to_stop": "detection -> recovery start (stop begins)",
              "detect_to_running": "detection -> running again (start ends)",
              "fail_to_running": "failure -> running again (incl. monitor wait)"}
    for key, label in labels.items():
        values = results[key]
        print(f"  {label:48} {statistics.median(values):8.1f} {min(values):8.1f} {max(values):8.1f}")


if __name__ == "__main__":
    main()
