"""How much the executor costs per action, and how fast it ends a hung agent.

    .venv/bin/python bench/executor/spawn.py [--actions N] [--concurrency C] [--rounds R] [--json]

Runs a trivial OCF agent (``#!/bin/sh`` then ``exit 0``) through the whole
executor path (request, environment, spawn in its own session, capture,
exit-code mapping), N times one after the other, then N times with C in
flight at once; prints actions per second for each (median and best of R
rounds, the modes interleaved), next to plain ``subprocess.run`` of the same
script, the floor of any Python spawner.  Then runs an agent
that hangs (and whose children ignore SIGTERM) with a 2 s timeout and
prints when the result came back and when the last process of its tree was
gone.  The figures go in docs/executor.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vigil.executor import ActionRequest, Executor, Spawner
from vigil.executor.process import group_members
from vigil.model.results import ExecStatus, OcfRc

TRIVIAL = "#!/bin/sh\nexit 0\n"
HANG = """#!/bin/sh
trap '' TERM
sh -c 'trap "" TERM; sleep 600; :' &
sleep 600 &
wait
"""


def make_root(directory: Path) -> Path:
    agents = directory / "resource.d" / "bench"
    agents.mkdir(parents=True)
    for name, text in (("trivial", TRIVIAL), ("hang", HANG)):
        (agents / name).write_text(text)
        (agents / name).chmod(0o755)
    return directory


def request(agent: str, timeout_ms: int = 20_000) -> ActionRequest:
    return ActionRequest.create(
        "bench", f"ocf:bench:{agent}", "monitor", {"p": "1"}, timeout_ms=timeout_ms, node_name="node1"
    )


async def serial(executor: Executor, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        result = await executor.run(request("trivial"))
        assert result.rc == OcfRc.SUCCESS, result.describe()
    return count / (time.perf_counter() - started)


async def concurrent(executor: Executor, count: int) -> float:
    started = time.perf_counter()
    results = await asyncio.gather(*(executor.run(request("trivial")) for _ in range(count)))
    assert all(r.rc == OcfRc.SUCCESS for r in results)
    return count / (time.perf_counter() - started)


def plain_subprocess(root: Path, count: int) -> float:
    agent = str(root / "resource.d" / "bench" / "trivial")
    started = time.perf_counter()
    for _ in range(count):
        subprocess.run([agent, "monitor"], capture_output=True, check=True)
    return count / (time.perf_counter() - started)


async def hung(executor: Executor) -> tuple[float, float]:
    started = time.perf_counter()
    result = await executor.run(request("hang", timeout_ms=2000))
    reported = time.perf_counter() - started
    assert result.status == ExecStatus.TIMEOUT and result.pid is not None
    while group_members(result.pid):
        await asyncio.sleep(0.01)
    return reported, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=500, help="actions per round (default 500)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported (default 5)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the hung agent's timeout warning is expected
    rates: dict[str, list[float]] = {"plain_subprocess": [], "serial": [], "concurrent": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(Path(tmp))
        asyncio.run(serial(Executor(ocf_root_dir=root), 20))  # warm-up
        for _ in range(args.rounds):  # interleaved, so that a noisy neighbour hits every mode alike
            rates["plain_subprocess"].append(plain_subprocess(root, args.actions))
            rates["serial"].append(asyncio.run(serial(Executor(ocf_root_dir=root), args.actions)))
            executor = Executor(Spawner(max_concurrent=args.concurrency), ocf_root_dir=root)
            rates["concurrent"].append(asyncio.run(concurrent(executor, args.actions)))
        reported, gone = asyncio.run(hung(Executor(ocf_root_dir=root)))
    figures: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}",
        "python": platform.python_version(),
        "actions_per_round": args.actions,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        **{
            f"{mode}_per_s": {"median": round(statistics.median(values)), "best": round(max(values))}
            for mode, values in rates.items()
        },
        "hung_2s_reported_s": round(reported, 2),
        "hung_2s_tree_gone_s": round(gone, 2),
    }
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        print()
        return
    print(f"{figures['date']}, {figures['machine']}, Python {figures['python']}")
    print(f"trivial agent, {args.rounds} rounds of {args.actions} actions, actions/s (median, best):")
    labels = {
        "plain_subprocess": "plain subprocess.run, serial",
        "serial": "vigil executor, serial",
        "concurrent": f"vigil executor, concurrency {args.concurrency}",
    }
    for mode, values in rates.items():
        print(f"  {labels[mode]:<32} {statistics.median(values):>6.0f}  {max(values):>6.0f}")
    print(
        f"hung agent, timeout 2 s: reported timed out after {reported:.2f} s, "
        f"whole tree gone after {gone:.2f} s"
    )


if __name__ == "__main__":
    main()
