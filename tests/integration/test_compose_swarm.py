"""A Compose file deployed to a swarm by berth.engine.swarm_stack (private single-node swarm, observed
with the Docker SDK): services, overlay network, secret from a file and config from content."""
from __future__ import annotations

from pathlib import Path

from tests.support.ansible import module_helpers
from tests.support.swarm_daemon import swarm_fixture

swarm = swarm_fixture()
converge, ok, fails = module_helpers("berth.engine.swarm_stack")
COMPOSE = Path(__file__).resolve().parents[1] / "compose" / "swarm" / "compose.yaml"


def test_a_compose_file_becomes_a_swarm_stack_and_reruns_without_change(swarm, make_name):
    project = make_name().replace("berth-t-", "bt")[:30].rstrip("-")
    task = {"docker_host": swarm.host, "name": project, "compose_files": [str(COMPOSE)],
            "compose_env": {"WEB_PORT": "18290"}}
    first = ok(task)
    assert first["changed"] and first["failures"] == []
    assert "k3y-from-file" not in first["_stdout"] + first["_stderr"]
    services = {s.name: s for s in swarm.client.services.list(filters={"label": f"io.berth.swarm_stack={project}"})}
    assert sorted(services) == [f"{project}_web", f"{project}_worker"]
    web = services[f"{project}_web"].attrs["Spec"]
    assert web["EndpointSpec"]["Mode"] == "dnsrr"
    assert web["EndpointSpec"]["Ports"][0]["PublishMode"] == "host"
    assert web["EndpointSpec"]["Ports"][0]["PublishedPort"] == 18290
    assert web["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"] == 64 * 1024 * 1024
    assert web["UpdateConfig"]["FailureAction"] == "rollback"
    worker = services[f"{project}_worker"].attrs["Spec"]
    assert worker["Labels"]["tier"] == "background"
    assert "MODE=worker" in worker["TaskTemplate"]["ContainerSpec"]["Env"]
    networks = [n.name for n in swarm.client.networks.list(names=[f"{project}_default"])]
    assert networks == [f"{project}_default"]

    tasks = [t for t in swarm.client.api.tasks(filters={"service": f"{project}_worker", "desired-state": "running"})
             if t["Status"]["State"] == "running"]
    container = swarm.client.containers.get(tasks[0]["Status"]["ContainerStatus"]["ContainerID"])
    secret = container.exec_run(["cat", "/run/secrets/%s_api_key" % project])
    assert secret.exit_code == 0 and secret.output.decode() == "k3y-from-file\n"

    again = ok(task)
    assert not again["changed"], again["summary"]


def test_one_host_keys_and_the_routing_mesh_are_refused_before_any_change(swarm, make_name):
    project = make_name().replace("berth-t-", "bt")[:30].rstrip("-")
    msg = fails({"docker_host": swarm.host, "name": project,
                 "compose": {"services": {"web": {"image": "berth-test/http:v1", "build": "."}}}})
    assert "build only works on one host" in msg
    mesh = fails({"docker_host": swarm.host, "name": project,
                  "compose": {"services": {"web": {"image": "berth-test/http:v1", "ports": ["18291:8080"]}}}})
    assert "dnsrr" in mesh and "host" in mesh
    assert not swarm.client.services.list(filters={"label": f"io.berth.swarm_stack={project}"})
