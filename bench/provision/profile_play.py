#!/usr/bin/env python
"""Where the controller's CPU goes in one ansible-playbook run (issue 25), per task and per function.

  python bench/provision/profile_play.py run OUT_DIR -- -i INVENTORY PLAYBOOK [ansible-playbook args]
  python bench/provision/profile_play.py report OUT_DIR [--top 25]

`run` runs ansible-playbook in this process with two probes: a cProfile of the main process (the
strategy: variables per host and task, includes, results, callbacks) and, in every forked worker
(one per task and host: templating, the `when`, the action plugin, the module payload, SSH), its
own CPU time (user+sys, from the fork), the CPU of the ssh clients it waited on, and a cProfile.
Both profiles count CPU time (time.process_time), not wall time.
Each worker appends one JSON line to OUT_DIR/workers.jsonl and writes OUT_DIR/worker-<pid>.prof.
`report` prints a markdown table per task (hosts, worker CPU per host, ssh CPU per host) and the
functions that take the most cumulative time in the workers and the main process.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import json
import os
import pstats
import sys
import time


def install_worker_probe(out_dir):
    from ansible.executor.process import worker

    original = worker.WorkerProcess._run

    def profiled_run(self):
        profile = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
        start = time.monotonic()
        try:
            return profile.runcall(original, self)
        finally:
            usage = os.times()
            profile.dump_stats(os.path.join(out_dir, "worker-%d.prof" % os.getpid()))
            line = json.dumps({
                "task": self._task.get_name(), "action": self._task.action, "host": self._host.name,
                "cpu": usage.user + usage.system, "ssh": usage.children_user + usage.children_system,
                "wall": time.monotonic() - start,
            })
            with open(os.path.join(out_dir, "workers.jsonl"), "a") as handle:
                handle.write(line + "\n")

    worker.WorkerProcess._run = profiled_run


def run(out_dir, playbook_args):
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        os.unlink(os.path.join(out_dir, name))
    install_worker_probe(out_dir)
    from ansible.cli.playbook import PlaybookCLI

    profile = cProfile.Profile(time.process_time)
    before = os.times()
    start = time.monotonic()
    code = 1
    try:
        code = profile.runcall(PlaybookCLI.cli_executor, ["ansible-playbook"] + playbook_args)
    except SystemExit as stop:
        code = stop.code
    after = os.times()
    profile.dump_stats(os.path.join(out_dir, "main.prof"))
    with open(os.path.join(out_dir, "main.json"), "w") as handle:
        json.dump({"wall": time.monotonic() - start, "cpu": after.user + after.system - before.user - before.system,
                   "children_cpu": (after.children_user + after.children_system
                                    - before.children_user - before.children_system)}, handle)
    return code or 0


# Worker tasks that never reach the host, by what they are.
KINDS = {"validate_argument_spec": "argument spec", "include_tasks": "include_tasks", "set_fact": "set_fact",
         "debug": "debug/assert/fail", "assert": "debug/assert/fail", "fail": "debug/assert/fail"}
# What the main process does, as (label, function names whose cumulative time it is).
MAIN_PARTS = (
    ("variables per task and host (get_vars)", ("get_vars",)),
    ("forking workers", ("_queue_task",)),
    ("results and waiting (polls)", ("_process_pending_results", "has_dead_workers")),
    ("callbacks", ("send_callback",)),
    ("loading playbook and roles", ("_load_playbook_data",)),
    ("inventory", ("parse_sources",)),
)


def cumulative(stats, names):
    """The largest cumulative time among the functions of these names (they do not nest)."""
    total = 0.0
    for name in names:
        total += max((v[3] for k, v in stats.stats.items() if k[2] == name), default=0.0)
    return total


def per_task(out_dir):
    rows = collections.OrderedDict()
    with open(os.path.join(out_dir, "workers.jsonl")) as handle:
        for line in handle:
            rec = json.loads(line)
            row = rows.setdefault(rec["task"], {"action": rec["action"], "hosts": set(), "cpu": 0.0, "ssh": 0.0})
            row["hosts"].add(rec["host"])
            row["cpu"] += rec["cpu"]
            row["ssh"] += rec["ssh"]
    return rows


def report(out_dir, top):
    with open(os.path.join(out_dir, "main.json")) as handle:
        main = json.load(handle)
    rows = per_task(out_dir)
    hosts = max(len(r["hosts"]) for r in rows.values())
    workers_cpu = sum(r["cpu"] for r in rows.values())
    ssh_cpu = sum(r["ssh"] for r in rows.values())
    print("| task | action | hosts | worker CPU / host | ssh CPU / host |")
    print("|---|---|---:|---:|---:|")
    for name, row in rows.items():
        count = len(row["hosts"])
        print("| %s | %s | %d | %.3f s | %.3f s |" % (
            name, row["action"], count, row["cpu"] / count, row["ssh"] / count))
    main_only = main["cpu"]
    print("\n%d worker runs over %d hosts; per host: main process %.3f s, workers %.3f s, their ssh %.3f s; "
          "total per host %.3f s (wall %.2f s)" % (
              sum(len(r["hosts"]) for r in rows.values()), hosts, main_only / hosts, workers_cpu / hosts,
              ssh_cpu / hosts, (main_only + workers_cpu + ssh_cpu) / hosts, main["wall"]))
    by_kind = collections.Counter()
    for row in rows.values():
        by_kind[KINDS.get(row["action"].split(".")[-1], "module on the host")] += row["cpu"] / hosts
    print("\nworkers by kind of task (CPU per host): " + ", ".join(
        "%s %.3f s" % (kind, cpu) for kind, cpu in by_kind.most_common()))
    main_stats = pstats.Stats(os.path.join(out_dir, "main.prof"))
    print("main process (cumulative, per host): " + ", ".join(
        "%s %.3f s" % (label, cumulative(main_stats, names) / hosts) for label, names in MAIN_PARTS))
    workers = [os.path.join(out_dir, n) for n in os.listdir(out_dir) if n.startswith("worker-")]
    main_profile = [os.path.join(out_dir, "main.prof")]
    for label, files in (("workers (all, cumulative)", workers), ("main process", main_profile)):
        stats = pstats.Stats(files[0], stream=sys.stdout)
        for extra in files[1:]:
            stats.add(extra)
        stats.files = []  # not one header line per worker
        print("\n### %s\n" % label)
        stats.sort_stats("cumulative").print_stats(top)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    runner = sub.add_parser("run")
    runner.add_argument("out_dir")
    runner.add_argument("playbook_args", nargs=argparse.REMAINDER)
    reporter = sub.add_parser("report")
    reporter.add_argument("out_dir")
    reporter.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if args.action == "run":
        playbook_args = args.playbook_args[1:] if args.playbook_args[:1] == ["--"] else args.playbook_args
        return run(os.path.abspath(args.out_dir), playbook_args)
    return report(args.out_dir, args.top)


if __name__ == "__main__":
    sys.exit(main())
