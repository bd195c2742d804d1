#!/usr/bin/env python
"""Berth benchmark (issue 4): converge N containers four ways, on this machine, in one session.

  (a) community.docker.docker_container in a loop   (bench venv: PyPI `ansible`, its own collection)
  (b) berth.engine.container in a loop               (project venv)
  (c) one berth.engine.stack task                    (project venv)
  (d) the Docker SDK for Python, sequential          (the floor: create+start / inspect+compare)

Each variant, each repeat, from nothing: first converge, no-change rerun (must report changed=0), rerun
with one container's env changed. Variants are interleaved per repeat to spread the noise of a shared host.

  bench.py run --n 50 --repeat 3   -> bench/out/n50.json, logs in bench/out/logs/ (--variants c --label X:
                                      a partial run of other code, kept beside it as n50-X.json)
  bench.py floor                   -> bench/out/floor.json: ansible-playbook's own cost, one trivial task
  bench.py report                  -> bench/RESULTS.md from bench/out/*.json (+ bench/NOTES.md)
  bench.py sdk VARS PHASE          -> internal: variant (d) as its own process, timed like the others

Run it through bench/run.sh (it makes the bench venv). Everything it creates is named berth-bench-*.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
BENCH_VENV = Path(os.environ.get("BERTH_BENCH_VENV", ROOT / ".cache" / "bench-venv"))
PROJECT_VENV = ROOT / ".venv"

PREFIX = "berth-bench-"
NETWORK = PREFIX + "net"
IMAGE = "berth-test/busybox:latest"
LABEL = "io.berth.bench"
STOP_TIMEOUT = 1  # the image traps TERM, so stops are quick anyway; same for every variant
PHASES = ("converge", "nochange", "change")
VARIANTS = {
    "a": ("community.docker loop", [str(BENCH_VENV / "bin" / "ansible-playbook"), "bench/playbooks/community.yml"]),
    "b": ("berth.engine.container loop", [str(PROJECT_VENV / "bin" / "ansible-playbook"),
                                          "bench/playbooks/container.yml"]),
    "c": ("berth.engine.stack", [str(PROJECT_VENV / "bin" / "ansible-playbook"), "bench/playbooks/stack.yml"]),
    "d": ("Docker SDK sequential", [sys.executable, str(Path(__file__).resolve()), "sdk"]),
}
SAMPLE_SECONDS = 0.05


class BenchError(Exception):
    pass


# --- the scenario ---------------------------------------------------------------------------------------

def scenario(n, port_base, phase):
    """The declared containers; in phase `change` the middle one gets a different env value."""
    changed = n // 2
    return {
        "bench_network": NETWORK,
        "bench_containers": [{
            "name": "%s%03d" % (PREFIX, i),
            "image": IMAGE,
            "ports": ["127.0.0.1:%d:8080" % (port_base + i)],
            "env": {"BENCH_ROLE": "worker", "BENCH_VALUE": "v2" if phase == "change" and i == changed else "v1"},
            "labels": {LABEL: "1"},
            "restart_policy": "unless-stopped",
            "networks": [{"name": NETWORK}],
            "stop_timeout": STOP_TIMEOUT,
            "state": "started",
        } for i in range(n)],
    }


def free_port_base(n):
    """A range of n host ports on 127.0.0.1 that nothing listens on now."""
    for base in range(42000, 64000 - n, 1000):
        try:
            for port in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise BenchError("no free range of %d ports on 127.0.0.1" % n)


# --- measuring a process tree ---------------------------------------------------------------------------

def measure(cmd, log_path, timeout, env=None):
    """Run cmd (cwd = repo); wall time and the peak over 50 ms samples of the summed RSS and PSS of its
    whole process tree (ansible forks workers and module processes; RSS counts shared pages in each
    process, PSS splits them, so PSS is the fairer sum and RSS the upper bound)."""
    import psutil

    cpu_before = children_cpu()
    host_before = host_cpu()
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        peak = {"rss": 0, "pss": 0}
        done = threading.Event()

        def sample():
            root = psutil.Process(proc.pid)
            while not done.is_set():
                rss = pss = 0
                try:
                    tree = [root] + root.children(recursive=True)
                except psutil.Error:
                    break
                for p in tree:
                    try:
                        mem = p.memory_full_info()
                        rss, pss = rss + mem.rss, pss + mem.pss
                    except psutil.Error:
                        pass  # ended between listing and reading
                peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise BenchError("%s: timed out after %ss, see %s" % (" ".join(cmd), timeout, log_path)) from None
        finally:
            done.set()
            sampler.join()
        secs = time.perf_counter() - start
    idle, busy = (b - a for a, b in zip(host_before, host_cpu()))
    return dict(secs=round(secs, 3), cpu_secs=round(children_cpu() - cpu_before, 2),
                host_busy=round(busy / max(1, idle + busy), 2),
                rss_mib=round(peak["rss"] / 2**20, 1), pss_mib=round(peak["pss"] / 2**20, 1),
                rc=rc, output=Path(log_path).read_text(errors="replace"))


def children_cpu():
    """User+system CPU seconds of all reaped descendants (ansible waits for its workers and modules)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd, log_path, timeout, env=None):
    """Run cmd (cwd = repo, output in log_path) for the bench scripts beside this one: wall and user+sys
    CPU seconds of its whole (reaped) process tree and the load average around it, without measure()'s
    memory sampling. A failed command ends the script (SystemExit) naming its log."""
    load_before = os.getloadavg()[0]
    cpu, start = children_cpu(), time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run(cmd, cwd=ROOT, env=env or ansible_env(), stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s failed (exit %s), see %s" % (" ".join(cmd), proc.returncode, log_path))
    return dict(secs=round(time.perf_counter() - start, 2), cpu_secs=round(children_cpu() - cpu, 2),
                load_before=round(load_before, 1), load_after=round(os.getloadavg()[0], 1))


def host_cpu():
    """(idle, busy) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:9]]
    idle = fields[3] + fields[4]
    return idle, sum(fields) - idle


def wait_quiet(budget):
    """Other people's test runs share this machine: before a measured run, wait (within a total budget of
    seconds, env BENCH_QUIET_BUDGET) until the host is at least BENCH_QUIET_IDLE % idle over one second."""
    want = float(os.environ.get("BENCH_QUIET_IDLE", "60")) / 100
    while True:
        before = host_cpu()
        time.sleep(1)
        idle, busy = (b - a for a, b in zip(before, host_cpu()))
        share = idle / max(1, idle + busy)
        if share >= want or budget["left"] <= 0:
            return round(share, 2)
        budget["left"] -= 1


def recap_changed(variant, phase, run, log_path):
    """changed= count from the PLAY RECAP (ansible) or the SDK process's last line; fail loudly."""
    out = run["output"]
    if run["rc"] != 0:
        raise BenchError("(%s) %s: exit %s, see %s" % (variant, phase, run["rc"], log_path))
    if variant == "d":
        return json.loads(out.strip().splitlines()[-1])["changed"]
    m = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    if not m or m.group(2) != "0" or m.group(3) != "0":
        raise BenchError("(%s) %s: no clean PLAY RECAP, see %s" % (variant, phase, log_path))
    return int(m.group(1))


# --- the engine: checks and clean-up (only berth-bench-* objects) ---------------------------------------

class Engine:
    def __init__(self):
        import docker

        self.api = docker.APIClient(version="auto", timeout=120, **docker.utils.kwargs_from_env())
        self.volumes_file = OUT / "volumes.json"  # anonymous volumes of our containers, kept across aborts
        self.volumes = set(json.loads(self.volumes_file.read_text())) if self.volumes_file.exists() else set()

    def ours(self):
        found = self.api.containers(all=True, filters={"name": PREFIX})
        found = [c for c in found if c["Names"][0].lstrip("/").startswith(PREFIX)]
        for c in found:  # remember anonymous volumes: some modules keep them when they recreate
            self.volumes.update(m["Name"] for m in c.get("Mounts") or [] if m.get("Type") == "volume")
        self.volumes_file.write_text(json.dumps(sorted(self.volumes)))
        return found

    def snapshot(self, spec):
        """{name: id}; checks that exactly the declared containers exist and run."""
        found = {c["Names"][0].lstrip("/"): c for c in self.ours()}
        want = {c["name"] for c in spec["bench_containers"]}
        if set(found) != want:
            raise BenchError("containers differ from the declared set: extra %s, missing %s"
                             % (sorted(set(found) - want)[:5], sorted(want - set(found))[:5]))
        stopped = [n for n, c in found.items() if c["State"] != "running"]
        if stopped:
            raise BenchError("not running: %s" % stopped[:5])
        return {n: c["Id"] for n, c in found.items()}

    def check_phase(self, phase, spec, before, after):
        if phase == "nochange" and before != after:
            raise BenchError("no-change run replaced containers: %s" % [n for n in after if before[n] != after[n]])
        if phase == "change":
            replaced = [n for n in after if before[n] != after[n]]
            target = spec["bench_containers"][len(spec["bench_containers"]) // 2]
            env = self.api.inspect_container(target["name"])["Config"]["Env"]
            if "BENCH_VALUE=v2" not in env or replaced not in ([], [target["name"]]):
                raise BenchError("change run: replaced %s, env of %s is %s" % (replaced, target["name"], env))

    def cleanup(self):
        import docker.errors

        for c in self.ours():
            self.api.remove_container(c["Id"], force=True, v=True)
        for name in sorted(self.volumes):
            try:
                self.api.remove_volume(name)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as err:
                print("  warning: volume %s not removed: %s" % (name[:12], err), file=sys.stderr)
                continue
            self.volumes.discard(name)
        self.volumes_file.write_text(json.dumps(sorted(self.volumes)))
        if self.api.networks(names=[NETWORK]):
            for net in self.api.networks(names=[NETWORK]):
                if net["Name"] == NETWORK:
                    self.api.remove_network(net["Id"])


# --- variant (d): the Docker SDK floor, run as its own process ------------------------------------------

def sdk_matches(actual, want):
    """The same comparison the modules do for the options this scenario sets."""
    config, host = actual["Config"], actual["HostConfig"]
    port = want["ports"][0].split(":")
    return (config["Image"] == want["image"]
            and all("%s=%s" % kv in config["Env"] for kv in want["env"].items())
            and all(config["Labels"].get(k) == v for k, v in want["labels"].items())
            and host["PortBindings"] == {"8080/tcp": [{"HostIp": port[0], "HostPort": port[1]}]}
            and host["RestartPolicy"]["Name"] == want["restart_policy"]
            and config.get("StopTimeout") == want["stop_timeout"]
            and set(actual["NetworkSettings"]["Networks"]) == {n["name"] for n in want["networks"]}
            and actual["State"]["Running"])


def sdk_main(vars_path, phase):
    import docker

    spec = json.loads(Path(vars_path).read_text())
    api = docker.APIClient(version="auto", **docker.utils.kwargs_from_env())
    net = spec["bench_network"]
    changed = 0
    if not [n for n in api.networks(names=[net]) if n["Name"] == net]:
        api.create_network(net)
    for want in spec["bench_containers"]:
        if phase != "converge":  # the first converge knows nothing exists: create+start only
            actual = api.inspect_container(want["name"])
            if sdk_matches(actual, want):
                continue
            api.stop(actual["Id"], timeout=want["stop_timeout"])
            api.remove_container(actual["Id"], v=True)
        host_ip, host_port, _unused = want["ports"][0].split(":")
        created = api.create_container(
            want["image"], name=want["name"], environment=want["env"], labels=want["labels"], ports=[8080],
            stop_timeout=want["stop_timeout"],
            host_config=api.create_host_config(port_bindings={8080: (host_ip, int(host_port))},
                                               restart_policy={"Name": want["restart_policy"]}, network_mode=net),
            networking_config=api.create_networking_config({net: api.create_endpoint_config()}))
        api.start(created["Id"])
        changed += 1
    print(json.dumps({"changed": changed}))


# --- the run --------------------------------------------------------------------------------------------

def ansible_env():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("BERTH_DEBUG_CALLS", None)
    return env


def run_variant(engine, variant, n, port_base, rep, timeout, budget, probes):
    results = {}
    before = None
    for phase in PHASES:
        spec = scenario(n, port_base, phase)
        vars_path = OUT / ("vars-n%d-%s.json" % (n, phase))
        vars_path.write_text(json.dumps(spec))
        cmd = VARIANTS[variant][1] + ([str(vars_path), phase] if variant == "d" else ["-e", "@" + str(vars_path)])
        log_path = OUT / "logs" / ("n%d-%s-%s-r%d.log" % (n, variant, phase, rep))
        idle = wait_quiet(budget)
        run = measure(cmd, log_path, timeout, ansible_env())
        run["host_idle_before"] = idle
        changed = recap_changed(variant, phase, run, log_path)
        if phase == "nochange" and changed != 0:
            raise BenchError("(%s) is not idempotent: the no-change rerun reported changed=%d, see %s"
                             % (variant, changed, log_path))
        if phase != "nochange" and changed == 0:
            raise BenchError("(%s) %s reported no change, see %s" % (variant, phase, log_path))
        after = engine.snapshot(spec)
        if before is not None:
            engine.check_phase(phase, spec, before, after)
        before = after
        run.pop("output")
        results[phase] = run
        print("  (%s) %-8s %7.2f s  cpu %6.2f s  peak RSS %6.1f MiB  PSS %6.1f MiB  host idle before %3.0f%%, "
              "busy during %3.0f%%" % (variant, phase, run["secs"], run["cpu_secs"], run["rss_mib"], run["pss_mib"],
                                       idle * 100, run["host_busy"] * 100), flush=True)
    if rep == 0 and variant in "abc":  # untimed probes on the converged host (state: the `change` values)
        spec = scenario(n, port_base, "change")
        if variant in "bc":
            probes.update(probe_api_calls(variant, n))
        probes["payload_" + variant] = probe_payload(variant, spec)
    return results


def probe_api_calls(variant, n):
    """With BERTH_DEBUG_CALLS=1, how many Engine API calls a no-change run makes."""
    kind = "container" if variant == "b" else "stack"
    out_path = OUT / ("probe-n%d-%s.json" % (n, kind))
    cmd = [str(PROJECT_VENV / "bin" / "ansible-playbook"), "bench/playbooks/probe.yml",
           "-e", "@%s" % (OUT / ("vars-n%d-change.json" % n)), "-e", "probe_kind=%s probe_out=%s" % (kind, out_path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(ansible_env(), BERTH_DEBUG_CALLS="1"), capture_output=True,
                          text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise BenchError("probe %s failed:\n%s" % (kind, proc.stdout[-3000:]))
    found = json.loads(out_path.read_text())
    if any(found["container_changed"]) or found["stack_changed"]:
        raise BenchError("probe %s: a no-change run changed something: %s" % (kind, found))
    return {kind + "_api_calls": found[kind]}


def probe_payload(variant, spec, times=5):
    """The module process alone, without the controller: keep the AnsiballZ payload of one no-change run
    (one container for a and b, the whole stack for c) and time it run by itself; -X importtime of it
    tells how much of that is imports (modules are imported from the payload's zip, never from a .pyc)."""
    first = dict(spec["bench_containers"][0])
    if variant == "a":
        venv, module = BENCH_VENV, "community.docker.docker_container"
        first["published_ports"] = first.pop("ports")
    else:
        venv, module = PROJECT_VENV, "berth.engine.container"
    args = first
    if variant == "c":
        module = "berth.engine.stack"
        args = {"name": "berth-bench", "networks": [{"name": NETWORK}], "containers": spec["bench_containers"]}
    tmp = OUT / "tmp" / variant
    shutil.rmtree(tmp, ignore_errors=True)
    env = dict(ansible_env(), ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(tmp))
    proc = subprocess.run([str(venv / "bin" / "ansible"), "localhost", "-m", module, "-a", json.dumps(args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 or "SUCCESS" not in proc.stdout.split("\n", 1)[0]:
        raise BenchError("payload probe (%s) did not run clean and unchanged:\n%s" % (variant, proc.stdout[-2000:]))
    payload = str(next(tmp.glob("*/AnsiballZ_*.py")))
    python = str(venv / "bin" / "python")
    walls, cpus = [], []
    for _unused in range(times):
        cpu, start = children_cpu(), time.perf_counter()
        done = subprocess.run([python, payload], capture_output=True, text=True, timeout=600, check=False)
        walls.append(time.perf_counter() - start)
        cpus.append(children_cpu() - cpu)
        if json.loads(done.stdout).get("changed") is not False:
            raise BenchError("payload probe (%s) changed something: %s" % (variant, done.stdout[-500:]))
    imports = subprocess.run([python, "-X", "importtime", payload], capture_output=True, text=True, check=False).stderr
    top = [line.split("|") for line in imports.splitlines() if line.startswith("import time:")]
    import_us = sum(int(cum) for _unused, cum, name in (t for t in top if len(t) == 3 and not t[2].startswith("  "))
                    if cum.strip().isdigit())
    shutil.rmtree(tmp, ignore_errors=True)
    return dict(module=module, wall_ms=round(statistics.median(walls) * 1000),
                cpu_ms=round(statistics.median(cpus) * 1000), import_ms=round(import_us / 1000))


def cmd_floor(args, times=5):
    """ansible-playbook with one trivial task: the start-up every ansible variant pays once per run."""
    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    cmd = [str(PROJECT_VENV / "bin" / "ansible-playbook"), "bench/playbooks/floor.yml"]
    runs = [measure(cmd, OUT / "logs" / "floor.log", 300, ansible_env()) for _unused in range(times)]
    floor = dict(secs=med(runs), cpu_secs=med(runs, "cpu_secs"), pss_mib=med(runs, "pss_mib"))
    (OUT / "floor.json").write_text(json.dumps(floor))
    print("ansible-playbook floor: %.2f s wall, %.2f s CPU, %.0f MiB PSS" % (
        floor["secs"], floor["cpu_secs"], floor["pss_mib"]))


def machine(engine):
    cpu = re.search(r"model name\s*: (.*)", Path("/proc/cpuinfo").read_text()).group(1)
    mem = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2**20
    version = engine.api.version()

    def core(venv):
        out = subprocess.run([str(venv / "bin" / "ansible"), "--version"], capture_output=True, text=True,
                             check=False).stdout
        return re.search(r"core ([\d.]+)", out).group(1)

    manifest = next(BENCH_VENV.glob("lib/python*/site-packages/ansible_collections/community/docker/MANIFEST.json"))
    community = json.loads(manifest.read_text())["collection_info"]["version"]
    return dict(cpu=cpu, cores=os.cpu_count(), ram_gib=round(mem, 1), kernel=platform.release(),
                docker="%s (API %s)" % (version["Version"], version["ApiVersion"]),
                project_core=core(PROJECT_VENV), bench_core=core(BENCH_VENV), community_docker=community,
                python=platform.python_version(), load_before=os.getloadavg()[0],
                date=time.strftime("%Y-%m-%d %H:%M %Z"))


def code_version():
    """The commit of the Berth code a variant ran, marked when plugins/ had uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted plugins/" if git("status", "--porcelain",
                                                                                   "plugins") else "")


def cmd_run(args):
    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    engine = Engine()
    engine.cleanup()
    port_base = free_port_base(args.n)
    timeout = 120 + 5 * args.n  # per phase; (a) needs ~1 s per container on a quiet host, 3.3 s on a loaded one
    budget = {"left": float(os.environ.get("BENCH_QUIET_BUDGET", "600"))}
    result = dict(n=args.n, repeat=args.repeat, machine=machine(engine), stop_timeout=STOP_TIMEOUT,
                  runs={v: {p: [] for p in PHASES} for v in args.variants}, probes={})
    result["label"], result["code"] = args.label, {}
    path = OUT / ("n%d%s.json" % (args.n, "-" + re.sub(r"\W+", "-", args.label) if args.label else ""))
    print("bench N=%d repeat=%d variants=%s ports 127.0.0.1:%d+" % (args.n, args.repeat, args.variants, port_base))
    try:
        for rep in range(args.repeat):
            for variant in args.variants:
                result["code"].setdefault(variant, code_version())
                runs = run_variant(engine, variant, args.n, port_base, rep, timeout, budget, result["probes"])
                for phase, run in runs.items():
                    result["runs"][variant][phase].append(run)
                engine.cleanup()
                result["machine"]["load_after"] = os.getloadavg()[0]
                path.write_text(json.dumps(result, indent=1))  # after each variant: a cut-short run still counts
    finally:
        engine.cleanup()
    print("wrote", path.relative_to(ROOT))


# --- the report -----------------------------------------------------------------------------------------

def med(runs, key="secs"):
    return statistics.median(r[key] for r in runs) if runs else None


def medians(results, keys):
    """{variant: {phase: {key: median}}} of {variant: {phase: [run, ...]}}."""
    return {v: {p: {k: med(runs, k) for k in keys} for p, runs in phases.items()} for v, phases in results.items()}


def fmt(x, unit=""):
    return "–" if x is None else ("%.2f%s" % (x, unit) if x < 10 else "%.1f%s" % (x, unit))


def complete(data):
    """The variants that have runs of every phase (a cut-short run has fewer)."""
    return {v: r for v, r in data["runs"].items() if all(r[p] for p in PHASES)}


def report_size(data):
    n, runs = data["n"], complete(data)
    done = min(len(r[p]) for r in runs.values() for p in PHASES)
    title = "N = %d%s" % (n, ", " + data["label"] if data.get("label") else "")
    lines = ["## %s (median of %d run%s per variant and phase)" % (title, done, "s" if done > 1 else ""), ""]
    if data.get("code"):
        lines += ["Berth code run: " + ", ".join("(%s) %s" % kv for kv in sorted(data["code"].items())) + ".", ""]
    lines += ["| variant | first converge | no-change rerun | one env change | no-change per item | "
              "CPU s (converge / no-change / change) | peak RSS sum | peak PSS sum |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for v, (label, _unused) in VARIANTS.items():
        if v not in runs:
            continue
        r = runs[v]
        per_item = med(r["nochange"]) / n * 1000
        peak = max(med(r[p], "rss_mib") for p in PHASES)
        peak_pss = max(med(r[p], "pss_mib") for p in PHASES)
        cpu = " / ".join(fmt(med(r[p], "cpu_secs")) for p in PHASES)
        lines.append("| (%s) %s | %s s | %s s | %s s | %.0f ms | %s | %.0f MiB | %.0f MiB |" % (
            v, label, fmt(med(r["converge"])), fmt(med(r["nochange"])), fmt(med(r["change"])), per_item, cpu,
            peak, peak_pss))
    lines += ["", "Speed-up against (a) (a's time / this time) and cost against the floor (d) (this time / d's time):",
              "", "| variant | converge vs (a) | no-change vs (a) | change vs (a) | converge vs (d) | "
              "no-change vs (d) | change vs (d) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for v, (label, _unused) in VARIANTS.items():
        if v not in runs:
            continue
        row = ["(%s) %s" % (v, label)]
        for ref, flip in (("a", True), ("d", False)):
            for p in PHASES:
                if ref not in runs:
                    row.append("–")
                    continue
                x, y = med(runs[v][p]), med(runs[ref][p])
                row.append("%.1fx" % ((y / x) if flip else (x / y)))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "CPU s is the user+system time of the command's own process tree (ansible-playbook, its workers and",
              "module processes; dockerd's work is not in it); other load on the host disturbs it far less than",
              "wall time."]
    payloads = [(v, data["probes"].get("payload_" + v)) for v in "abc"]
    if any(p for _unused, p in payloads):
        lines += ["", "The module process alone, no-change: its AnsiballZ payload run by itself (median of 5; imports",
                  "from -X importtime), and the CPU the loop spends per item on top of it (controller: templating,",
                  "worker fork, payload build, result handling):", "",
                  "| variant | module | wall | CPU | imports | loop CPU per item | controller CPU per item |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for v, p in payloads:
            if not p or v not in runs:
                continue
            per_item = med(runs[v]["nochange"], "cpu_secs") / n * 1000
            loop = "%.0f ms" % per_item if v in "ab" else "–"
            ctl = "%.0f ms" % (per_item - p["cpu_ms"]) if v in "ab" else "–"
            what = "1 container" if v in "ab" else "%d containers" % n
            lines.append("| (%s) | %s, %s | %d ms | %d ms | %d ms | %s | %s |" % (
                v, p["module"], what, p["wall_ms"], p["cpu_ms"], p["import_ms"], loop, ctl))
    raw = ["", "<details><summary>All runs: wall s (CPU s) [host idle before, host busy during]</summary>", ""]
    for v in runs:
        for p in PHASES:
            raw.append("- (%s) %s: %s" % (v, p, ", ".join(
                "%.2f (%.2f) [%d%%, %d%%]" % (r["secs"], r["cpu_secs"], r["host_idle_before"] * 100,
                                              r["host_busy"] * 100) for r in runs[v][p])))
    return lines + raw + ["", "</details>", ""]


def targets(data, main=None):
    """The issue's targets, judged on one size's medians; a labelled run missing (a), (b) or (d) borrows them
    from the main run of the same N."""
    r, n = complete(data), data["n"]
    borrowed = [v for v in "abd" if v not in r and main and v in complete(main)]
    r.update({v: complete(main)[v] for v in borrowed})
    if not all(v in r for v in "abcd"):
        return ["(targets need all four variants)"]
    m = {v: {p: med(r[v][p]) for p in PHASES} for v in r}
    cpu = {v: {p: med(r[v][p], "cpu_secs") for p in PHASES} for v in r}
    peak = {v: max(med(r[v][p], "pss_mib") for p in PHASES) for v in r}
    peak_rss = {v: max(med(r[v][p], "rss_mib") for p in PHASES) for v in r}
    budget = 2 + data["stop_timeout"]
    probes = dict(main["probes"] if main and "b" in borrowed else {}, **data["probes"])
    calls = probes.get("container_api_calls") or []
    rows = [
        ("stack no-change ≥ 20x faster than (a)", m["a"]["nochange"] / m["c"]["nochange"] >= 20,
         "%.1fx (%.2f s vs %.2f s)" % (m["a"]["nochange"] / m["c"]["nochange"], m["c"]["nochange"],
                                       m["a"]["nochange"])),
        ("stack first converge no slower than (d)", m["c"]["converge"] <= m["d"]["converge"],
         "%.2f s vs %.2f s" % (m["c"]["converge"], m["d"]["converge"])),
        ("stack one-container change ≤ 2 s + stop time (%d s)" % data["stop_timeout"], m["c"]["change"] <= budget,
         "%.2f s (budget %d s)" % (m["c"]["change"], budget)),
        ("stack peak memory ≤ (a)", peak["c"] <= peak["a"] and peak_rss["c"] <= peak_rss["a"],
         "PSS %.0f vs %.0f MiB, RSS %.0f vs %.0f MiB" % (peak["c"], peak["a"], peak_rss["c"], peak_rss["a"])),
        ("container module per item beats (a) (all phases; judged on CPU, wall may come from other hours)",
         all(cpu["b"][p] < cpu["a"][p] for p in PHASES),
         ", ".join("%s %.0f vs %.0f ms CPU (wall %.0f vs %.0f)" % (
             p, cpu["b"][p] / n * 1000, cpu["a"][p] / n * 1000, m["b"][p] / n * 1000, m["a"][p] / n * 1000)
             for p in PHASES)),
        ("container module memory ≤ (a)", peak["b"] <= peak["a"], "PSS %.0f vs %.0f MiB" % (peak["b"], peak["a"])),
        ("container module no-change: API calls per item (aim: 2, inspect container + image)",
         bool(calls) and max(calls) <= 2, "%s calls per item (sampled items)" % calls),
    ]
    title = "N=%d%s%s" % (n, ", " + data["label"] if data.get("label") else "",
                          "; (%s) from the main run" % ", ".join(borrowed) if borrowed else "")
    out = ["| target (%s) | met | measured |" % title, "|---|---|---|"]
    out += ["| %s | %s | %s |" % (t, "yes" if ok else "**no**", what) for t, ok, what in rows]
    stack_calls = data["probes"].get("stack_api_calls")
    if stack_calls is not None:
        out += ["", "Stack no-change run: %d Engine API calls for %d containers + 1 network (%.2f per container)."
                % (stack_calls, n, stack_calls / n)]
    return out


def cmd_report(args):
    sizes = sorted((json.loads(p.read_text()) for p in OUT.glob("n*.json")),
                   key=lambda d: (d["n"], d.get("label", "")))
    if not sizes:
        raise BenchError("no bench/out/n*.json: run `bench/run.sh` first")
    mach = sizes[0]["machine"]
    lines = [
        "# Berth benchmark results",
        "",
        "Generated by `bench/bench.py report` from the runs of `bench/run.sh` (`make bench`); do not edit by hand —",
        "the analysis lives in `bench/NOTES.md` and is appended below.",
        "",
        "Reproduce: `make bench` (or `bash bench/run.sh`; `BENCH_SIZES=\"50:3 200:1\"` sets N:repeats). It makes",
        "`.cache/bench-venv` with PyPI's `ansible` (for community.docker), then for each N, each repeat and each",
        "variant, from nothing: first converge, a no-change rerun (the run fails unless it reports changed=0 and",
        "keeps every container ID) and a rerun with one container's env changed (exactly that container replaced).",
        "Scenario: N containers of `%s` (default command: a `sleep` that traps TERM), each with one port" % IMAGE,
        "published on 127.0.0.1 (distinct host ports), two env vars, one label, restart policy unless-stopped,",
        "`stop_timeout: %d`, all on one user network. Times are wall-clock of the whole command" % STOP_TIMEOUT,
        "(`ansible-playbook`, or a Python process for (d)), start-up included. Memory: every 50 ms the RSS and PSS",
        "of the command's whole process tree are summed (psutil); the peak over the run is shown, as the median",
        "over repeats and the max over phases. RSS double-counts pages shared between forked ansible workers,",
        "PSS shares them out (the fairer number). `/usr/bin/time -v` would only give the largest single process.",
        "Sections with a label are extra, partial runs (`bench.py run --variants ... --label ...`), not made by",
        "`make bench`; their targets borrow the variants they lack from the unlabelled run of the same N.",
        "",
        "Machine: %s, %d cores, %.1f GiB RAM, kernel %s, Docker %s, ansible-core %s (Berth) / %s (bench venv, "
        "community.docker %s), Python %s; load average %.2f before, %.2f after; %s. The Docker daemon is shared "
        "with other users' test runs, so expect some noise." % (
            mach["cpu"], mach["cores"], mach["ram_gib"], mach["kernel"], mach["docker"], mach["project_core"],
            mach["bench_core"], mach["community_docker"], mach["python"], mach["load_before"],
            mach.get("load_after", 0), mach["date"]),
        "",
    ]
    floor = OUT / "floor.json"
    if floor.exists():
        f = json.loads(floor.read_text())
        lines += ["Floor of every ansible variant: `ansible-playbook` with one `ping` task takes %.2f s wall, "
                  "%.2f s CPU, %.0f MiB PSS (median of 5, `bench.py floor`)."
                  % (f["secs"], f["cpu_secs"], f["pss_mib"]), ""]
    for data in sizes:
        lines += report_size(data)
    lines += ["## Targets", ""]
    mains = {d["n"]: d for d in sizes if not d.get("label")}
    for data in sizes:
        lines += targets(data, mains.get(data["n"])) + [""]
    notes = BENCH / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    (BENCH / "RESULTS.md").write_text("\n".join(lines))
    print("wrote bench/RESULTS.md")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--n", type=int, default=50)
    run.add_argument("--repeat", type=int, default=None, help="default 3 for N<=50, else 1")
    run.add_argument("--variants", default="abcd")
    run.add_argument("--label", default="", help="a run of other code: kept as n<N>-<label>.json beside n<N>.json")
    sub.add_parser("report")
    sub.add_parser("floor")
    sdk = sub.add_parser("sdk")
    sdk.add_argument("vars")
    sdk.add_argument("phase", choices=PHASES)
    args = parser.parse_args()
    try:
        if args.cmd == "sdk":
            sdk_main(args.vars, args.phase)
        elif args.cmd == "report":
            cmd_report(args)
        elif args.cmd == "floor":
            cmd_floor(args)
        else:
            if args.repeat is None:
                args.repeat = 3 if args.n <= 50 else 1
            cmd_run(args)
    except BenchError as err:
        sys.exit("bench: FAILED: %s" % err)


if __name__ == "__main__":
    main()
