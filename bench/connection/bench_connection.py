"""Tasks inside containers: berth.engine.docker against community.docker's connections and plain `docker exec`.

10 containers of berth-test/debian:bookworm (tests/images/debian/build.sh), 20 tasks each
(ansible.builtin.command, forks 10, pipelining on for every plugin). Variants:
  berth      berth.engine.docker            (project .venv, ansible-core 2.19)
  docker_api community.docker.docker_api    (bench venv: PyPI `ansible`, Docker SDK inside the collection)
  docker_cli community.docker.docker        (bench venv; runs the docker CLI's `docker exec` per command)
  exec_loop  `docker exec <c> python3 -c ...` 200 times, 10 at a time: no Ansible at all, the floor
  baseline   berth.engine.docker of another checkout (--baseline DIR, e.g. a work tree of main): before/after
Prints per-task wall time and controller CPU (children's user+sys), each / 20 tasks, medians of the rounds.

    .venv/bin/python bench/connection/bench_connection.py [--repeat 2] [--containers 10] [--tasks 20]
                                                          [--baseline DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_VENV = Path(os.environ.get("BERTH_BENCH_VENV", ROOT / ".cache" / "bench-venv"))
IMAGE = "berth-test/debian:bookworm"
PREFIX = "berth-connbench-"  # not berth-bench-: bench.py sweeps that prefix
PLUGINS = {"berth": "berth.engine.docker", "docker_api": "community.docker.docker_api",
           "docker_cli": "community.docker.docker"}


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_containers(count):
    names = [f"{PREFIX}{index}" for index in range(count)]
    subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)
    for name in names:
        subprocess.run(["docker", "run", "-d", "--name", name, IMAGE, "sleep", "infinity"], check=True,
                       capture_output=True)
    return names


def write_play(directory, tasks):
    play = [{"hosts": "all", "gather_facts": False, "tasks": [
        {"name": f"task {index}", "ansible.builtin.command": "true", "changed_when": False}
        for index in range(tasks)]}]
    path = directory / "play.yml"
    path.write_text(json.dumps(play))
    return path


def run_ansible(variant, names, play, directory, baseline=None):
    inventory = directory / f"{variant}.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {name: {} for name in names}, "vars": {
        "ansible_connection": PLUGINS.get(variant, PLUGINS["berth"]), "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_pipelining": True}}}))
    venv = BENCH_VENV if variant in ("docker_api", "docker_cli") else ROOT / ".venv"
    root = baseline if variant == "baseline" else ROOT  # its ansible.cfg finds its own collection
    env = dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_FORKS="10",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal")
    proc = subprocess.run([str(venv / "bin" / "ansible-playbook"), "-i", str(inventory), str(play)], cwd=root,
                          env=env, capture_output=True, text=True, check=False, timeout=900)
    if proc.returncode != 0:
        sys.exit(f"{variant} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def run_exec_loop(names, tasks):
    def one(name):
        subprocess.run(["docker", "exec", name, "python3", "-c", "import subprocess; subprocess.run(['true'])"],
                       check=True, capture_output=True)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(one, [name for _round in range(tasks) for name in names]))


def measure(variant, names, play, directory, tasks, baseline=None):
    wall, cpu = time.monotonic(), children_cpu()
    if variant == "exec_loop":
        run_exec_loop(names, tasks)
    else:
        run_ansible(variant, names, play, directory, baseline)
    return time.monotonic() - wall, children_cpu() - cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--containers", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--baseline", type=Path, help="another checkout whose berth.engine.docker to measure too")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "tests/images/debian/build.sh")], check=True, stdout=subprocess.DEVNULL)
    variants = ["berth", "exec_loop"]
    if (BENCH_VENV / "bin" / "ansible-playbook").exists():
        variants[1:1] = ["docker_api", "docker_cli"]
    else:
        print(f"no bench venv at {BENCH_VENV} (bench/run.sh makes it): community.docker variants skipped")
    if args.baseline:
        variants.insert(1, "baseline")
    names = start_containers(args.containers)
    results = {variant: [] for variant in variants}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            play = write_play(directory, args.tasks)
            for _round in range(args.repeat):  # alternate the variants, so load changes hit them alike
                for variant in variants:
                    wall, cpu = measure(variant, names, play, directory, args.tasks, args.baseline)
                    results[variant].append((wall, cpu))
                    load = os.getloadavg()[0]
                    print(f"  {variant}: {wall:.1f} s wall, {cpu:.1f} s CPU (load {load:.1f})", flush=True)
    finally:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)
    print(f"{args.tasks} tasks on {args.containers} containers, forks 10, {args.repeat} rounds; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'variant':<12} {'wall/task':>10} {'CPU/task':>9} {'wall':>8} {'CPU':>8}  runs (wall s / CPU s)")
    for variant, runs in results.items():
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        print(f"{variant:<12} {wall / args.tasks:>9.2f}s {cpu / args.tasks:>8.2f}s {wall:>7.1f}s {cpu:>7.1f}s  "
              + ", ".join(f"{run[0]:.1f}/{run[1]:.1f}" for run in runs))


if __name__ == "__main__":
    main()
