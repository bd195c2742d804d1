#!/usr/bin/env python
"""The stack's pre-flight (issue 19) against the code before it: (c) first converge and no-change rerun.

  .venv/bin/python bench/preflight_ab.py --other /tmp/berth-main --n 50 --repeat 3

--other is a checkout of the code to compare with (e.g. `git archive main | tar -x -C /tmp/berth-main`,
with its .venv linked to this one). Runs interleave the two trees per repeat, each from nothing: first
converge, then two no-change reruns; medians are printed (wall and CPU of ansible-playbook's process
tree). Only berth-bench-* objects are touched (bench.py's Engine). Prints numbers, asserts no timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def run_tree(root, spec_path, log_path):
    env = dict(bench.ansible_env(), ANSIBLE_CONFIG=str(root / "ansible.cfg"))
    cpu, start = bench.children_cpu(), time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run([str(bench.PROJECT_VENV / "bin" / "ansible-playbook"), "bench/playbooks/stack.yml",
                               "-e", "@%s" % spec_path], cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT, timeout=900, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s: ansible-playbook failed, see %s" % (root, log_path))
    return time.perf_counter() - start, bench.children_cpu() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", required=True, type=Path)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    (bench.OUT / "logs").mkdir(parents=True, exist_ok=True)
    trees = {"before": args.other.resolve(), "after": bench.ROOT}
    engine = bench.Engine()
    engine.cleanup()
    port_base = bench.free_port_base(args.n)
    spec_path = bench.OUT / ("preflight-n%d.json" % args.n)
    spec_path.write_text(json.dumps(bench.scenario(args.n, port_base, "converge")))
    times = {t: {"converge": [], "nochange": []} for t in trees}
    try:
        for rep in range(args.repeat):
            for tree, root in trees.items():
                for phase in ("converge", "nochange", "nochange"):
                    log = bench.OUT / "logs" / ("preflight-%s-%s-r%d.log" % (tree, phase, rep))
                    secs, cpu = run_tree(root, spec_path, log)
                    times[tree][phase].append((secs, cpu))
                    load = os.getloadavg()[0]
                    print("  %-6s %-8s %6.2f s  cpu %5.2f s  load %.1f" % (tree, phase, secs, cpu, load), flush=True)
                engine.cleanup()
    finally:
        engine.cleanup()
    for phase in ("converge", "nochange"):
        line = []
        for tree in trees:
            runs = times[tree][phase]
            line.append("%s %.2f s (cpu %.2f s)" % (tree, statistics.median(r[0] for r in runs),
                                                    statistics.median(r[1] for r in runs)))
        print("N=%d %-8s median: %s" % (args.n, phase, "; ".join(line)))


if __name__ == "__main__":
    main()
