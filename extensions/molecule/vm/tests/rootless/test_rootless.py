"""alice's rootless engine, observed through the docker CLI in her session and
through /proc, /sys and systemctl as root, in three phases on the converged VM:

1. berth_runtime_mode: both (converge.yml: site.yml, then a stack the workloads
   role deployed as alice; idempotence found nothing to change in either): her
   engine reports rootless and cgroup v2 while the system one stays rootful; the
   stack's container runs as her subordinate IDs, its published port answers on
   the VM and its memory limit is its cgroup's memory.max.
2. The runtime role with berth_runtime_mode: rootless (and the explicit
   berth_rootless_disable_system_daemon) stops and disables docker.service and
   docker.socket and leaves her engine and container running; a user
   daemon.json her engine cannot start with is then rolled back.
3. After a reboot, without any login (lingering): only her engine runs, with
   the restored daemon.json, and the container is back, answering, limited.

The phases share the VM: the tests run in file order (every test takes `host`,
so pytest keeps that order) and each phase's fixture runs once. tests/data_root
runs before this module: it needs the system engine."""

import json

import pytest
import vm_support as vm

USER, UID = "alice", 1500
SOCKET = "unix:///run/user/%d/docker.sock" % UID
DAEMON_JSON = "/home/%s/.config/docker/daemon.json" % USER
PORT = 18081
SYSTEM_UNITS = ("docker.service", "docker.socket")
REBOOT = """
- name: Reboot the VM
  hosts: vm
  gather_facts: false
  become: true
  tasks:
    - name: Reboot
      ansible.builtin.reboot:
        reboot_timeout: 900
"""
RUNTIME = """
- name: The runtime role alone
  hosts: vm
  gather_facts: false
  become: true
  roles:
    - role: berth.engine.runtime
"""
ROOTLESS_ONLY = {"berth_runtime_mode": "rootless", "berth_rootless_disable_system_daemon": True}
STOP_TASK = "Stop and disable the system daemon (rootless mode only)"
ROLLED_BACK_TASK = "Fail with the engine's message"


def as_user(host, command, *args):
    """A command in alice's session environment (her runtime directory and engine)."""
    return host.check_output("sudo -n -u %s env XDG_RUNTIME_DIR=/run/user/%d DOCKER_HOST=%s " % (USER, UID, SOCKET)
                             + command, *args)


def user_info(host):
    return json.loads(as_user(host, "docker info --format %s", "{{json .}}"))


def inspect(host, name):
    return json.loads(as_user(host, "docker inspect %s", name))[0]


def answers(host):
    """The container's page through the published port, fetched on the VM itself."""
    return host.run("python3 -c %s", "import urllib.request as u; "
                    "print(u.urlopen('http://127.0.0.1:%d/', timeout=10).status)" % PORT)


def system_units(host):
    """{unit: (is-active, is-enabled)} of the system engine's units, as systemctl says."""
    return {u: (host.run("systemctl is-active %s", u).stdout.strip(),
                host.run("systemctl is-enabled %s", u).stdout.strip()) for u in SYSTEM_UNITS}


def memory_max(host, container):
    """The memory.max of the container's cgroup, which must sit under alice's user manager."""
    cgroup = host.file("/proc/%d/cgroup" % container["State"]["Pid"]).content_string.strip()
    # Under alice's user manager: the controllers were delegated to it.
    assert cgroup.startswith("0::/user.slice/user-%d.slice/user@%d.service/" % (UID, UID)), cgroup
    return host.file("/sys/fs/cgroup" + cgroup[3:] + "/memory.max").content_string.strip()


def wait_until_answering(host):
    """After a boot: the user's engine starts (slowly on an emulated CPU), then the restart policy
    brings the container back. Asked with host.run: an engine still starting is no error yet."""
    running = "sudo -n -u %s env XDG_RUNTIME_DIR=/run/user/%d DOCKER_HOST=%s " % (USER, UID, SOCKET)
    for _attempt in range(60):
        if (host.run(running + "docker inspect -f %s rweb", "{{.State.Running}}").stdout.strip() == "true"
                and answers(host).rc == 0):
            return
        host.run("sleep 3")


@pytest.fixture(scope="module")
def rootless_only():
    """The runtime role switched to rootless only: the system engine's units stopped and disabled."""
    run = vm.play(RUNTIME, **ROOTLESS_ONLY)
    print("rootless-only recap:", run.recap)
    return run


@pytest.fixture(scope="module")
def rolled_back(host, rootless_only):
    """The runtime role (still rootless only) with a daemon.json alice's engine cannot start with."""
    before = vm.root_output(host, "cat %s", DAEMON_JSON)
    bad = [{"name": USER, "daemon_config": {"storage-driver": "berth-nonexistent"}}]
    return before, vm.play(RUNTIME, berth_rootless_users=bad, **ROOTLESS_ONLY)


@pytest.fixture(scope="module")
def rebooted(host, rolled_back):
    booted = vm.boot_id(host)
    run = vm.play(REBOOT)
    assert run.rc == 0, run.describe()
    assert vm.boot_id(host) != booted
    return run


def test_user_engine_reports_rootless_and_cgroup_v2(host):
    info = user_info(host)
    print("security options:", info["SecurityOptions"], "cgroup:", info["CgroupVersion"], info["CgroupDriver"])
    assert "name=rootless" in info["SecurityOptions"]
    assert info["CgroupVersion"] == "2"
    assert info["DockerRootDir"] == "/home/%s/.local/share/docker" % USER
    # berth_runtime_mode: both - the system engine is still there, and rootful.
    root_info = json.loads(vm.root_output(host, "docker info --format %s", "{{json .}}"))
    assert "name=rootless" not in root_info["SecurityOptions"]


def test_workloads_role_deployed_the_stack_into_the_user_engine(host):
    """converge.yml's last play created it (idempotence then changed nothing): the stack's label, her engine only."""
    container = inspect(host, "rweb")
    assert container["State"]["Running"], container["State"]
    assert container["Config"]["Labels"].get("io.berth.stack") == "rootless", container["Config"]["Labels"]
    assert "rweb" not in vm.root_output(host, "docker ps -a --format %s", "{{.Names}}").split()


def test_container_processes_belong_to_the_user_on_the_host(host):
    container = inspect(host, "rweb")
    status = host.file("/proc/%d/status" % container["State"]["Pid"]).content_string
    uids = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")][0]
    # The container's root (or its server's user) maps into alice's subordinate range, never to root.
    assert all(int(u) != 0 for u in uids), uids


def test_published_port_answers_on_the_host(host):
    result = answers(host)
    assert result.rc == 0 and result.stdout.strip() == "200", result.stderr


def test_memory_limit_is_the_containers_memory_max(host):
    container = inspect(host, "rweb")
    assert container["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert memory_max(host, container) == "67108864"


def test_rootless_mode_stops_and_disables_the_system_daemon(host, rootless_only):
    assert rootless_only.rc == 0, rootless_only.describe()
    assert rootless_only.recap[vm.HOST]["changed"] > 0, rootless_only.describe()
    assert rootless_only.task(STOP_TASK, vm.HOST)["changed"], rootless_only.describe()
    units = system_units(host)
    print("system units:", units)
    # For the record (live-restore is on by default): what is left of the system engine's containers.
    print("containerd:", host.run("systemctl is-active containerd.service").stdout.strip(),
          "root's shims:", host.run("pgrep -c -u root -f containerd-shim").stdout.strip())
    assert units == {u: ("inactive", "disabled") for u in SYSTEM_UNITS}, units
    # Only the system engine went: alice's engine and her container kept running.
    assert "name=rootless" in user_info(host)["SecurityOptions"]
    assert inspect(host, "rweb")["State"]["Running"]
    assert answers(host).stdout.strip() == "200"


def test_bad_user_daemon_json_is_rolled_back(host, rolled_back):
    before, run = rolled_back
    failed = vm.failures(run)
    assert failed and failed[-1]["task"] == ROLLED_BACK_TASK, run.describe()
    msg = vm.message_text(failed[-1])
    print("the role says:", msg)
    assert "restored the previous " + DAEMON_JSON in msg and "berth-nonexistent" in msg, msg
    assert vm.root_output(host, "cat %s", DAEMON_JSON) == before
    info = user_info(host)
    assert "name=rootless" in info["SecurityOptions"] and info["Driver"] != "berth-nonexistent"


def test_after_a_reboot_only_the_user_engine_runs_without_a_login(host, rebooted):
    assert "Linger=yes" in host.check_output("loginctl show-user %s -p Linger", USER)
    sessions = host.check_output("loginctl list-sessions --no-legend")
    assert USER not in sessions.split(), sessions
    assert system_units(host) == {u: ("inactive", "disabled") for u in SYSTEM_UNITS}
    wait_until_answering(host)
    assert as_user(host, "systemctl --user is-active docker.service").strip() == "active"
    info = user_info(host)
    assert "name=rootless" in info["SecurityOptions"] and info["CgroupVersion"] == "2"
    assert answers(host).stdout.strip() == "200"
    container = inspect(host, "rweb")
    assert memory_max(host, container) == "67108864"
