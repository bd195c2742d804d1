"""The cluster scenario: three Debian 12 hosts that site.yml made a 3-manager swarm.

Everything is observed through each host's own docker CLI. The workload is the stack converge.yml
deployed with berth.engine.swarm_stack (tasks/deploy_stack.yml): a replicated dnsrr service with a
host-mode port, a healthcheck, a secret and a config on an overlay network. The kernel of the test
machine has no IP_VS, so no VIP and no routing mesh. That no join token reaches a -vvv run of the
role is checked by the side effect (side_effect.yml, on its quorum guard run).
"""

import json
import os
import time

import pytest
import testinfra

SERVICE = "berth-verify-web"
NETWORK = "berth-verify"
PORT = 18081
PAGE = "berth-test http v1"
NODES = ("node1", "node2", "node3")


def other_host(name):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def docker_json(host, *args):
    return json.loads(host.check_output("docker " + " ".join(args)))


def fetch(host, url):
    """GET url on the host with its own python3 (the test hosts have no curl)."""
    script = "import urllib.request; print(urllib.request.urlopen('%s', timeout=5).read().decode().strip())" % url
    return host.check_output("python3 -c \"%s\"" % script)


def test_node_is_a_ready_manager_with_its_labels(host, host_vars):
    node = docker_json(host, "node", "inspect", "self")[0]
    assert node["Status"]["State"] == "ready"
    assert node["Spec"]["Role"] == "manager" and node["ManagerStatus"]["Reachability"] == "reachable"
    labels = node["Spec"]["Labels"]
    for key, value in host_vars["berth_swarm_node_labels"].items():
        assert labels[key] == value
    ip_vs = host.file("/proc/net/ip_vs").exists
    assert labels["io.berth.kernel.ip_vs"] == ("true" if ip_vs else "false")
    assert labels["io.berth.kernel.esp"] in ("true", "false")


def test_one_cluster_of_three_managers_seen_from_each_host(host):
    lines = host.check_output("docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'").splitlines()
    assert sorted(line.split()[0] for line in lines) == list(NODES)
    assert all(line.split()[1] == "Ready" for line in lines), lines
    assert sum("Leader" in line for line in lines) == 1, lines
    cluster = host.check_output("docker info --format '{{.Swarm.Cluster.ID}}'")
    assert cluster == other_host("node1").check_output("docker info --format '{{.Swarm.Cluster.ID}}'")
    assert host.check_output("docker info --format '{{.Swarm.Managers}}'") == "3"


SECRET = "berth_verify_token"
SECRET_CONTENT = "token-1"
CONFIG_PAGE = "config page"


@pytest.fixture(scope="module")
def service():
    """The nodes running the verify stack's 2 tasks (deployed by converge.yml with berth.engine.swarm_stack).

    Two replicas with a host-mode port: the scheduler puts them on two different nodes (one port each),
    which leaves the third node free for the side effect's drain to move a task to.
    """
    node1 = other_host("node1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = running_tasks(node1)
        if len(tasks) == 2:
            return tasks
        time.sleep(1)
    listing = node1.run("docker service ps %s" % SERVICE).stdout
    raise AssertionError("the service's 2 tasks are not running: %s" % listing)


def running_tasks(host):
    out = host.check_output("docker service ps %s --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'"
                            % SERVICE)
    return [line.split()[0] for line in out.splitlines() if " Running" in line]


def task_container(host):
    out = host.check_output("docker ps -q --filter label=com.docker.swarm.service.name=%s" % SERVICE)
    return out.split()[0] if out else None


def test_service_tasks_spread_over_the_nodes(service):
    assert len(set(service)) == 2 and set(service) <= set(NODES), service


def test_a_task_fetches_a_page_from_a_task_on_another_node_over_the_overlay(service):
    here, there = other_host(service[0]), other_host(service[1])
    remote = task_container(there)
    address = there.check_output(
        "docker inspect --format '{{(index .NetworkSettings.Networks \"%s\").IPAddress}}' %s" % (NETWORK, remote))
    local = task_container(here)
    assert here.check_output("docker exec %s wget -q -O- http://%s:8080/" % (local, address)) == PAGE
    # dnsrr: the service's tasks name resolves to every task's address.
    answer = here.check_output("docker exec %s nslookup tasks.%s" % (local, SERVICE))
    assert address in answer


def test_each_task_is_healthy_with_the_secret_and_the_config(host, service):
    if host.backend.get_hostname() not in service:
        assert task_container(host) is None
        return
    task = task_container(host)
    assert host.check_output("docker inspect --format '{{.State.Health.Status}}' %s" % task) == "healthy"
    assert host.check_output("docker exec %s cat /run/secrets/%s" % (task, SECRET)) == SECRET_CONTENT
    assert fetch(host, "http://127.0.0.1:%d/config.txt" % PORT) == CONFIG_PAGE


def test_published_port_answers_on_each_node_running_a_task(host, service):
    if host.backend.get_hostname() not in service:
        assert host.run("python3 -c \"import socket; socket.create_connection(('127.0.0.1', %d), 2)\"" % PORT).rc != 0
        return
    assert fetch(host, "http://127.0.0.1:%d/" % PORT) == PAGE
    address = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    assert fetch(other_host("node1"), "http://%s:%d/" % (address, PORT)) == PAGE
