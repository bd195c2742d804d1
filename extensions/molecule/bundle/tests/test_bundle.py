"""The bundle scenario: a Debian 12 host without docker packages gets the
engine from the offline bundle playbooks/bundle.yml built on the controller.
The bundle is reproducible (a rebuild changes nothing), and a bundle whose
checksum does not match is refused before anything is installed."""

import hashlib
import os
import tarfile

import berth_checks as checks
import pytest

from tests.support.ansible import run_playbook


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


# --- the bundle itself, and a bundle that does not match its checksum -----------------------

ROLE_PLAY = """
- hosts: container_hosts
  gather_facts: false
  roles:
    - role: berth.engine.runtime
"""


def _bundle_dir():
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "bundle")


def test_bundle_is_reproducible_and_has_docker_static_layout():
    out = _bundle_dir()
    link = os.path.join(out, "docker-bundle.tgz")
    bundle = os.path.realpath(link)
    assert bundle != link and os.path.dirname(bundle) == out
    with open(bundle, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    with open(bundle + ".sha256") as fh:
        assert fh.read() == f"{digest}  {os.path.basename(bundle)}\n"
    with tarfile.open(bundle) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"docker"} | {f"docker/{b}" for b in checks.BUNDLE_BINARIES}
    assert all(members[f"docker/{b}"].mode & 0o111 for b in checks.BUNDLE_BINARIES)

    rebuild = run_playbook("playbooks/bundle.yml", extra_vars={"berth_bundle_output_dir": out})
    assert not rebuild.failed and rebuild.recap["localhost"]["changed"] == 0, rebuild.describe()
    with open(bundle, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == digest


def test_wrong_checksum_is_refused_before_anything_is_installed(host, host_vars, bundle_binaries):
    bin_dir = checks.setting(host_vars, "berth_bundle_bin_dir", "runtime")
    paths = [f"{bin_dir}/{name}" for name in sorted(bundle_binaries)]
    before = checks.sha256s(host, paths)
    name = host.backend.get_hostname()
    refused = run_playbook(
        ROLE_PLAY,
        inventory=os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]),
        limit=name,
        extra_vars={"berth_bundle_sha256": "0" * 64},
    )
    assert refused.failed
    failed = [t for t in refused.tasks if t["host"] == name and t["failed"]]
    assert [t["task"] for t in failed] == ["Fail on a checksum mismatch"], refused.describe()
    assert "Nothing was installed" in failed[0]["msg"]
    assert checks.sha256s(host, paths) == before
    checks.check_engine_under_systemd(host)
