"""site.yml without berth_allow_reboot on the cgroup v1 VM: the prereqs role adds
the cgroup v2 boot parameter, runs update-grub and stops saying a reboot is
required and what to do; nothing is rebooted and the engine is not installed
yet. A rerun says the same (that an earlier run made the change) and changes
nothing. Both runs happen in the module fixture, in that order."""

import pytest
import vm_support as vm

STOP_TASK = "Stop because a reboot is required"
DROPIN_TASK = "Add the cgroup v2 boot parameter to grub (Debian/Ubuntu)"


@pytest.fixture(scope="module")
def runs(host):
    assert vm.cgroup_param(host.file("/proc/cmdline").content_string) == "0", "the VM must boot on cgroup v1"
    booted = vm.boot_id(host)
    first = vm.play("site.yml", berth_allow_reboot=False)
    print("first run recap:", first.recap)
    second = vm.play("site.yml", berth_allow_reboot=False)
    print("second run recap:", second.recap)
    return booted, first, second


def test_first_run_changes_the_boot_config_and_stops(host, runs):
    _unused, first, _unused = runs
    stop = vm.failures(first)
    assert stop and stop[-1]["task"] == STOP_TASK, first.describe()
    msg = stop[-1]["msg"]
    print("first run says:", msg)
    assert msg.startswith("Reboot required: this run added " + vm.V2_PARAM), msg
    assert vm.GRUB_DROPIN in msg and "berth_allow_reboot: true" in msg, msg
    assert first.task(DROPIN_TASK, vm.HOST)["changed"], first.describe()
    assert first.task("Berth update grub", vm.HOST)["changed"], first.describe()
    assert vm.V2_PARAM in vm.root_output(host, "cat %s", vm.GRUB_DROPIN)
    linux_lines = [line for line in vm.root_output(host, "cat /boot/grub/grub.cfg").splitlines()
                   if line.strip().startswith("linux")]
    assert linux_lines and all(vm.cgroup_param(line) == "1" for line in linux_lines), linux_lines


def test_rerun_reports_the_same_and_changes_nothing(runs):
    _unused, _unused, second = runs
    stop = vm.failures(second)
    assert stop and stop[-1]["task"] == STOP_TASK, second.describe()
    print("rerun says:", stop[-1]["msg"])
    assert stop[-1]["msg"].startswith("Reboot required: an earlier run added " + vm.V2_PARAM)
    assert second.recap[vm.HOST]["changed"] == 0, second.describe()


def test_nothing_was_rebooted_or_installed(host, runs):
    booted, _unused, _unused = runs
    assert vm.boot_id(host) == booted
    assert vm.cgroup_param(host.file("/proc/cmdline").content_string) == "0"
    assert host.mount_point("/sys/fs/cgroup").filesystem != "cgroup2"
    # The play stopped in the prereqs role: the runtime role never ran.
    assert not host.package("docker.io").is_installed
