#!/usr/bin/env python
"""The 50-container `stack` no-change run against a one-task ping play (issue 25), side by side.

Converges the bench scenario once (bench.py's containers, under names berth-fleet-*), then alternates per
round: the ping play (bench/playbooks/floor.yml), a no-change `stack` run with this tree's collection and,
with --other, one with the collection under that collections path (e.g. a `git archive` of an older commit
at /tmp/old/ansible_collections/berth/engine). Wall and user+sys CPU of each ansible-playbook tree; medians.

  .venv/bin/python bench/stack_vs_ping.py --rounds 5 [--other /tmp/old]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(ROOT)]  # not bench/ itself: bench.py would shadow the package

from bench.bench import OUT, ansible_env, free_port_base, scenario, timed  # noqa: E402

PLAYBOOK = [str(ROOT / ".venv" / "bin" / "ansible-playbook")]


def fleet_scenario(n):
    spec = scenario(n, free_port_base(n), "converge")
    spec["bench_network"] = "berth-fleet-net"
    for entry in spec["bench_containers"]:
        entry["name"] = entry["name"].replace("berth-bench-", "berth-fleet-")
        entry["networks"] = [{"name": "berth-fleet-net"}]
    return spec


def run(name, args, collections=None, round_=0):
    env = ansible_env()
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections
    log = OUT / "logs" / ("stack-vs-ping-%s-r%d.log" % (name, round_))
    return timed(PLAYBOOK + args, log, 600, env)


def cleanup():
    import docker

    api = docker.from_env().api
    for c in api.containers(all=True, filters={"name": "berth-fleet-"}):
        api.remove_container(c["Id"], force=True, v=True)
    for net in api.networks(names=["berth-fleet-net"]):
        api.remove_network(net["Id"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--other", help="a collections path holding another berth.engine to compare")
    args = parser.parse_args()
    OUT.joinpath("logs").mkdir(parents=True, exist_ok=True)
    vars_path = OUT / "stack-vs-ping-vars.json"
    vars_path.write_text(json.dumps(fleet_scenario(args.n)))
    stack = ["bench/playbooks/stack.yml", "-e", "@%s" % vars_path]
    # stack-empty: the same task with no containers (the network only): the module's fixed cost (payload, imports,
    # connection) apart from what the 50 entries cost (templating, validation, reads, the result).
    empty = stack + ["-e", '{"bench_containers": []}']
    variants = {"ping": (["bench/playbooks/floor.yml"], None), "stack": (stack, None), "stack-empty": (empty, None)}
    if args.other:
        variants["stack-other"] = (stack, args.other)
    runs = {v: [] for v in variants}
    try:
        run("converge", stack)
        for r in range(args.rounds):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for v in order:
                playbook, collections = variants[v]
                runs[v].append(run(v, playbook, collections, r))
            print("round %d: %s" % (r, "  ".join("%s %.2f s (cpu %.2f)" % (v, runs[v][-1]["secs"],
                                                                           runs[v][-1]["cpu_secs"])
                                                 for v in variants)), flush=True)
    finally:
        cleanup()
    med = {v: {k: statistics.median(x[k] for x in runs[v]) for k in ("secs", "cpu_secs")} for v in variants}
    for v in variants:
        print("%-12s wall %.2f s  cpu %.2f s  ratio to ping: wall %.2fx cpu %.2fx" % (
            v, med[v]["secs"], med[v]["cpu_secs"], med[v]["secs"] / med["ping"]["secs"],
            med[v]["cpu_secs"] / med["ping"]["cpu_secs"]))
    (OUT / "stack-vs-ping.json").write_text(json.dumps({"runs": runs, "medians": med}, indent=1))


if __name__ == "__main__":
    main()
