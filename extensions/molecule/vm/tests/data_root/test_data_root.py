"""The engine's data root on the VM's second disk, xfs formatted with ftype=0
(no d_type): site.yml stops in the prereqs role, whose host_prereqs check
reports it, before touching the engine; with that check ignored the runtime
role's daemon_config task refuses it before writing daemon.json, naming the filesystem and the fix
(dockerd itself would not fail: with no storage-driver in daemon.json it
skips overlay2 and starts on vfs and an empty data root). The engine keeps
running on its old data root, with its containers."""

import json

import pytest
import vm_support as vm

MOUNT = "/mnt/noftype"
DATA_ROOT = MOUNT + "/docker"
PREREQS_TASK = "Check the host, load its kernel modules and set its sysctls"
DAEMON_JSON_TASK = "Write daemon.json (checked, validated, atomic, with a backup)"


@pytest.fixture(scope="module")
def noftype(host):
    """/dev/vdb (tests/vm/build-image.sh: mkfs.xfs -n ftype=0) mounted at MOUNT."""
    if not host.mount_point(MOUNT).exists:
        vm.root_output(host, "mkdir -p %s", MOUNT)
        vm.root_output(host, "mount -t xfs /dev/vdb %s", MOUNT)
    assert "ftype=0" in vm.root_output(host, "xfs_info %s", MOUNT)
    return MOUNT


@pytest.fixture(scope="module")
def engine_before(host, noftype):
    """daemon.json and the engine's data root before the runs of this module."""
    return vm.root_output(host, "cat /etc/docker/daemon.json"), data_root_of_engine(host)


@pytest.fixture(scope="module")
def prereqs_run(engine_before):
    """site.yml with the data root on the ftype=0 filesystem."""
    return vm.play("site.yml", berth_daemon_config={"data-root": DATA_ROOT})


def data_root_of_engine(host):
    return vm.root_output(host, "docker info --format %s", "{{.DockerRootDir}}")


def test_host_prereqs_reports_missing_d_type(prereqs_run):
    result = prereqs_run.task(PREREQS_TASK, vm.HOST)["result"]
    assert result["storage"]["fstype"] == "xfs" and result["storage"]["xfs_ftype"] == 0, result["storage"]
    assert result["storage"]["d_type"] is False, result["storage"]
    problems = {p["id"]: p for p in result["problems"]}
    assert "xfs_ftype_0" in problems, result["problems"]
    problem = problems["xfs_ftype_0"]
    print("host_prereqs:", problem)
    assert problem["severity"] == "error"
    assert "xfs" in problem["message"] and "ftype=0" in problem["message"]
    assert "mkfs.xfs -n ftype=1" in problem["fix"]


def test_site_stops_in_prereqs_before_the_engine(host, engine_before, prereqs_run):
    failed = vm.failures(prereqs_run)
    assert failed and failed[-1]["task"] == "Fail on the requirements that are still missing", prereqs_run.describe()
    msg = vm.message_text(failed[-1])
    print("prereqs says:", msg)
    assert "xfs_ftype_0" in msg and "mkfs.xfs -n ftype=1" in msg, msg
    assert (vm.root_output(host, "cat /etc/docker/daemon.json"), data_root_of_engine(host)) == engine_before


def test_runtime_role_refuses_overlay2_there(host, engine_before, prereqs_run):
    daemon_json, data_root = engine_before
    run = vm.play("site.yml", berth_daemon_config={"data-root": DATA_ROOT}, berth_prereqs_ignore=["xfs_ftype_0"])
    failed = vm.failures(run)
    assert failed and failed[-1]["task"] == DAEMON_JSON_TASK, run.describe()
    msg = vm.message_text(failed[-1])
    print("runtime says:", msg)
    assert msg.startswith("/etc/docker/daemon.json was left unchanged:"), msg
    assert "xfs formatted with ftype=0" in msg and "mkfs.xfs -n ftype=1" in msg, msg
    assert json.loads(vm.root_output(host, "cat /etc/docker/daemon.json")) == json.loads(daemon_json)
    assert data_root_of_engine(host) == data_root == "/var/lib/docker"
    assert json.loads(vm.root_output(host, "docker inspect web"))[0]["State"]["Running"]
