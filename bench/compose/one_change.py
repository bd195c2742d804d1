#!/usr/bin/env python
"""One-container change (issue 13): one env change in a 50-container berth.engine.stack, timed.

The scenario of bench/bench.py's `change` phase (bench/playbooks/stack.yml, busybox containers with a port,
env, labels, restart policy, one network, stop timeout 1 s), under its own names (berth-onechange-*) so it
never touches bench.py's berth-bench-* objects. The stack is converged once; then each run flips the env of
the middle container, alternating between two codes of the collection:

  new   this tree                  (_confirm_running ends after START_GRACE_SECONDS = 0.25 s of one run)
  old   --old-collections PATH     (a copy of the collection with the previous fixed 1.0 s watch)

A run of bench/playbooks/floor.yml (one trivial task) is timed with each, so `change - floor` is the
module's part. Every run must replace exactly the middle container. On a loaded host the recreate's engine
work varies by seconds, so the watch is also timed alone (--watch N): a busybox container is started and
each code's `_confirm_running` is timed on it, in a child process that imports that code.
Everything is removed at the end.

  .venv/bin/python bench/compose/one_change.py --repeat 3 [--old-collections /tmp/old]  -> bench/out/one_change.json
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench import OUT, ansible_env, timed  # noqa: E402

PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"
PREFIX = "berth-onechange-"
LABEL = "io.berth.bench.onechange"
COUNT = 50


def spec(value):
    middle = COUNT // 2
    return {"bench_network": PREFIX + "net", "bench_containers": [{
        "name": "%s%03d" % (PREFIX, i), "image": "berth-test/busybox:latest", "ports": ["127.0.0.1::8080"],
        "env": {"BENCH_ROLE": "worker", "BENCH_VALUE": value if i == middle else "v1"}, "labels": {LABEL: "1"},
        "restart_policy": "unless-stopped", "networks": [{"name": PREFIX + "net"}], "stop_timeout": 1,
        "state": "started"} for i in range(COUNT)]}


def playbook(args, log_path, collections=None):
    """ansible-playbook args, timed; with the berth.engine of `collections` when given."""
    env = ansible_env()
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections
    return timed([str(PLAYBOOK), *args], log_path, 900, env)


def ids(api):
    return {c["Names"][0].lstrip("/"): c["Id"] for c in api.containers(all=True, filters={"label": LABEL})}


def cleanup(api):
    for c in api.containers(all=True, filters={"label": LABEL}):
        api.remove_container(c["Id"], force=True, v=True)
    for net in api.networks(names=[PREFIX + "net"]):
        if net["Name"] == PREFIX + "net":
            api.remove_network(net["Id"])


def run_change(api, code, collections, value, rep):
    vars_path = OUT / "one-change-vars.json"
    vars_path.write_text(json.dumps(spec(value)))
    before = ids(api)
    log = OUT / "logs" / ("one-change-%s-r%d.log" % (code, rep))
    run = playbook(["bench/playbooks/stack.yml", "-e", "@%s" % vars_path], log, collections)
    after = ids(api)
    middle = "%s%03d" % (PREFIX, COUNT // 2)
    replaced = [n for n in after if before.get(n) != after[n]]
    env = api.inspect_container(middle)["Config"]["Env"]
    if replaced != [middle] or "BENCH_VALUE=%s" % value not in env:
        raise SystemExit("(%s) replaced %s, env %s, see %s" % (code, replaced, env, log))
    floor = playbook(["bench/playbooks/floor.yml"], OUT / "logs" / "one-change-floor.log", collections)
    run["floor_secs"], run["module_secs"] = floor["secs"], round(run["secs"] - floor["secs"], 2)
    print("  r%d %-3s change %5.2f s  cpu %5.2f s  floor %5.2f s  change-floor %5.2f s  load %4.1f -> %4.1f" % (
        rep, code, run["secs"], run["cpu_secs"], floor["secs"], run["module_secs"], run["load_before"],
        run["load_after"]), flush=True)
    return run


WATCH_CHILD = """
import json, sys, time
from types import SimpleNamespace
from ansible_collections.berth.engine.plugins.module_utils.container_resource import ContainerResource
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineClient
client = EngineClient()
start = time.perf_counter()
ContainerResource._confirm_running(SimpleNamespace(client=client), sys.argv[1])
print(json.dumps(time.perf_counter() - start))
"""


def watch_cost(api, codes, times):
    """Seconds each code's watch takes on a container that was just started (median of `times`)."""
    found = {code: [] for code in codes}
    policy = api.create_host_config(restart_policy={"Name": "unless-stopped"})
    for _round in range(times):
        for code, collections in codes.items():
            created = api.create_container("berth-test/busybox:latest", name="%swatch" % PREFIX, labels={LABEL: "1"},
                                           host_config=policy)
            api.start(created["Id"])
            path = collections or str(ROOT / "collections")
            done = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", WATCH_CHILD, created["Id"]],
                                  env=dict(os.environ, PYTHONPATH=path), capture_output=True, text=True, check=True)
            found[code].append(round(json.loads(done.stdout), 3))
            api.remove_container(created["Id"], force=True)
    print("  watch alone:", json.dumps(found), flush=True)
    return {code: statistics.median(runs) for code, runs in found.items()}, found


def main():
    import docker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old-collections", help="a collections path holding the previous berth.engine")
    parser.add_argument("--watch", type=int, default=5, help="times to time the watch alone (0: not at all)")
    args = parser.parse_args()
    codes = {"new": None}
    if args.old_collections:
        codes["old"] = args.old_collections
    OUT.joinpath("logs").mkdir(parents=True, exist_ok=True)
    api = docker.APIClient(version="auto", timeout=120, **docker.utils.kwargs_from_env())
    cleanup(api)
    results = {code: [] for code in codes}
    value = "v1"
    watch = watch_cost(api, codes, args.watch) if args.watch else ({}, {})
    try:
        vars_path = OUT / "one-change-vars.json"
        vars_path.write_text(json.dumps(spec(value)))
        timed(["bench/playbooks/stack.yml", "-e", "@%s" % vars_path], OUT / "logs" / "one-change-converge.log")
        for rep in range(args.repeat):
            for code in (list(codes) if rep % 2 == 0 else list(reversed(codes))):
                value = "v2" if value == "v1" else "v1"
                results[code].append(run_change(api, code, codes[code], value, rep))
    finally:
        cleanup(api)
    medians = {code: {k: statistics.median(r[k] for r in runs) for k in ("secs", "cpu_secs", "module_secs")}
               for code, runs in results.items()}
    (OUT / "one_change.json").write_text(json.dumps({"ended": time.strftime("%Y-%m-%d %H:%M:%S"),
                                                     "runs": results, "medians": medians,
                                                     "watch_medians": watch[0], "watch_runs": watch[1]}, indent=1))
    print(json.dumps(medians, indent=1))


if __name__ == "__main__":
    main()
