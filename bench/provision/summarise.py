#!/usr/bin/env python
"""Time no-change ansible-playbook runs and summarise them (bench/provision/run.sh).

`time` runs one command and appends one JSON line: wall time, the CPU time
(user+sys) of its whole process tree, the load average around it and the
PLAY RECAP counts of every host. The process makes itself a child subreaper,
so the SSH ControlPersist masters that ansible leaves behind are reparented to
it; they are ended and reaped after the run, which puts their CPU in the
total. `report` prints the medians as the markdown tables of bench/RESULTS.md.
"""

import argparse
import contextlib
import ctypes
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$")


def children_cpu():
    usage = os.times()
    return usage.children_user + usage.children_system


def own_children():
    """PIDs whose parent is this process (the reparented SSH masters)."""
    me, found = str(os.getpid()), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.append(int(entry))
    return found


def reap_leftovers():
    for pid in own_children():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while own_children() and time.monotonic() < deadline:
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        time.sleep(0.05)


def parse_recap(output):
    hosts, in_recap = {}, False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        match = RECAP_LINE.match(line.strip()) if in_recap else None
        if match:
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def run_timed(args):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    load_before = os.getloadavg()[0]
    cpu_before, start = children_cpu(), time.monotonic()
    proc = subprocess.run(args.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.monotonic() - start
    reap_leftovers()
    record = {
        "variant": args.variant, "target": args.target, "round": args.round,
        "wall": round(wall, 3), "cpu": round(children_cpu() - cpu_before, 3),
        "load_before": load_before, "load_after": os.getloadavg()[0],
        "rc": proc.returncode, "hosts": parse_recap(proc.stdout), "at": time.strftime("%H:%M:%S"),
    }
    changed = sum(h.get("changed", 0) for h in record["hosts"].values())
    with open(args.out, "a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"{args.variant:16} {args.target:5} round {args.round}: {wall:6.2f} s wall {record['cpu']:6.2f} s CPU "
          f"rc={proc.returncode} changed={changed} load {load_before:.1f}->{record['load_after']:.1f}", flush=True)
    if proc.returncode or changed or not record["hosts"]:
        sys.stdout.write(proc.stdout[-4000:])
        return 1
    return 0


def median(values):
    return statistics.median(values) if values else float("nan")


def summarise(records, hosts):
    rows = {}
    for rec in records:
        if rec["rc"] == 0 and rec["hosts"] and not any(h.get("changed") for h in rec["hosts"].values()):
            rows.setdefault((rec["target"], rec["variant"]), []).append(rec)
    table = {}
    for (target, variant), recs in rows.items():
        count = hosts if target == "fleet" else 1
        first = [next(iter(r["hosts"].values())) for r in recs]
        table[(target, variant)] = {
            "n": len(recs), "wall": median([r["wall"] for r in recs]), "cpu": median([r["cpu"] for r in recs]),
            "cpu_host": median([r["cpu"] / count for r in recs]),
            "ok": median([h["ok"] for h in first]), "skipped": median([h["skipped"] for h in first]),
            "load": (min(r["load_before"] for r in recs), max(r["load_after"] for r in recs)),
        }
    return table


def report(args):
    with open(args.runs) as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    if args.since:
        records = [r for r in records if r["at"] >= args.since]
    table = summarise(records, args.hosts)
    print("| target | play | runs | tasks ok+skipped per host | wall | controller CPU | CPU per host | load (1 min) |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for target in ("local", "fleet"):
        for variant in ("site", "site-base", "prereqs-runtime", "prereqs-runtime-base", "geerlingguy", "ping"):
            row = table.get((target, variant))
            if row:
                name = "localhost" if target == "local" else f"{args.hosts} hosts"
                print(f"| {name} | {variant} | {row['n']} | {row['ok']:.0f}+{row['skipped']:.0f} | {row['wall']:.2f} s "
                      f"| {row['cpu']:.2f} s | {row['cpu_host']:.2f} s | {row['load'][0]:.1f}-{row['load'][1]:.1f} |")
    print()
    for target in ("local", "fleet"):
        for ours_name, theirs_name in (("prereqs-runtime", "geerlingguy"), ("prereqs-runtime-base", "geerlingguy"),
                                       ("site", "ping"), ("site-base", "ping")):
            ours, theirs = table.get((target, ours_name)), table.get((target, theirs_name))
            if ours and theirs:
                print(f"- {ours_name} / {theirs_name}, {target}: wall {ours['wall'] / theirs['wall']:.2f}x, "
                      f"CPU per host {ours['cpu_host'] / theirs['cpu_host']:.2f}x")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    timed = sub.add_parser("time", help="run and time one command")
    timed.add_argument("--out", required=True)
    timed.add_argument("--variant", required=True)
    timed.add_argument("--target", required=True)
    timed.add_argument("--round", type=int, default=0)
    timed.add_argument("command", nargs="+")
    summary = sub.add_parser("report", help="medians of the recorded runs, as markdown")
    summary.add_argument("runs")
    summary.add_argument("--hosts", type=int, default=10)
    summary.add_argument("--since", help="only runs started at or after HH:MM:SS")
    args = parser.parse_args()
    return run_timed(args) if args.action == "time" else report(args)


if __name__ == "__main__":
    sys.exit(main())
