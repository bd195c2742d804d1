#!/usr/bin/env python
"""Compose bench (issue 10): a 10-service Compose project (bench/compose/project), no-change rerun.

  (berth)  one berth.engine.stack task with compose_files            (project venv's ansible-playbook)
  (v1)     `docker-compose up -d`, Debian 12's docker-compose 1.29 (apt-get install docker-compose)
  (v2)     `docker compose up -d`, only when the Compose v2 plugin is installed (it is not in Debian 12)

community.docker's docker_compose_v2 drives the v2 plugin, so it cannot run here either. Each tool gets its
own project on the shared daemon (berth-bench-cb, berth-bench-cv1, berth-bench-cv2); v1 names containers
<project>_<service>_1 where v2 and Berth use <project>-<service>-1, which does not matter for timing.
Each project is brought up once (timed, informational), then the no-change runs alternate between the tools;
a no-change run must leave every container ID as it was; after each of Berth's, bench/playbooks/floor.yml
(ansible-playbook with one trivial task) is timed too, the part of Berth's time that is not the stack module.
Everything is removed at the end.

  .venv/bin/python bench/compose/bench_compose.py --repeat 5   -> bench/out/compose.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench import OUT, med, medians, timed  # noqa: E402

COMPOSE_FILE = ROOT / "bench" / "compose" / "project" / "compose.yaml"
PROJECTS = {"berth": "berth-bench-cb", "v1": "berth-bench-cv1", "v2": "berth-bench-cv2"}
SERVICES = 10


def commands():
    found = {"berth": [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "bench/compose/berth.yml",
                       "-e", "bench_project=%s" % PROJECTS["berth"]]}
    if shutil.which("docker-compose"):
        found["v1"] = ["docker-compose", "-p", PROJECTS["v1"], "-f", str(COMPOSE_FILE), "up", "-d"]
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        found["v2"] = ["docker", "compose", "-p", PROJECTS["v2"], "-f", str(COMPOSE_FILE), "up", "-d"]
    return found


TIMEOUT = 600


def containers(api, project):
    """{name: id} of the project's containers, all of which must run."""
    found = api.containers(all=True, filters={"label": "com.docker.compose.project=%s" % project})
    stopped = [c["Names"][0] for c in found if c["State"] != "running"]
    if len(found) != SERVICES or stopped:
        raise SystemExit("project %s: %d containers, not running: %s" % (project, len(found), stopped))
    return {c["Names"][0]: c["Id"] for c in found}


def remove_projects(api):
    for project in PROJECTS.values():
        label = "com.docker.compose.project=%s" % project
        for c in api.containers(all=True, filters={"label": label}):
            api.remove_container(c["Id"], force=True, v=True)
        for net in api.networks(filters={"label": label}):
            api.remove_network(net["Id"])
        for vol in (api.volumes(filters={"label": label}) or {}).get("Volumes") or []:
            api.remove_volume(vol["Name"])


def bench(api, tools, repeat):
    OUT.joinpath("logs").mkdir(parents=True, exist_ok=True)
    results = {tool: {"converge": [], "nochange": []} for tool in tools}
    ids = {}
    for tool, cmd in tools.items():
        run = timed(cmd, OUT / "logs" / ("compose-%s-converge.log" % tool), TIMEOUT)
        ids[tool] = containers(api, PROJECTS[tool])
        results[tool]["converge"].append(run)
        print("  %-5s converge %6.2f s  cpu %5.2f s  load %4.1f -> %4.1f" % (
            tool, run["secs"], run["cpu_secs"], run["load_before"], run["load_after"]), flush=True)
    for rep in range(repeat):
        order = list(tools) if rep % 2 == 0 else list(reversed(tools))
        for tool in order:
            log = OUT / "logs" / ("compose-%s-nochange-r%d.log" % (tool, rep))
            run = timed(tools[tool], log, TIMEOUT)
            if containers(api, PROJECTS[tool]) != ids[tool]:
                raise SystemExit("(%s) the no-change run replaced containers, see %s" % (tool, log))
            if tool == "berth":  # ansible-playbook's own start-up + one trivial task, just after: Berth's floor
                floor = timed([tools["berth"][0], "bench/playbooks/floor.yml"], OUT / "logs" / "compose-floor.log",
                              TIMEOUT)
                run["floor_secs"], run["minus_floor_secs"] = floor["secs"], round(run["secs"] - floor["secs"], 2)
            results[tool]["nochange"].append(run)
            print("  r%d %-5s nochange %6.2f s  cpu %5.2f s  load %4.1f -> %4.1f" % (
                rep, tool, run["secs"], run["cpu_secs"], run["load_before"], run["load_after"]), flush=True)
    return results


def main():
    import docker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tools = commands()
    if "v1" not in tools and "v2" not in tools:
        raise SystemExit("neither docker-compose (apt-get install docker-compose) nor docker compose is installed")
    api = docker.APIClient(version="auto", timeout=120, **docker.utils.kwargs_from_env())
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    remove_projects(api)
    try:
        results = bench(api, tools, args.repeat)
    finally:
        remove_projects(api)
    summary = medians(results, ("secs", "cpu_secs"))
    summary["berth"]["nochange"]["minus_floor_secs"] = med(results["berth"]["nochange"], "minus_floor_secs")
    report = {"started": started, "ended": time.strftime("%Y-%m-%d %H:%M:%S"), "services": SERVICES,
              "tools": {t: " ".join(c) for t, c in tools.items()}, "runs": results, "medians": summary}
    (OUT / "compose.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    sys.exit(main())
