"""The default scenario: Debian 11/12/13 provisioned by site.yml from docker.io."""

import ipaddress
import json

import berth_checks as checks


def test_engine_active_under_systemd(host):
    checks.check_engine_under_systemd(host)


def test_engine_from_distro_packages(host, host_vars):
    assert checks.setting(host_vars, "berth_runtime_source", "runtime") == "distro"
    assert host.package("docker.io").is_installed
    dockerd = host.check_output("command -v dockerd")
    assert host.check_output("dpkg -S %s", dockerd).startswith("docker.io:")


def test_docker_cli_works(host):
    # Debian 13 split the CLI into docker-cli, which docker.io only recommends.
    assert host.exists("docker"), "no docker CLI on the host"
    assert host.run("docker version --format '{{.Server.Version}}'").rc == 0


def test_daemon_json_is_defaults_plus_scenario_config(host, host_vars, expected_daemon_json):
    checks.check_daemon_json(host, host_vars, expected_daemon_json)


def test_storage_driver_overlay2(host, host_vars):
    checks.check_storage_driver(host, host_vars)


def test_module_and_sysctl_files(host, host_vars):
    checks.check_prereq_files(host, host_vars)


def test_loaded_image_runs_and_answers(host, host_vars):
    checks.check_workload(host, host_vars)


def test_network_from_the_configured_pool_and_volume(host, host_vars, expected_daemon_json):
    pools = [ipaddress.ip_network(p["base"]) for p in expected_daemon_json.get("default-address-pools", [])]
    assert pools, "the scenario sets default-address-pools"
    for net in host_vars["berth_networks"]:
        ipam = json.loads(host.check_output("docker network inspect -f '{{json .IPAM.Config}}' %s", net["name"]))
        subnet = ipaddress.ip_network(ipam[0]["Subnet"])
        assert any(subnet.subnet_of(pool) for pool in pools), f"{net['name']}: {subnet} is outside {pools}"
    for vol in host_vars["berth_volumes"]:
        assert host.run("docker volume inspect %s", vol["name"]).rc == 0
    for c in host_vars["berth_containers"]:
        attached = json.loads(host.check_output("docker inspect -f '{{json .NetworkSettings.Networks}}' %s", c["name"]))
        assert sorted(attached) == sorted(n["name"] for n in c.get("networks", [{"name": "bridge"}]))
