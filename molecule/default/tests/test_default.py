"""The default scenario: Debian 11/12/13 provisioned by site.yml from docker.io."""

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
