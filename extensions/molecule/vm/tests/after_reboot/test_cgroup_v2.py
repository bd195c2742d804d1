"""After converge (site.yml with berth_allow_reboot: true, one reboot) and
idempotence: the VM runs on cgroup v2 because of the role's boot parameter,
the engine uses it with the systemd driver, and a container's memory limit
is enforced by its cgroup v2 memory.max."""

import json

import vm_support as vm


def test_sys_fs_cgroup_is_cgroup2(host):
    assert host.mount_point("/sys/fs/cgroup").filesystem == "cgroup2"


def test_boot_parameter_in_cmdline_and_grub(host):
    cmdline = host.file("/proc/cmdline").content_string
    print("cmdline:", cmdline.strip())
    assert vm.cgroup_param(cmdline) == "1", cmdline
    assert vm.V2_PARAM in vm.root_output(host, "cat %s", vm.GRUB_DROPIN)
    linux_lines = [line for line in vm.root_output(host, "cat /boot/grub/grub.cfg").splitlines()
                   if line.strip().startswith("linux")]
    assert linux_lines and all(vm.cgroup_param(line) == "1" for line in linux_lines), linux_lines


def test_engine_reports_cgroup_v2_and_systemd_driver(host):
    out = vm.root_output(host, "docker info --format %s", "{{json .}}")
    info = json.loads(out)
    assert (info["CgroupVersion"], info["CgroupDriver"]) == ("2", "systemd"), (
        info["CgroupVersion"], info["CgroupDriver"])


def test_container_memory_limit_is_its_memory_max(host):
    container = json.loads(vm.root_output(host, "docker inspect web"))[0]
    assert container["State"]["Running"], container["State"]
    assert container["HostConfig"]["Memory"] == 64 * 1024 * 1024
    pid = container["State"]["Pid"]
    # cgroup v2: one line "0::/system.slice/docker-<id>.scope".
    cgroup = host.file("/proc/%d/cgroup" % pid).content_string.strip()
    assert cgroup.startswith("0::/") and container["Id"] in cgroup, cgroup
    memory_max = host.file("/sys/fs/cgroup" + cgroup[3:] + "/memory.max").content_string.strip()
    assert memory_max == "67108864"


def test_container_runs_confined_by_apparmor(host):
    """Debian's kernel enforces AppArmor: the runtime role installed apparmor (docker.io only
    recommends it), so dockerd loaded its docker-default profile and the container runs under it."""
    assert host.file("/sys/module/apparmor/parameters/enabled").content_string.startswith("Y")
    assert host.package("apparmor").is_installed
    container = json.loads(vm.root_output(host, "docker inspect web"))[0]
    assert container["AppArmorProfile"] == "docker-default", container["AppArmorProfile"]
    pid = container["State"]["Pid"]
    assert vm.root_output(host, "cat /proc/%d/attr/current" % pid).strip() == "docker-default (enforce)"
