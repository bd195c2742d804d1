"""Docker Compose v2 (2.40, from the Debian sid root) as the reference for Berth's Compose translation.

For every file in tests/compose/ `docker compose config --format json` and Berth's plan
(stack.with_compose, what the stack module deploys) are brought to one neutral form and compared
service by service: container names, image, command, environment after interpolation and env_file,
labels (the config-hash too), ports, mounts, networks, healthcheck, depends_on, restart and resources;
the swarm file against swarm_stack's translation (the names `docker stack deploy` gives). Then four
files are deployed by Berth and handed to Compose: `ps` lists Berth's containers, `logs` shows them,
`up -d` recreates nothing, `down` removes them.
The reference Compose missing is a failure, not a skip (tests/support/compose_reference.py).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.engine.plugins.module_utils.compose_swarm import load_swarm_project
from ansible_collections.berth.engine.plugins.module_utils.stack import with_compose
from ansible_collections.berth.engine.plugins.module_utils.stack_base import read_host_text
from tests.support.ansible import module_helpers
from tests.support.compose_reference import ComposeMissing, compose, compose_config, compose_version

converge, ok, fails = module_helpers("berth.engine.stack")
COMPOSE = Path(__file__).resolve().parents[1] / "compose"
SHOP_ENV = {"SHARED_NETWORK": "shop-shared-net", "UPLOADS_VOLUME": "shop-uploads-vol"}
# file -> the variables the run gives it (as compose_env, and in Compose's process environment)
CASES = {
    "shop/compose.yaml": SHOP_ENV,
    "workers/compose.yaml": {},
    "conformance/webapp/compose.yaml": {"POSTGRES_USER": "admin"},
    "conformance/queue/compose.yaml": {"QUEUE": "urgent"},
    "conformance/proxy/compose.yaml": {},
    "conformance/chain/compose.yaml": {},
    "conformance/gpu/compose.yaml": {},
}
DEPLOYED = ["conformance/webapp/compose.yaml", "conformance/queue/compose.yaml",
            "conformance/proxy/compose.yaml", "conformance/chain/compose.yaml"]
CONDITIONS = {"started": "service_started", "healthy": "service_healthy",
              "completed": "service_completed_successfully"}
RESTART = {None: "no", "": "no", "none": "no", "no": "no", "any": "always"}


@pytest.fixture(scope="module")
def reference():
    try:
        return compose_version()
    except ComposeMissing as err:
        pytest.fail(str(err))


# --- one neutral form for both sides ---------------------------------------------------------------

def size(value):
    if value is None:
        return None
    match = re.match(r"^([0-9.]+)\s*([kmgt]?)b?$", str(value).lower())
    return int(float(match.group(1)) * 1024 ** "_kmgt".index(match.group(2) or "_"))


def seconds(value):
    """A stop grace period in the container's whole seconds: Compose rounds down when it creates one (1500ms: 1)."""
    if value is None:
        return None
    parts = re.findall(r"([0-9.]+)(h|ms|m|s|us|ns)", str(value))
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    return int(round(sum(float(n) * scale[u] for n, u in parts), 3)) if parts else int(float(value))


def unescape(value):
    """`config` prints a literal $ as $$ so that its output loads again; the container gets one $."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return {k: unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape(v) for v in value]
    return value


def healthcheck(value):
    if not value:
        return None
    if value.get("disable"):
        return {"disable": True}
    test = value.get("test")
    result = {"test": ["CMD-SHELL", test] if isinstance(test, str) else list(test or []),
              "retries": value.get("retries")}
    result.update({k: seconds(value.get(k)) for k in ("interval", "timeout", "start_period")})
    return result


def device_request(item):
    return {"driver": item.get("driver") or "", "count": item.get("count") or 0,
            "device_ids": list(item.get("device_ids") or []), "capabilities": sorted(item.get("capabilities") or []),
            "options": dict(item.get("options") or {})}


def port(text_or_entry):
    if isinstance(text_or_entry, dict):
        e = text_or_entry
        return (e.get("host_ip") or "", str(e.get("published") or ""), int(e["target"]), e.get("protocol") or "tcp")
    text, _sep, protocol = str(text_or_entry).partition("/")
    parts = [""] * (3 - len(text.split(":"))) + text.split(":")
    return (parts[0], parts[1], int(parts[2]), protocol or "tcp")


def compose_names(project, name, service):
    if service.get("container_name"):
        return [service["container_name"]]
    count = service.get("scale") or (service.get("deploy") or {}).get("replicas") or 1
    return ["%s-%s-%d" % (project, name, n) for n in range(1, count + 1)]


def compose_mounts(config, service):
    mounts = []
    for volume in service.get("volumes") or []:
        source = volume.get("source")
        if volume["type"] == "volume" and source:
            source = config["volumes"][source]["name"]
        mounts.append((volume["type"], source or None, volume["target"], bool(volume.get("read_only"))))
    for kind in ("secrets", "configs"):
        for ref in service.get(kind) or []:
            mounts.append(("bind", config[kind][ref["source"]]["file"], ref["target"], True))
    return sorted(mounts, key=str)


def compose_restart(service):
    policy = (service.get("deploy") or {}).get("restart_policy")
    if policy is not None:
        condition = policy.get("condition")
        return RESTART.get(condition, condition), policy.get("max_attempts") or 0
    name, _sep, retries = (service.get("restart") or "no").partition(":")
    return name, int(retries or 0)


def from_compose(config, name, service):
    """One service of `docker compose config` in the neutral form."""
    service = unescape(service)
    project = config["name"]
    deploy = service.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    reservations = (deploy.get("resources") or {}).get("reservations") or {}
    mode = service.get("network_mode")
    if mode and mode.startswith("service:"):
        target = mode[len("service:"):]
        mode = "container:" + compose_names(project, target, config["services"][target])[0]
    volumes_from = []
    for entry in service.get("volumes_from") or []:
        source, sep, access = entry.partition(":")
        volumes_from.append(entry[len("container:"):] if entry.startswith("container:") else
                            compose_names(project, source, config["services"][source])[0] + sep + access)
    return {
        "image": service.get("image") or "%s-%s" % (project, name),
        "command": service.get("command"), "entrypoint": service.get("entrypoint"),
        "env": {k: v for k, v in (service.get("environment") or {}).items() if v is not None},
        "labels": service.get("labels") or {},
        "ports": sorted(port(p) for p in service.get("ports") or []),
        "mounts": compose_mounts(config, service), "tmpfs": service.get("tmpfs") or [],
        "networks": None if mode else {
            config["networks"][n]["name"]: (sorted((o or {}).get("aliases") or []), (o or {}).get("ipv4_address"))
            for n, o in (service.get("networks") or {}).items()},
        "network_mode": mode, "volumes_from": volumes_from,
        "depends_on": {d: o["condition"] for d, o in (service.get("depends_on") or {}).items()},
        "restart": compose_restart(service), "healthcheck": healthcheck(service.get("healthcheck")),
        "memory": size(service.get("mem_limit") or limits.get("memory")),
        "memory_reservation": size(service.get("mem_reservation") or reservations.get("memory")),
        "memory_swap": size(service.get("memswap_limit")),
        "cpus": service.get("cpus") or (float(limits["cpus"]) if limits.get("cpus") else None),
        "cpu_shares": service.get("cpu_shares"), "pids_limit": service.get("pids_limit") or limits.get("pids"),
        "device_requests": [device_request(d) for d in reservations.get("devices") or []],
        "extra_hosts": sorted(h.replace("=", ":", 1) for h in service.get("extra_hosts") or []),
        "stop_timeout": seconds(service.get("stop_grace_period")),
        "log": ((service.get("logging") or {}).get("driver"), (service.get("logging") or {}).get("options") or {}),
        **{k: service.get(k) for k in ("user", "working_dir", "init", "hostname", "read_only", "stop_signal")},
    }


def from_berth(entry, services_of):
    """One of Berth's container entries in the neutral form."""
    dependencies = {}
    for container in entry.get("depends_on") or []:
        service, state = services_of[container]
        dependencies[service] = CONDITIONS[state]
    return {
        "image": entry["image"], "command": entry.get("command"), "entrypoint": entry.get("entrypoint"),
        "env": entry.get("env") or {},
        "labels": {k: v for k, v in entry["labels"].items() if not k.startswith("com.docker.compose.")},
        "ports": sorted(port(p) for p in entry.get("ports") or []),
        "mounts": sorted(((m["type"], m["source"], m["target"], m["read_only"]) for m in entry.get("mounts") or []),
                         key=str),
        "tmpfs": entry.get("tmpfs") or [],
        "networks": None if entry.get("network_mode") else {
            n["name"]: (sorted(a for a in n["aliases"] if a != entry["labels"]["com.docker.compose.service"]),
                        n.get("ipv4_address")) for n in entry["networks"]},
        "network_mode": entry.get("network_mode"), "volumes_from": entry.get("volumes_from") or [],
        "depends_on": dependencies,
        "restart": (entry.get("restart_policy") or "no", entry.get("restart_retries") or 0),
        "healthcheck": healthcheck(entry.get("healthcheck")),
        **{k: size(entry.get(k)) for k in ("memory", "memory_reservation", "memory_swap")},
        "cpus": entry.get("cpus"), "cpu_shares": entry.get("cpu_shares"), "pids_limit": entry.get("pids_limit"),
        "device_requests": [device_request(d) for d in entry.get("device_requests") or []],
        "extra_hosts": sorted(entry.get("extra_hosts") or []),
        # Compose's stop_grace_period is the container option of that name (Berth's stop_timeout elsewhere).
        "stop_timeout": seconds(entry.get("stop_grace_period", entry.get("stop_timeout"))),
        "log": (entry.get("log_driver"), entry.get("log_options") or {}),
        **{k: entry.get(k) for k in ("user", "working_dir", "init", "hostname", "read_only", "stop_signal")},
    }


def up_hash(service):
    """The config-hash `docker compose up` gives a container: SHA-256 of the service as Go's JSON encoder
    writes it (compact; <, >, & escaped), without build, pull_policy, scale, deploy.replicas, depends_on,
    profiles. (`config --hash` is not it: it hashes before env_file is folded into environment.)"""
    service = unescape({k: v for k, v in service.items()
                        if k not in ("build", "pull_policy", "scale", "depends_on", "profiles")})
    if "deploy" in service:
        service["deploy"] = {k: v for k, v in service["deploy"].items() if k != "replicas"}
    text = json.dumps(service, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return hashlib.sha256(text.encode()).hexdigest()


def berth_plan(path, project, env):
    """What the stack module deploys for this file (its own translation entry point)."""
    documents = list(yaml.safe_load_all(path.read_text()))
    return with_compose({"name": project, "compose": documents, "project_directory": str(path.parent),
                         "compose_env": env, "compose_files": [str(path)]})


# --- the translation against `docker compose config` -----------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_berth_plans_what_compose_resolves(reference, case):
    path, env = COMPOSE / case, CASES[case]
    project = "conf-" + case.split("/")[-2]
    config = compose_config(project, path.parent, [path], env=env)
    hashes = {name: up_hash(service) for name, service in config["services"].items()}
    plan = berth_plan(path, project, env)
    assert plan["name"] == config["name"] == project

    berth = {c["name"]: c for c in plan["containers"]}
    services_of = {n: (c["labels"]["com.docker.compose.service"], c["state"]) for n, c in berth.items()}
    expected_names = [n for s, svc in config["services"].items() for n in compose_names(project, s, svc)]
    assert sorted(berth) == sorted(expected_names)
    for service_name, service in config["services"].items():
        expected = from_compose(config, service_name, service)
        for number, container in enumerate(compose_names(project, service_name, service), 1):
            entry = berth[container]
            assert from_berth(entry, services_of) == expected, (case, container)
            assert {k: v for k, v in entry["labels"].items() if k.startswith("com.docker.compose.")} == {
                "com.docker.compose.project": project, "com.docker.compose.service": service_name,
                "com.docker.compose.container-number": str(number), "com.docker.compose.oneoff": "False",
                "com.docker.compose.project.working_dir": str(path.parent),
                "com.docker.compose.project.config_files": str(path),
                "com.docker.compose.config-hash": hashes[service_name]}

    used = {n for svc in config["services"].values() if not svc.get("network_mode") for n in svc.get("networks") or {}}
    made = {n["name"]: n for n in plan["networks"]}
    assert sorted(made) == sorted(config["networks"][n]["name"] for n in used
                                  if not config["networks"][n].get("external"))
    for key, network in config["networks"].items():
        if key in used and not network.get("external"):
            assert made[network["name"]]["labels"] == dict(
                network.get("labels") or {}, **{"com.docker.compose.project": project,
                                                "com.docker.compose.network": key})
            assert bool(made[network["name"]].get("internal")) == bool(network.get("internal"))
    volumes = {v["name"]: v for v in plan["volumes"]}
    assert sorted(volumes) == sorted(v["name"] for v in (config.get("volumes") or {}).values()
                                     if not v.get("external"))
    for key, volume in (config.get("volumes") or {}).items():
        if not volume.get("external"):
            assert volumes[volume["name"]]["labels"] == dict(
                volume.get("labels") or {}, **{"com.docker.compose.project": project,
                                               "com.docker.compose.volume": key})


# --- Berth deploys, Compose treats the project as its own ------------------------------------------

@pytest.fixture
def deployed(unique_name, reference, docker_client, cleanup, test_images):
    """Each deployable file converged by Berth under one unique project name each."""
    projects = []

    def sweep():
        for project, _path in projects:
            owned = {"label": f"com.docker.compose.project={project}"}
            for container in docker_client.containers.list(all=True, filters=owned):
                container.remove(force=True)
            for network in docker_client.networks.list(filters=owned):
                network.remove()
            for volume in docker_client.volumes.list(filters=owned):
                volume.remove(force=True)

    cleanup.callback(sweep)
    for case in DEPLOYED:
        path = COMPOSE / case
        project = re.sub(r"[^a-z0-9_-]", "", "bt%s-%s" % (unique_name.lower()[-6:], case.split("/")[-2]))
        projects.append((project, path))
        ok({"name": project, "compose_files": [str(path)], "compose_env": CASES[case], "parallel": 4})
    return projects


def compose_ps(project, path):
    out = compose(project, path.parent, [path], "ps", "--all", "--format", "json").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    rows = rows[0] if len(rows) == 1 and isinstance(rows[0], list) else rows
    return {row["Name"]: row for row in rows}


def engine_sees_the_translated_options(docker_client, by_case):
    """The keys Compose 2.40 showed Berth translating differently, as the engine holds them."""
    webapp, queue = by_case["webapp"][0], by_case["queue"][0]
    api = docker_client.containers.get(f"{webapp}-api-1").attrs
    env = dict(e.split("=", 1) for e in api["Config"]["Env"])
    assert env["DATA_DIR"] == "/srv/api/data" and env["LOG_TARGET"] == "info-file" and env["LITERAL"] == "${BASE}"
    host = api["HostConfig"]
    assert (host["Memory"], host["MemoryReservation"], host["NanoCpus"], host["CpuShares"]) == (
        64 << 20, 32 << 20, 500_000_000, 512)
    db_env = docker_client.containers.get(f"{webapp}-db-1").attrs["Config"]["Env"]
    assert "POSTGRES_USER=admin" in db_env and "POSTGRES_DB=shopdb" in db_env
    worker = docker_client.containers.get(f"{queue}-worker-1").attrs["HostConfig"]
    assert worker["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (worker["NanoCpus"], worker["Memory"], worker["PidsLimit"]) == (250_000_000, 32 << 20, 64)
    broker = docker_client.containers.get(f"{queue}-broker-1")
    scheduler = docker_client.containers.get(f"{queue}-scheduler-1").attrs
    assert scheduler["HostConfig"]["NetworkMode"] == f"container:{broker.id}"
    reporter = docker_client.containers.get(f"{queue}-reporter-1").attrs
    assert reporter["HostConfig"]["VolumesFrom"] == [f"{queue}-worker-1:ro"]
    assert reporter["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert any(m["Destination"] == "/spool" for m in reporter["Mounts"])


def test_compose_ps_logs_and_down_treat_berths_deployment_as_their_own(deployed, docker_client):
    for project, path in deployed:
        owned = {c.name: c for c in docker_client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"})}
        listed = compose_ps(project, path)
        assert sorted(listed) == sorted(owned), project
        for name, row in listed.items():
            assert row["Service"] == owned[name].labels["com.docker.compose.service"]
            assert row["State"] == owned[name].status
    by_case = {path.parent.name: (project, path) for project, path in deployed}
    engine_sees_the_translated_options(docker_client, by_case)
    project, path = by_case["webapp"]
    assert "db-ready" in compose(project, path.parent, [path], "logs", "db").stdout
    project, path = by_case["chain"]
    logs = compose(project, path.parent, [path], "logs", "--no-log-prefix").stdout
    assert "init-done" in logs and "app-started" in logs
    project, path = by_case["queue"]
    assert compose(project, path.parent, [path], "logs", "worker").stdout.count("worker-up") == 2

    for project, path in deployed:
        before = {c.name: c.id for c in docker_client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"})}
        env = CASES[str(path.relative_to(COMPOSE))]
        up = compose(project, path.parent, [path], "up", "--detach", "--wait", "--wait-timeout", "60", env=env)
        after = {c.name: c.id for c in docker_client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"})}
        # Deliberate difference (README): Compose hashes network_mode service:X and volumes_from X with the ID
        # of X's container, which the translation cannot know; `up` recreates those containers once.
        config = compose_config(project, path.parent, [path], env=env)
        by_id = {n for s, svc in config["services"].items() if svc.get("volumes_from") or
                 str(svc.get("network_mode")).startswith("service:") for n in compose_names(project, s, svc)}
        assert sorted(after) == sorted(before), (project, up.stderr)  # nothing added, nothing removed
        assert {n: i for n, i in after.items() if n not in by_id} == \
            {n: i for n, i in before.items() if n not in by_id}, (project, up.stderr)  # nothing recreated

    for project, path in deployed:
        compose(project, path.parent, [path], "down", "--volumes", "--timeout", "1")
        owned = {"label": f"com.docker.compose.project={project}"}
        assert docker_client.containers.list(all=True, filters=owned) == [], project
        assert docker_client.networks.list(filters=owned) == [], project
        assert docker_client.volumes.list(filters=owned) == [], project


def test_the_swarm_file_resolves_as_compose_resolves_it(reference):
    """tests/compose/swarm is for swarm_stack (`docker stack deploy`'s names): what both read from it agrees."""
    path = COMPOSE / "swarm" / "compose.yaml"
    config = compose_config("conf-swarm", path.parent, [path])
    documents = list(yaml.safe_load_all(path.read_text()))
    plan = load_swarm_project(documents, name="conf-swarm", directory=str(path.parent), read_text=read_host_text)
    services = {s["name"]: s for s in plan["services"]}
    assert sorted(services) == sorted("conf-swarm_%s" % name for name in config["services"])
    for name, service in config["services"].items():
        entry, deploy = services["conf-swarm_%s" % name], service.get("deploy") or {}
        assert entry["image"] == service["image"] and entry.get("args") == service.get("command")
        assert entry.get("env", {}) == (service.get("environment") or {})
        assert entry.get("replicas") == deploy.get("replicas") and entry.get("labels") == deploy.get("labels")
        assert entry.get("endpoint_mode") == deploy.get("endpoint_mode")
        limits = ((deploy.get("resources") or {}).get("limits") or {})
        assert size((entry.get("limits") or {}).get("memory")) == size(limits.get("memory"))
        assert [(p["target"], str(p.get("published", "")), p["publish_mode"], p["protocol"])
                for p in entry.get("ports") or []] == [
            (p["target"], p.get("published", ""), p["mode"], p["protocol"]) for p in service.get("ports") or []]
        assert [n["name"] for n in entry["networks"]] == [config["networks"][n]["name"] for n in service["networks"]]
        for kind in ("secrets", "configs"):
            assert [r["name"] for r in entry.get(kind) or []] == [
                config[kind][r["source"]]["name"] for r in service.get(kind) or []]
    assert sorted(s["name"] for s in plan["secrets"]) == sorted(s["name"] for s in config["secrets"].values())
    assert sorted(c["name"] for c in plan["configs"]) == sorted(c["name"] for c in config["configs"].values())
