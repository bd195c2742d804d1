"""The engine's data root on the VM's second disk, xfs formatted with ftype=0
(no d_type): host_prereqs reports it, site.yml stops in the prereqs role
before touching the engine, and with that check ignored the runtime role
refuses it before writing daemon.json, naming the filesystem and the fix
(dockerd itself would not fail: with no storage-driver in daemon.json it
skips overlay2 and starts on vfs and an empty data root). The engine keeps
running on its old data root, with its containers."""

import json

import pytest
import vm_support as vm

MOUNT = "/mnt/noftype"
DATA_ROOT = MOUNT + "/docker"
CHECK_PLAY = """
- name: Check the data root on xfs ftype=0
  hosts: container_hosts
  become: true
  gather_facts: false
  tasks:
    - name: Check the host
      berth.engine.host_prereqs:
        data_root: %s
        storage_driver: overlay2
""" % DATA_ROOT


@pytest.fixture(scope="module")
def noftype(host):
    """/dev/vdb (tests/vm/build-image.sh: mkfs.xfs -n ftype=0) mounted at MOUNT."""
    if not host.mount_point(MOUNT).exists:
        vm.root_output(host, "mkdir -p %s", MOUNT)
        vm.root_output(host, "mount -t xfs /dev/vdb %s", MOUNT)
    assert "ftype=0" in vm.root_output(host, "xfs_info %s", MOUNT)
    return MOUNT


def data_root_of_engine(host):
    return vm.root_output(host, "docker info --format %s", "{{.DockerRootDir}}")


def test_host_prereqs_reports_missing_d_type(noftype):
    run = vm.play(CHECK_PLAY)
    result = run.task("Check the host", vm.HOST)["result"]
    assert not run.failed, run.describe()
    assert result["storage"]["fstype"] == "xfs" and result["storage"]["xfs_ftype"] == 0, result["storage"]
    problems = {p["id"]: p for p in result["problems"]}
    assert "xfs_ftype_0" in problems, result["problems"]
    problem = problems["xfs_ftype_0"]
    print("host_prereqs:", problem)
    assert problem["severity"] == "error"
    assert "xfs" in problem["message"] and "ftype=0" in problem["message"]
    assert "mkfs.xfs -n ftype=1" in problem["fix"]


def test_site_stops_in_prereqs_before_the_engine(host, noftype):
    before = vm.root_output(host, "cat /etc/docker/daemon.json")
    run = vm.play("site.yml", berth_daemon_config={"data-root": DATA_ROOT})
    failed = vm.failures(run)
    assert failed and failed[-1]["task"] == "Fail on the requirements that are still missing", run.describe()
    print("prereqs says:", failed[-1]["msg"])
    assert "xfs_ftype_0" in failed[-1]["msg"] and "mkfs.xfs -n ftype=1" in failed[-1]["msg"]
    assert vm.root_output(host, "cat /etc/docker/daemon.json") == before
    assert data_root_of_engine(host) == "/var/lib/docker"


def test_runtime_role_refuses_overlay2_there_and_rolls_back(host, noftype):
    before = vm.root_output(host, "cat /etc/docker/daemon.json")
    run = vm.play("site.yml", berth_daemon_config={"data-root": DATA_ROOT}, berth_prereqs_ignore=["xfs_ftype_0"])
    failed = vm.failures(run)
    assert failed and failed[-1]["task"] == "Refuse a data root the storage driver cannot use", run.describe()
    msg = failed[-1]["msg"]
    print("runtime says:", msg)
    assert msg.startswith("daemon.json was left unchanged:"), msg
    assert "xfs formatted with ftype=0" in msg and "mkfs.xfs -n ftype=1" in msg, msg
    assert json.loads(vm.root_output(host, "cat /etc/docker/daemon.json")) == json.loads(before)
    assert data_root_of_engine(host) == "/var/lib/docker"
    assert json.loads(vm.root_output(host, "docker inspect web"))[0]["State"]["Running"]
