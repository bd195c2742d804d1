"""The inventory plugins berth.engine.containers and berth.engine.swarm_nodes against real engines.

ansible-inventory shows the groups and variables; a play over each inventory acts on what it lists
(a module in each container through berth.engine.docker; a drain and undrain of the worker), and the
result is observed with the docker SDK.
"""
from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.support.ansible import REPO_ROOT, _bin, _env, run_playbook
from tests.support.debian import DEBIAN_IMAGE
from tests.support.private_daemon import private_daemons


def ansible_inventory(source, *args):
    proc = subprocess.run([_bin("ansible-inventory"), "-i", str(source), *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=_env(None), check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Unable to parse" not in proc.stderr, proc.stderr
    return proc.stdout


def plain(value):
    """ansible-inventory's JSON without the {"__ansible_unsafe": ...} wrappers of engine data."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@pytest.mark.usefixtures("debian_image")
def test_containers_inventory_groups_vars_and_a_play_in_each(docker_client, test_images, cleanup, make_name,
                                                             unique_name, tmp_path):
    web, db, stopped = make_name("web"), make_name("db"), make_name("old")
    compose = {"com.docker.compose.project": unique_name, "com.docker.compose.service": "web"}
    docker_client.containers.run(DEBIAN_IMAGE, ["sleep", "infinity"], name=web, detach=True, labels=compose,
                                 stop_signal="SIGKILL")
    docker_client.containers.run(DEBIAN_IMAGE, ["sleep", "infinity"], name=db, detach=True,
                                 labels={"io.berth.stack": unique_name, "tier": "data"}, stop_signal="SIGKILL")
    docker_client.containers.create(test_images.busybox, ["true"], name=stopped)
    cleanup.containers += [web, db, stopped]
    source = tmp_path / "test.containers.berth.yml"
    source.write_text(textwrap.dedent(f"""\
        plugin: berth.engine.containers
        all: true
        filters:
          - include: berth_container.name.startswith('{unique_name}')
          - exclude: true
        keyed_groups:
          - key: berth_labels.tier | default('none')
            prefix: tier
        groups:
          debian: berth_container.image == '{DEBIAN_IMAGE}'
        compose:
          ansible_python_interpreter: "'/usr/bin/python3'"
        cache: true
        cache_plugin: ansible.builtin.jsonfile
        cache_connection: {tmp_path}/cache
        """))
    listed = plain(json.loads(ansible_inventory(source, "--list")))
    hostvars = listed["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted([web, db, stopped])
    assert listed[f"compose_{unique_name}_web".replace("-", "_")]["hosts"] == [web]
    assert listed[f"stack_{unique_name}".replace("-", "_")]["hosts"] == [db]
    assert listed["state_created"]["hosts"] == [stopped]
    assert sorted(listed["state_running"]["hosts"]) == sorted([web, db])
    assert listed["tier_data"]["hosts"] == [db] and sorted(listed["debian"]["hosts"]) == sorted([web, db])
    assert sorted(listed["image_berth_test_debian_bookworm"]["hosts"]) == sorted([web, db])
    assert hostvars[web]["ansible_connection"] == "berth.engine.docker"
    assert hostvars[web]["berth_container"]["id"] == docker_client.containers.get(web).id
    assert "@tier_none:" in ansible_inventory(source, "--graph")
    assert list((tmp_path / "cache").iterdir()), "the inventory cache was written"

    run = run_playbook(textwrap.dedent("""\
        - hosts: state_running
          gather_facts: false
          tasks:
            - name: A module in each container
              ansible.builtin.copy:
                content: "{{ inventory_hostname }}\\n"
                dest: /etc/berth-host
                mode: "0644"
        """), inventory=str(source))
    assert not run.failed, run.describe()[-3000:]
    for name in (web, db):
        assert docker_client.containers.get(name).exec_run(["cat", "/etc/berth-host"]).output.decode() == name + "\n"


@pytest.fixture
def swarm_pair():
    with private_daemons(2, "swarm") as daemons:
        manager, worker = daemons
        manager.client.swarm.init(advertise_addr=manager.address, listen_addr=manager.address)
        token = manager.client.swarm.attrs["JoinTokens"]["Worker"]
        worker.client.swarm.join(remote_addrs=[manager.address], join_token=token, advertise_addr=worker.address,
                                 listen_addr=worker.address)
        yield daemons


def test_swarm_nodes_inventory_groups_vars_and_drain(swarm_pair, tmp_path):
    manager, worker = swarm_pair
    worker_id = worker.client.info()["Swarm"]["NodeID"]
    manager.client.nodes.get(worker_id).update(dict(manager.client.nodes.get(worker_id).attrs["Spec"],
                                                    Labels={"zone": "b"}))
    source = tmp_path / "test.swarm_nodes.berth.yml"
    source.write_text(textwrap.dedent(f"""\
        plugin: berth.engine.swarm_nodes
        docker_host: {manager.docker_host}
        keyed_groups:
          - key: berth_node.engine_version
            prefix: engine
        """))
    listed = plain(json.loads(ansible_inventory(source, "--list")))
    hostvars = listed["_meta"]["hostvars"]
    by_id = {facts["berth_node"]["id"]: host for host, facts in hostvars.items()}
    assert len(by_id) == 2 and worker_id in by_id
    worker_host = by_id[worker_id]
    assert listed["role_worker"]["hosts"] == [worker_host]
    assert listed["label_zone_b"]["hosts"] == [worker_host]
    assert sorted(listed["state_ready"]["hosts"]) == sorted(hostvars)
    assert sorted(listed["availability_active"]["hosts"]) == sorted(hostvars)
    assert hostvars[worker_host]["ansible_host"] == worker.address
    assert hostvars[worker_host]["berth_node"]["engine_version"] == worker.client.version()["Version"]
    assert listed["swarm_leader"]["hosts"] == [by_id[manager.client.info()["Swarm"]["NodeID"]]]

    def drain(availability):
        return run_playbook(textwrap.dedent(f"""\
            - hosts: role_worker
              gather_facts: false
              connection: local
              tasks:
                - name: Availability of each worker
                  berth.engine.swarm_node:
                    docker_host: {manager.docker_host}
                    node: "{{{{ berth_node.id }}}}"
                    availability: {availability}
                    wait_timeout: 30
            """), inventory=str(source), extra_vars={"ansible_python_interpreter": _bin("python")})

    run = drain("drain")
    assert not run.failed, run.describe()[-3000:]
    assert manager.client.nodes.get(worker_id).attrs["Spec"]["Availability"] == "drain"
    assert plain(json.loads(ansible_inventory(source, "--list")))["availability_drain"]["hosts"] == [worker_host]
    run = drain("active")
    assert not run.failed, run.describe()[-3000:]
    assert manager.client.nodes.get(worker_id).attrs["Spec"]["Availability"] == "active"
