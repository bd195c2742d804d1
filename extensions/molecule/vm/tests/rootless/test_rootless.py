"""alice's rootless engine, which converge provisioned (berth_runtime_mode: both,
berth_rootless_users: [alice]; prepare.yml created her), observed through the
docker CLI in her session and through /proc and /sys as root: it reports
rootless and cgroup v2, the workloads role deploys a stack into it as alice
(become_user; a rerun changes nothing), the container's published port answers
on the VM, its processes are alice's on the host, its memory limit is its
cgroup's memory.max; after a reboot the engine and the container are back
without any login (lingering); a user daemon.json the engine cannot start with
is rolled back and the engine runs again with the previous one. The tests run
in this order (the module's fixtures are shared)."""

import json

import pytest
import vm_support as vm

USER, UID = "alice", 1500
SOCKET = "unix:///run/user/%d/docker.sock" % UID
DAEMON_JSON = "/home/%s/.config/docker/daemon.json" % USER
PORT = 18081
WORKLOADS = """
- name: Deploy into alice's rootless engine with the workloads role
  hosts: vm
  gather_facts: false
  become: true
  become_user: alice
  roles:
    - role: berth.engine.workloads
      vars:
        berth_docker_host: unix:///run/user/1500/docker.sock
        berth_stack_name: rootless
        berth_images:
          - {name: "berth-test/http:v1", source: load, load_path: /var/tmp/berth-test-http.tar}
        berth_containers:
          - name: rweb
            image: berth-test/http:v1
            ports: ["0.0.0.0:18081:8080"]
            memory: 64m
            restart_policy: unless-stopped
"""
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


@pytest.fixture(scope="module")
def deployed():
    first = vm.play(WORKLOADS)
    print("workloads recap:", first.recap)
    assert first.rc == 0, first.describe()
    second = vm.play(WORKLOADS)
    print("rerun recap:", second.recap)
    return first, second


def test_user_engine_reports_rootless_and_cgroup_v2(host):
    info = user_info(host)
    print("security options:", info["SecurityOptions"], "cgroup:", info["CgroupVersion"], info["CgroupDriver"])
    assert "name=rootless" in info["SecurityOptions"]
    assert info["CgroupVersion"] == "2"
    assert info["DockerRootDir"] == "/home/%s/.local/share/docker" % USER
    # berth_runtime_mode: both - the system engine is still there, and rootful.
    root_info = json.loads(vm.root_output(host, "docker info --format %s", "{{json .}}"))
    assert "name=rootless" not in root_info["SecurityOptions"]


def test_workloads_role_deploys_into_the_user_engine_idempotently(deployed):
    first, second = deployed
    assert first.recap[vm.HOST]["changed"] > 0, first.describe()
    assert second.rc == 0 and second.recap[vm.HOST]["changed"] == 0, second.describe()


def test_container_processes_belong_to_the_user_on_the_host(host, deployed):
    container = inspect(host, "rweb")
    assert container["State"]["Running"], container["State"]
    status = host.file("/proc/%d/status" % container["State"]["Pid"]).content_string
    uids = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")][0]
    # The container's root (or its server's user) maps into alice's subordinate range, never to root.
    assert all(int(u) != 0 for u in uids), uids
    assert container["Name"] == "/rweb"
    assert "rweb" not in vm.root_output(host, "docker ps --format %s", "{{.Names}}").split()


def test_published_port_answers_on_the_host(host, deployed):
    result = answers(host)
    assert result.rc == 0 and result.stdout.strip() == "200", result.stderr


def test_memory_limit_is_the_containers_memory_max(host, deployed):
    container = inspect(host, "rweb")
    assert container["HostConfig"]["Memory"] == 64 * 1024 * 1024
    cgroup = host.file("/proc/%d/cgroup" % container["State"]["Pid"]).content_string.strip()
    # Under alice's user manager: the controllers were delegated to it.
    assert cgroup.startswith("0::/user.slice/user-%d.slice/user@%d.service/" % (UID, UID)), cgroup
    assert host.file("/sys/fs/cgroup" + cgroup[3:] + "/memory.max").content_string.strip() == "67108864"


def test_engine_and_container_are_back_after_a_reboot_without_a_login(host, deployed):
    booted = vm.boot_id(host)
    run = vm.play(REBOOT)
    assert run.rc == 0, run.describe()
    assert vm.boot_id(host) != booted
    assert "Linger=yes" in host.check_output("loginctl show-user %s -p Linger", USER)
    sessions = host.check_output("loginctl list-sessions --no-legend")
    assert USER not in sessions.split(), sessions
    assert as_user(host, "systemctl --user is-active docker.service").strip() == "active"
    assert "name=rootless" in user_info(host)["SecurityOptions"]
    # The restart policy brought the container back once the user's engine started.
    for _attempt in range(30):
        if inspect(host, "rweb")["State"]["Running"] and answers(host).rc == 0:
            break
        host.run("sleep 2")
    assert answers(host).stdout.strip() == "200"


def test_bad_user_daemon_json_is_rolled_back(host, deployed):
    before = vm.root_output(host, "cat %s", DAEMON_JSON)
    bad = [{"name": USER, "daemon_config": {"storage-driver": "berth-nonexistent"}}]
    run = vm.play(RUNTIME, berth_rootless_users=bad)
    failed = vm.failures(run)
    assert failed and failed[-1]["task"] == ROLLED_BACK_TASK, run.describe()
    msg = vm.message_text(failed[-1])
    print("the role says:", msg)
    assert "restored the previous " + DAEMON_JSON in msg and "berth-nonexistent" in msg, msg
    assert vm.root_output(host, "cat %s", DAEMON_JSON) == before
    info = user_info(host)
    assert "name=rootless" in info["SecurityOptions"] and info["Driver"] != "berth-nonexistent"
