"""vigil's scheduler against Pacemaker's, on the shared benchmark grid.

    .venv/bin/python bench/scheduler/run.py [--sizes 3x100,16x1000] [--runs N]
        [--timeout SECONDS] [--budget SECONDS] [--results DIR] [--work DIR]

(or ``make bench-scheduler``, which installs the ``bench`` extra first).

For every size NODESxRESOURCES it

1. generates the CIB with the shared generator (``gen_cib.py --nodes N
   --resources M --seed 1``; default ``../shared/bench/gen_cib.py`` next to
   the repository, overridden by ``$VIGIL_BENCH_GEN``), never a copy of it;
2. byte-compiles vigil's sources (as an installed package has them), then
   runs ``crm_simulate -R -x FILE`` and ``vigil simulate --format pacemaker
   FILE`` alternately (which goes first alternates too), each as a whole
   process, measuring wall time (``time.perf_counter`` around spawn and
   ``wait4``) and peak RSS (``ru_maxrss`` of the ``wait4`` rusage);
   3 runs per command for sizes up to 32 000 node-resource pairs, 2 up to
   100 000, 1 above (``--runs`` forces one number);
3. compares the ``*`` lines of the "Transition Summary" that both print
   (``crm_simulate -R`` prints it; whitespace-normalised) as multisets and
   in order.  The action is the line without its "due to ..." reason (verb,
   resource, nodes); a size whose actions differ is reported but does not
   count, one where only a reason's text differs counts and says so;
4. writes ``results.json`` (every run), ``results.md`` (the table) and
   ``scheduler-time.png`` (time and memory against size for both; an SVG by
   hand if matplotlib is missing) into ``--results``.

A vigil run that exceeds ``--timeout`` is killed and recorded as a timeout.
Sizes are run cheapest first; before each one the cost is extrapolated
(linearly in nodes x resources, from the largest size done) and the size is
skipped as "over budget" when it would not fit in what is left of
``--budget``.
"""

from __future__ import annotations

import argparse
import collections
import compileall
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMES, DASH = "\u00d7", "\u2013"      # for the Markdown table and the plot
DEFAULT_GEN = REPO.parent / "shared" / "bench" / "gen_cib.py"
# The grid of issue #8, in its order (the table keeps it; runs go cheapest first).
GRID = ["3x100", "16x1000", "32x1000", "100x1000", "3x5000", "16x5000", "3x10000", "32x5000"]
# Pacemaker's figures from ../shared/bench/README.md (wall s, MiB), for reference only.
README_PACEMAKER = {
    "3x100": (0.10, 26), "3x1000": (0.81, 91), "3x5000": (8.2, 381), "3x10000": (26, 745),
    "16x100": (0.23, 44), "16x1000": (2.7, 271), "16x5000": (36, 1331), "16x10000": (156, 2560),
    "32x100": (0.44, 66), "32x1000": (5.2, 493), "32x5000": (83, 2458),
    "100x100": (1.4, 161), "100x1000": (18.5, 1434),
}


@dataclass
class Run:
    tool: str
    wall_s: float
    maxrss_kib: int
    returncode: int
    timed_out: bool
    summary: list[str]


@dataclass
class SizeResult:
    size: str
    nodes: int
    resources: int
    xml_bytes: int = 0
    gen_s: float = 0.0
    status: str = "not measured"     # measured | timeout | error | over budget | not measured
    reason: str = ""
    runs: list[Run] = field(default_factory=list)
    same_multiset: bool | None = None
    same_order: bool | None = None
    same_text: bool | None = None       # the whole lines, reasons ("due to ...") included
    n_actions_pacemaker: int | None = None
    n_actions_vigil: int | None = None
    diff: list[str] = field(default_factory=list)

    def times(self, tool: str) -> list[float]:
        return [r.wall_s for r in self.runs if r.tool == tool and not r.timed_out and r.returncode == 0]

    def rss(self, tool: str) -> list[int]:
        return [r.maxrss_kib for r in self.runs if r.tool == tool and not r.timed_out and r.returncode == 0]

    def median_s(self, tool: str) -> float | None:
        t = self.times(tool)
        return statistics.median(t) if t else None

    def median_mib(self, tool: str) -> float | None:
        m = self.rss(tool)
        return statistics.median(m) / 1024 if m else None


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)[x\u00d7](\d+)", text.strip())
    if not m:
        raise SystemExit(f"bad size {text!r}: use NODESxRESOURCES, e.g. 16x1000")
    return int(m.group(1)), int(m.group(2))


def generator() -> Path:
    path = Path(os.environ.get("VIGIL_BENCH_GEN", DEFAULT_GEN))
    if not path.is_file():
        raise SystemExit(
            f"benchmark generator not found at {path}.\n"
            "It lives outside the project, in ../shared/bench/gen_cib.py; "
            "set VIGIL_BENCH_GEN=/path/to/gen_cib.py to point at it elsewhere."
        )
    return path


def summary_lines(output: str) -> list[str]:
    """The ``*`` lines of the Transition Summary, whitespace-normalised."""
    lines: list[str] = []
    inside = False
    for line in output.splitlines():
        if line.startswith("Transition Summary:"):
            inside = True
            continue
        if inside:
            stripped = line.strip()
            if stripped.startswith("* "):
                lines.append(" ".join(stripped.split()))
            elif stripped or lines:
                break
    return lines


def action(line: str) -> str:
    """A summary line without its reason: verb, resource, nodes."""
    return line.split(" due to ", 1)[0]


def measure(tool: str, argv: list[str], out: Path, timeout: float) -> Run:
    """One whole-process run: wall time, peak RSS, output into ``out``."""
    with out.open("wb") as stdout:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True)
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = out.read_text(errors="replace")
    return Run(tool, wall, usage.ru_maxrss, proc.returncode, expired.is_set(), summary_lines(text))


def runs_for(cells: int, forced: int | None) -> int:
    if forced is not None:
        return forced
    return 3 if cells <= 32_000 else 2 if cells <= 100_000 else 1


def bench_size(res: SizeResult, args: argparse.Namespace, gen: Path, vigil: str, crm: str) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    xml = work / f"{res.size}.xml"
    started = time.perf_counter()
    subprocess.run([sys.executable, str(gen), "--nodes", str(res.nodes), "--resources", str(res.resources),
                    "--seed", "1", "-o", str(xml)], check=True)
    res.gen_s = time.perf_counter() - started
    res.xml_bytes = xml.stat().st_size
    commands = {
        "pacemaker": [crm, "-R", "-x", str(xml)],
        "vigil": [vigil, "simulate", "--format", "pacemaker", str(xml)],
    }
    n = runs_for(res.nodes * res.resources, args.runs)
    for i in range(n):
        order = ["pacemaker", "vigil"] if i % 2 == 0 else ["vigil", "pacemaker"]
        for tool in order:
            timeout = args.timeout if tool == "vigil" else args.timeout * 4
            run = measure(tool, commands[tool], work / f"{res.size}.{tool}.{i}.out", timeout)
            res.runs.append(run)
            state = "TIMEOUT" if run.timed_out else f"rc={run.returncode}"
            print(f"  {res.size:>9} run {i + 1}/{n} {tool:>9}: {run.wall_s:8.2f} s "
                  f"{run.maxrss_kib / 1024:7.0f} MiB  {state}  {len(run.summary)} actions", flush=True)
            if run.timed_out or run.returncode != 0:
                res.status = "timeout" if run.timed_out else "error"
                log = work / f"{res.size}.{tool}.{i}.out"
                res.reason = (f"{tool} exceeded {timeout:.0f} s" if run.timed_out
                              else f"{tool} exited {run.returncode}, see {log}")
                return
    res.status = "measured"
    pace = [r.summary for r in res.runs if r.tool == "pacemaker"]
    vig = [r.summary for r in res.runs if r.tool == "vigil"]
    if any(s != pace[0] for s in pace) or any(s != vig[0] for s in vig):
        res.diff.append("the summary differs between runs of the same tool")
    res.n_actions_pacemaker, res.n_actions_vigil = len(pace[0]), len(vig[0])
    p_act, v_act = [action(x) for x in pace[0]], [action(x) for x in vig[0]]
    res.same_multiset = collections.Counter(p_act) == collections.Counter(v_act)
    res.same_order = p_act == v_act
    res.same_text = pace[0] == vig[0]
    missing = collections.Counter(pace[0]) - collections.Counter(vig[0])
    extra = collections.Counter(vig[0]) - collections.Counter(pace[0])
    res.diff += [f"- {line}" for line in missing.elements()] + [f"+ {line}" for line in extra.elements()]


def fmt_s(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def fmt_mib(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value / 1024:.2f} GiB" if value >= 1024 else f"{value:.0f} MiB"


def table(results: list[SizeResult]) -> str:
    rows = [
        f"| nodes {TIMES} resources | XML | runs | Pacemaker time | vigil time | time ratio | "
        "Pacemaker peak RSS | vigil peak RSS | memory ratio | actions equal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        label = r.size.replace("x", f" {TIMES} ")
        if r.status != "measured":
            pm = r.median_s("pacemaker")
            note = f"{r.status}: {r.reason}" if r.reason else r.status
            if r.xml_bytes:
                rows.append(f"| {label} | {r.xml_bytes / 1e6:.0f} MB | {DASH} | {fmt_s(pm)} | {DASH} | "
                            f"{DASH} | {fmt_mib(r.median_mib('pacemaker'))} | {DASH} | {DASH} | {note} |")
            else:
                rows.append(f"| {label} |" + f" {DASH} |" * 8 + f" {note} |")
            continue
        pt, vt = r.median_s("pacemaker"), r.median_s("vigil")
        pm, vm = r.median_mib("pacemaker"), r.median_mib("vigil")
        assert pt is not None and vt is not None and pm is not None and vm is not None
        reasons = "" if r.same_text else f"; the reason differs on {len(r.diff) // 2} line(s)"
        if r.same_order:
            equal = f"yes ({r.n_actions_pacemaker}, same order{reasons})"
        elif r.same_multiset:
            equal = f"yes ({r.n_actions_pacemaker}, order differs{reasons})"
        else:
            equal = (f"**no** ({r.n_actions_vigil} vs {r.n_actions_pacemaker}; "
                     f"{len(r.diff)} lines differ) — does not count")
        ratio_t = f"{vt / pt:.2f}" if r.same_multiset else f"({vt / pt:.2f})"
        ratio_m = f"{vm / pm:.2f}" if r.same_multiset else f"({vm / pm:.2f})"
        n = len(r.times("vigil"))
        rows.append(f"| {label} | {r.xml_bytes / 1e6:.1f} MB | {n} | {fmt_s(pt)} | {fmt_s(vt)} | {ratio_t} | "
                    f"{fmt_mib(pm)} | {fmt_mib(vm)} | {ratio_m} | {equal} |")
    return "\n".join(rows) + "\n"


def plot(results: list[SizeResult], path: Path) -> Path:
    done = sorted((r for r in results if r.status == "measured"), key=lambda r: r.nodes * r.resources)
    if not done:
        return path
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return svg_plot(done, path.with_suffix(".svg"))
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 5))
    # One line per node count and tool: x = resources (log), solid Pacemaker, dashed vigil.
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    node_counts = sorted({r.nodes for r in done})
    for k, nodes in enumerate(node_counts):
        series = sorted((r for r in done if r.nodes == nodes), key=lambda r: r.resources)
        x = [r.resources for r in series]
        colour = colours[k % len(colours)]
        for tool, style in (("pacemaker", "o-"), ("vigil", "s--")):
            name = f"{'Pacemaker' if tool == 'pacemaker' else 'vigil'}, {nodes} nodes"
            ax_t.plot(x, [r.median_s(tool) for r in series], style, color=colour, label=name)
            ax_m.plot(x, [r.median_mib(tool) for r in series], style, color=colour, label=name)
    for ax, what in ((ax_t, "wall time (s, median)"), (ax_m, "peak RSS (MiB, median)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("resources")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    ax_t.set_title("Scheduler run (whole process)")
    ax_m.set_title("Peak memory")
    fig.suptitle("vigil simulate --format pacemaker (dashed) vs crm_simulate -R (solid), "
                 "gen_cib.py --seed 1")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def svg_plot(done: list[SizeResult], path: Path) -> Path:
    """Time against size, log-log, without matplotlib."""
    import math

    w, h, pad = 640, 420, 60
    xs = [r.nodes * r.resources for r in done]
    ys = [t for r in done for t in (r.median_s("pacemaker"), r.median_s("vigil")) if t]
    x0, x1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    y0, y1 = math.log10(min(ys)) - 0.1, math.log10(max(ys)) + 0.1

    def px(x: float, y: float) -> tuple[float, float]:
        return (pad + (math.log10(x) - x0) / (x1 - x0) * (w - 2 * pad),
                h - pad - (math.log10(y) - y0) / (y1 - y0) * (h - 2 * pad))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             'font-size="11">', f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
             f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">nodes {TIMES} resources (log)</text>',
             f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">'
             'wall time, s (log)</text>']
    for tool, colour in (("pacemaker", "#1f77b4"), ("vigil", "#d62728")):
        pts = [px(x, r.median_s(tool) or 1e-3) for x, r in zip(xs, done, strict=True)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
        for (a, b), r in zip(pts, done, strict=True):
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>')
            parts.append(f'<text x="{a + 4:.1f}" y="{b - 4:.1f}" font-size="9">{r.size}</text>')
        parts.append(f'<text x="{w - pad - 100}" y="{pad + (15 if tool == "vigil" else 0)}" '
                     f'fill="{colour}">{tool}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")
    return path


def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kib = 0
    try:
        crm_version = subprocess.run(["crm_simulate", "--version"], capture_output=True, text=True,
                                     check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        crm_version = "?"
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
    except OSError:
        commit = "?"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cpus": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "pacemaker": crm_version, "vigil_commit": commit,
    }


def load_results(path: Path) -> tuple[dict[str, object], list[SizeResult]]:
    data = json.loads(path.read_text())
    results = []
    for raw in data["results"]:
        runs = [Run(**r) for r in raw.pop("runs")]
        results.append(SizeResult(**raw, runs=runs))
    return data["machine"], results


def header(info: dict[str, object]) -> str:
    return (f"Measured {info['date']} on {info['cpus']} {TIMES} {info['cpu']}, {info['memory_gib']} GiB, "
            f"{info['os']}; Python {info['python']}, vigil {info['vigil_commit']}, "
            f"{info['pacemaker']}.\n\n")


def replot(out: Path) -> None:
    info, results = load_results(out / "results.json")
    (out / "results.md").write_text(header(info) + table(results))
    print(header(info) + table(results))
    print(f"written: {out / 'results.md'}, {plot(results, out / 'scheduler-time.png')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=",".join(GRID),
                    help="comma-separated NODESxRESOURCES (default: issue #8's grid)")
    ap.add_argument("--runs", type=int, default=None,
                    help="runs per command and size (default 3/2/1 by size)")
    ap.add_argument("--timeout", type=float, default=900,
                    help="seconds before a vigil run is killed (default 900)")
    ap.add_argument("--budget", type=float, default=2700,
                    help="seconds for the whole benchmark; sizes that would not fit are skipped "
                    "(default 2700)")
    ap.add_argument("--results", default=str(REPO / "bench" / "scheduler" / "results"),
                    help="where results.json, results.md and the plot go")
    ap.add_argument("--work", default=str(REPO / "build" / "bench-scheduler"),
                    help="scratch directory for the generated CIBs and outputs")
    ap.add_argument("--vigil", default=str(Path(sys.executable).parent / "vigil"), help="the vigil command")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw the table and plot from --results/results.json")
    args = ap.parse_args()
    if args.replot:
        replot(Path(args.results))
        return

    gen = generator()
    crm = shutil.which("crm_simulate")
    if crm is None:
        raise SystemExit("crm_simulate not found (Debian: apt-get install pacemaker-cli-utils)")
    if not Path(args.vigil).exists() and shutil.which(args.vigil) is None:
        raise SystemExit(f"vigil not found at {args.vigil} (make run installs it into .venv)")
    results = []
    for s in args.sizes.split(","):
        n, m = parse_size(s)
        results.append(SizeResult(f"{n}x{m}", n, m))
    # vigil as an installed package has it, byte-compiled: an editable
    # install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every
    # module from source in every timed run (0.2 s and 2 MiB on the small sizes).
    compileall.compile_dir(REPO / "src" / "vigil", quiet=1)
    info = machine()
    print(f"vigil {info['vigil_commit']} vs {info['pacemaker']} on {info['cpus']} x {info['cpu']}",
          flush=True)

    started = time.perf_counter()
    cost_per_cell: float | None = None
    for res in sorted(results, key=lambda r: r.nodes * r.resources):
        cells = res.nodes * res.resources
        left = args.budget - (time.perf_counter() - started)
        if cost_per_cell is not None:
            estimate = cost_per_cell * cells * runs_for(cells, args.runs)
            if estimate > left:
                res.status = "over budget"
                res.reason = f"estimated {estimate:.0f} s, {max(left, 0):.0f} s left"
                print(f"  {res.size:>9} skipped: {res.reason}", flush=True)
                continue
        bench_size(res, args, gen, args.vigil, crm)
        if res.status == "measured":
            pt, vt = res.median_s("pacemaker"), res.median_s("vigil")
            assert pt is not None and vt is not None
            cost_per_cell = (pt + vt) / cells
            print(f"  {res.size:>9}: Pacemaker {pt:.2f} s, vigil {vt:.2f} s, ratio {vt / pt:.2f}, "
                  f"actions equal: {res.same_multiset} (in order: {res.same_order})", flush=True)
            for line in res.diff[:20]:
                print(f"      {line}", flush=True)

    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(
        {"machine": info, "budget_s": args.budget, "timeout_s": args.timeout,
         "results": [asdict(r) for r in results]}, indent=1) + "\n")
    md = table(results)
    (out / "results.md").write_text(header(info) + md)
    picture = plot(results, out / "scheduler-time.png")
    print()
    print(header(info) + md)
    print(f"written: {out / 'results.json'}, {out / 'results.md'}, {picture}")


if __name__ == "__main__":
    main()
