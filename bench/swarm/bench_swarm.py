#!/usr/bin/env python
"""Swarm bench (issue 10): 20 services on a 3-node swarm, first converge and no-change rerun.

  (berth)     one berth.engine.swarm_stack task            (project venv)
  (community) community.docker.docker_swarm_service loop   (bench venv: PyPI `ansible`, bench/run.sh makes it)

The cluster is three private dockerds, each in its own network namespace, joined by veth pairs to one
bridge (tests/support/private_daemon.py); node 0 is the manager, 1 and 2 join as workers. The kernel has
no IP_VS, so every service uses endpoint_mode dnsrr and publishes no port. Each repeat starts from no
services; the variants alternate their order per repeat. After a converge the bench waits (untimed) until
every service runs its task, so the no-change run meets a settled cluster (swarm_stack waits for that
itself, docker_swarm_service does not: berth's converge time includes the convergence, community's not).

  .venv/bin/python bench/swarm/bench_swarm.py --repeat 3   -> bench/out/swarm.json, logs in bench/out/logs/
  .venv/bin/python bench/swarm/bench_swarm.py --nochange 5 [--other /tmp/old]   -> bench/out/swarm-nochange.json
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench import BENCH_VENV, OUT, ansible_env, medians, timed  # noqa: E402
from tests.support.private_daemon import private_daemons  # noqa: E402

IMAGE = "berth-test/busybox:latest"
PREFIX = "berth-bench-svc-"
SERVICES = 20
VARIANTS = {
    "berth": [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "bench/swarm/berth.yml"],
    "community": [str(BENCH_VENV / "bin" / "ansible-playbook"), "bench/swarm/community.yml"],
}
EXPECTED_CHANGED = {"berth": 1, "community": SERVICES}  # first converge: the one stack task, or each loop item
SETTLE_TIMEOUT = 300


def services_spec(count, tag=""):
    return [{
        "name": "%s%s%02d" % (PREFIX, tag, i),
        "image": IMAGE,
        # PID 1 traps TERM so a removal does not wait out the stop grace period.
        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"],
        "replicas": 1,
        "endpoint_mode": "dnsrr",
        "labels": {"io.berth.bench": "1"},
    } for i in range(count)]


def timed_playbook(cmd, log_path, timeout=900, env=None):
    """timed(cmd), and how many changes its log reports; a run without a clean PLAY RECAP fails."""
    run = timed(cmd, log_path, timeout, env)
    text = Path(log_path).read_text(errors="replace")
    m = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", text)
    if not m:
        raise SystemExit("%s failed (exit 0, no clean PLAY RECAP), see %s" % (" ".join(cmd), log_path))
    # The recap counts tasks; a loop's items each print their own "changed:" line.
    run["changed"] = len(re.findall(r"^changed: \[localhost\]", text, re.M)) or int(m.group(1))
    return run


def settle(manager, count):
    """Until `count` bench services each have one running task (untimed)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        services = [s for s in manager.services.list() if s.name.startswith(PREFIX)]
        running = sum(1 for s in services if any(t["Status"]["State"] == "running" for t in s.tasks()))
        if len(services) == count and running == count:
            return
        time.sleep(1)
    raise SystemExit("the bench services did not all run within %ss" % SETTLE_TIMEOUT)


def clear(daemons):
    """Remove the bench services and wait until no node runs their containers any more."""
    manager = daemons[0].client
    for service in manager.services.list():
        if service.name.startswith(PREFIX):
            service.remove()
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        left = sum(len(d.client.api.containers(all=True, filters={"label": "com.docker.swarm.service.name"}))
                   for d in daemons)
        if not left:
            return
        time.sleep(1)
    raise SystemExit("bench service containers were still there after %ss" % SETTLE_TIMEOUT)


def make_cluster(daemons):
    import docker

    host = docker.from_env()
    manager = daemons[0]
    manager.client.swarm.init(advertise_addr=manager.address, listen_addr="%s:2377" % manager.address)
    token = manager.client.swarm.attrs["JoinTokens"]["Worker"]
    for node in daemons[1:]:
        node.client.swarm.join(remote_addrs=["%s:2377" % manager.address], join_token=token,
                               advertise_addr=node.address, listen_addr="%s:2377" % node.address)
    for node in daemons:
        node.load_image(IMAGE, host)
    ready = [n for n in manager.client.nodes.list() if n.attrs["Status"]["State"] == "ready"]
    if len(ready) != len(daemons):
        raise SystemExit("only %d of %d nodes are ready" % (len(ready), len(daemons)))


def bench(daemons, repeat):
    OUT.joinpath("logs").mkdir(parents=True, exist_ok=True)
    vars_path = OUT / "swarm-vars.json"
    vars_path.write_text(json.dumps({"bench_docker_host": daemons[0].docker_host,
                                     "bench_services": services_spec(SERVICES)}))
    results = {v: {"converge": [], "nochange": []} for v in VARIANTS}
    for rep in range(repeat):
        order = list(VARIANTS) if rep % 2 == 0 else list(reversed(VARIANTS))
        for variant in order:
            clear(daemons)
            for phase in ("converge", "nochange"):
                log = OUT / "logs" / ("swarm-%s-%s-r%d.log" % (variant, phase, rep))
                run = timed_playbook(VARIANTS[variant] + ["-e", "@%s" % vars_path], log)
                want = EXPECTED_CHANGED[variant] if phase == "converge" else 0
                if run["changed"] != want:
                    raise SystemExit("(%s) %s reported changed=%d, expected %d, see %s"
                                     % (variant, phase, run["changed"], want, log))
                # Until every task runs: ~0 after swarm_stack, which waited; the rest of the job after the loop.
                settled = time.perf_counter()
                settle(daemons[0].client, SERVICES)
                run["settle_secs"] = round(time.perf_counter() - settled, 2)
                run["until_running_secs"] = round(run["secs"] + run["settle_secs"], 2)
                results[variant][phase].append(run)
                print("  r%d %-9s %-8s %7.2f s (all running after %7.2f s)  cpu %6.2f s  load %4.1f -> %4.1f" % (
                    rep, variant, phase, run["secs"], run["until_running_secs"], run["cpu_secs"], run["load_before"],
                    run["load_after"]), flush=True)
            # A cut-short bench keeps what it measured.
            (OUT / "swarm-partial.json").write_text(json.dumps(results, indent=1))
    clear(daemons)
    return results


def bench_nochange(daemons, rounds, other=None):
    """Both variants converged once (their own 20 services each, side by side on the cluster), then `rounds`
    alternating no-change runs of: berth, berth with the collection under `other` (a collections path) when
    given, the community loop, and the one-task ping play (bench/playbooks/floor.yml), the floor."""
    OUT.joinpath("logs").mkdir(parents=True, exist_ok=True)
    host = daemons[0].docker_host
    runs = {"berth": (VARIANTS["berth"], None, ""), "community": (VARIANTS["community"], None, "c"),
            "ping": ([VARIANTS["berth"][0], "bench/playbooks/floor.yml"], None, "")}
    if other:
        runs["berth-other"] = (VARIANTS["berth"], other, "")
    env = {}
    for variant, (cmd, collections, tag) in runs.items():
        path = OUT / ("swarm-vars-%s.json" % tag)
        path.write_text(json.dumps({"bench_docker_host": host, "bench_services": services_spec(SERVICES, tag)}))
        env[variant] = dict(ansible_env(), **({"ANSIBLE_COLLECTIONS_PATH": collections} if collections else {}))
        runs[variant] = cmd + ["-e", "@%s" % path]
    clear(daemons)
    for variant in ("berth", "community"):
        timed_playbook(runs[variant], OUT / "logs" / ("swarm-%s-converge.log" % variant), env=env[variant])
    settle(daemons[0].client, 2 * SERVICES)
    results = {v: [] for v in runs}
    for rnd in range(rounds):
        order = list(runs) if rnd % 2 == 0 else list(reversed(runs))
        for variant in order:
            log = OUT / "logs" / ("swarm-nochange-%s-r%d.log" % (variant, rnd))
            run = timed_playbook(runs[variant], log, env=env[variant])
            if run["changed"] != 0:
                raise SystemExit("(%s) no-change run reported changed=%d, see %s" % (variant, run["changed"], log))
            results[variant].append(run)
        line = "  ".join("%s %.2f s (cpu %.2f)" % (v, results[v][-1]["secs"], results[v][-1]["cpu_secs"]) for v in runs)
        print("  round %d: %s" % (rnd, line), flush=True)
    clear(daemons)
    med = {v: {k: statistics.median(r[k] for r in results[v]) for k in ("secs", "cpu_secs")} for v in runs}
    for v in runs:
        med[v]["community_over_this_x"] = round(med["community"]["secs"] / med[v]["secs"], 2)
        med[v]["over_ping_x"] = round(med[v]["secs"] / med["ping"]["secs"], 2)
    return {"runs": results, "medians": med}


def summary(results):
    med = medians(results, ("secs", "until_running_secs", "cpu_secs"))
    b, c = med["berth"], med["community"]
    med["ratios"] = {
        "nochange_wall_x": round(c["nochange"]["secs"] / b["nochange"]["secs"], 1),
        "nochange_cpu_x": round(c["nochange"]["cpu_secs"] / b["nochange"]["cpu_secs"], 1),
        "converge_wall_x": round(c["converge"]["secs"] / b["converge"]["secs"], 2),
        "converge_until_running_x": round(c["converge"]["until_running_secs"] / b["converge"]["until_running_secs"], 2),
    }
    return med


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nochange", type=int, metavar="ROUNDS",
                        help="only the no-change comparison: converge once, then ROUNDS alternating rounds")
    parser.add_argument("--other", help="with --nochange: a collections path with another berth.engine to compare")
    args = parser.parse_args()
    if not (BENCH_VENV / "bin" / "ansible-playbook").exists():
        raise SystemExit("no bench venv at %s: run bench/run.sh once (it makes it)" % BENCH_VENV)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    with private_daemons(3, "bsw") as daemons:
        make_cluster(daemons)
        if args.nochange:
            report = dict(bench_nochange(daemons, args.nochange, args.other), started=started,
                          ended=time.strftime("%Y-%m-%d %H:%M:%S"))
            (OUT / "swarm-nochange.json").write_text(json.dumps(report, indent=1))
            print(json.dumps(report["medians"], indent=1))
            return
        results = bench(daemons, args.repeat)
    report = {"started": started, "ended": time.strftime("%Y-%m-%d %H:%M:%S"), "services": SERVICES,
              "nodes": 3, "runs": results, "medians": summary(results)}
    (OUT / "swarm.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report["medians"], indent=1))


if __name__ == "__main__":
    main()
