#!/usr/bin/env python
"""Where a no-change stack run's module time goes (issue 25): the engine calls it makes and a cProfile.

In-process (no ansible-playbook): converge once, then time a few no-change converges, count their Engine
API calls by method and path, and profile one of them.

  .venv/bin/python bench/profile_nochange.py swarm [--n 20]   one private dockerd, swarm init, n services
  .venv/bin/python bench/profile_nochange.py stack [--n 50]   the host dockerd, n containers (bench scenario)
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(ROOT), str(ROOT / "collections")]  # not bench/ itself: bench.py would shadow the package

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineClient  # noqa: E402

CALLS = collections.Counter()
_send = EngineClient._send


def counted_send(self, method, path, *args, **kwargs):
    CALLS["%s %s" % (method, re.sub(r"^(/[a-z]+)/[^/?]+", r"\1/{id}", path.split("?")[0]))] += 1
    return _send(self, method, path, *args, **kwargs)


EngineClient._send = counted_send


def stack_params(spec, extra):
    """The module's parameters: the defaults of its argument spec, then `extra`."""
    return dict({k: v.get("default") for k, v in spec.items()}, **extra)


def measure(make_stack, repeat):
    """(wall, cpu, calls of one run, pstats) of `repeat` no-change converges."""
    walls, cpus = [], []
    for _round in range(repeat):
        CALLS.clear()
        w, c = time.perf_counter(), time.process_time()
        result = make_stack().converge()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
        assert not result["changed"], result["summary"]
    calls = dict(CALLS)
    profile = cProfile.Profile()
    profile.runcall(lambda: make_stack().converge())
    return sorted(walls)[len(walls) // 2], sorted(cpus)[len(cpus) // 2], calls, profile


def report(label, wall, cpu, calls, profile):
    print("%s: no-change converge wall %.3f s, cpu %.3f s, %d engine calls" % (label, wall, cpu, sum(calls.values())))
    for key, count in sorted(calls.items(), key=lambda kv: -kv[1]):
        print("  %4d  %s" % (count, key))
    pstats.Stats(profile).sort_stats("cumulative").print_stats(18)


def swarm(n, repeat):
    import docker

    from ansible_collections.berth.engine.plugins.module_utils.swarm_stack import ARGUMENT_SPEC as SWARM_SPEC
    from ansible_collections.berth.engine.plugins.module_utils.swarm_stack import SwarmStack
    from bench.swarm.bench_swarm import IMAGE, services_spec
    from tests.support.private_daemon import private_daemons

    with private_daemons(1, "bpf") as daemons:
        node = daemons[0]
        node.client.swarm.init(advertise_addr=node.address, listen_addr="%s:2377" % node.address)
        node.load_image(IMAGE, docker.from_env())

        def client():
            return EngineClient(docker_host=node.docker_host)

        params = stack_params(SWARM_SPEC, {"name": "berth-bench", "services": services_spec(n)})
        SwarmStack(client(), params, False).converge()
        report("swarm_stack, %d services" % n, *measure(lambda: SwarmStack(client(), params, False), repeat))


def stack(n, repeat):
    import docker

    from ansible_collections.berth.engine.plugins.module_utils.stack import Stack
    from ansible_collections.berth.engine.plugins.modules.stack import ARGUMENT_SPEC as STACK_SPEC
    from bench.bench import free_port_base, scenario

    spec = scenario(n, free_port_base(n), "converge")
    containers = [dict(c, name=c["name"].replace("bench-", "prof-")) for c in spec["bench_containers"]]
    params = stack_params(STACK_SPEC, {"name": "berth-prof", "networks": [{"name": spec["bench_network"]}],
                                       "containers": containers})
    try:
        Stack(EngineClient(), params, False).converge()
        report("stack, %d containers" % n, *measure(lambda: Stack(EngineClient(), params, False), repeat))
    finally:
        api = docker.from_env().api
        for c in api.containers(all=True, filters={"label": "io.berth.stack=berth-prof"}):
            api.remove_container(c["Id"], force=True, v=True)
        for net in api.networks(names=[spec["bench_network"]]):
            api.remove_network(net["Id"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=("swarm", "stack"))
    parser.add_argument("--n", type=int)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.path == "swarm":
        swarm(args.n or 20, args.repeat)
    else:
        stack(args.n or 50, args.repeat)


if __name__ == "__main__":
    main()
