"""The bundle scenario: a Debian 12 host without docker packages gets the
engine from the offline bundle playbooks/bundle.yml built on the controller."""

import hashlib
import os
import tarfile

import berth_checks as checks
import pytest


@pytest.fixture(scope="module")
def bundle_binaries():
    """sha256 of every docker/<binary> in the bundle the scenario installed."""
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "bundle", "docker-bundle.tgz")
    out = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("docker/"):
                out[member.name.split("/", 1)[1]] = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
    return out


def test_engine_active_under_systemd(host):
    checks.check_engine_under_systemd(host)


def test_no_engine_packages(host, host_vars):
    assert checks.setting(host_vars, "berth_runtime_source", "runtime") == "bundle"
    for pkg in ("docker.io", "docker-ce", "docker-ce-cli", "containerd", "containerd.io", "runc", "moby-engine"):
        assert not host.package(pkg).is_installed, f"{pkg} is installed"


def test_binaries_are_the_bundles(host, host_vars, bundle_binaries):
    assert sorted(bundle_binaries) == sorted(checks.BUNDLE_BINARIES)
    bin_dir = checks.setting(host_vars, "berth_bundle_bin_dir", "runtime")
    paths = [f"{bin_dir}/{name}" for name in sorted(bundle_binaries)]
    on_host = checks.sha256s(host, paths)
    assert on_host == {f"{bin_dir}/{name}": digest for name, digest in bundle_binaries.items()}
    # and they are what runs
    main_pid = host.check_output("systemctl show -p MainPID --value docker.service")
    assert host.file(f"/proc/{main_pid}/exe").linked_to == f"{bin_dir}/dockerd"


def test_units_and_socket(host):
    for unit in ("containerd.service", "docker.service", "docker.socket"):
        assert host.file(f"/etc/systemd/system/{unit}").is_file, f"{unit} is missing"
    assert host.group("docker").exists
    sock = host.file("/var/run/docker.sock")
    assert sock.is_socket and sock.group == "docker" and sock.mode == 0o660


def test_daemon_json_is_defaults_plus_scenario_config(host, host_vars, expected_daemon_json):
    checks.check_daemon_json(host, host_vars, expected_daemon_json)


def test_storage_driver_overlay2(host, host_vars):
    checks.check_storage_driver(host, host_vars)


def test_module_and_sysctl_files(host, host_vars):
    checks.check_prereq_files(host, host_vars)


def test_loaded_image_runs_and_answers(host, host_vars):
    checks.check_workload(host, host_vars)
