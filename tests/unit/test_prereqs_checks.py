"""One test group per check of prereqs.evaluate, fed with facts parsed from real-shaped /proc and /sys text."""
from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from tests.unit.prereqs_samples import KERNEL_CONFIG, MODULES_BUILTIN, MODULES_DEP, MOUNTINFO, PROC_FILESYSTEMS

HYBRID_MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 23 0:25 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
34 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:34 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""


def ids(problems):
    return [p["id"] for p in problems]


# ------------------------------------------------------------ kernel


def test_kernel_version():
    assert ids(pr.check_kernel_version({"release": "3.2.0-4-amd64"})) == ["kernel_too_old"]
    assert pr.check_kernel_version({"release": "3.10.0-1160.el7.x86_64"})[0]["severity"] == "warning"
    assert pr.check_kernel_version({"release": "6.1.0-18-amd64"}) == []


def test_kernel_options_from_a_real_config():
    config = pr.parse_kernel_config(KERNEL_CONFIG.replace("CONFIG_VETH=m", "# CONFIG_VETH is not set"))
    missing = [list(x) for x in pr.missing_kernel_options(config, pr.required_kernel_options("unified"))]
    kernel = {"config_readable": True, "config_source": "/boot/config-6.1.0-18-amd64", "missing_options": missing}
    problems = pr.check_kernel_options(kernel)
    assert ids(problems) == ["kernel_option_missing:CONFIG_VETH"]
    assert problems[0]["severity"] == "error" and "/boot/config-6.1.0-18-amd64" in problems[0]["message"]
    unreadable = pr.check_kernel_options({"config_readable": False, "release": "6.1.0-18-amd64"})
    assert ids(unreadable) == ["kernel_config_unreadable"] and unreadable[0]["severity"] == "info"


# ------------------------------------------------------------ cgroup


def test_cgroup_mode_on_a_hybrid_host():
    cgroup = pr.cgroup_layout(pr.parse_mounts(HYBRID_MOUNTINFO))
    problems = pr.check_cgroup_mode(cgroup, True, False, "grub")
    assert ids(problems) == ["cgroup_v2_disabled"]
    assert "/sys/fs/cgroup/unified" in problems[0]["message"] and "berth_allow_reboot" in problems[0]["fix"]
    assert "container host" in pr.check_cgroup_mode(cgroup, True, True, "grub")[0]["fix"]
    assert "No bootloader" in pr.check_cgroup_mode(cgroup, True, False, "none")[0]["fix"]
    assert pr.check_cgroup_mode(cgroup, False, False, "grub") == []
    assert ids(pr.check_cgroup_mode({"mode": "none"}, False, False, "grub")) == ["cgroup_not_mounted"]


def test_cgroup_controllers_on_unified_only():
    unified = pr.cgroup_layout(pr.parse_mounts(MOUNTINFO), "cpu memory\n")
    assert ids(pr.check_cgroup_controllers(unified)) == [
        "cgroup_v2_controller_missing:cpuset", "cgroup_v2_controller_missing:io", "cgroup_v2_controller_missing:pids"]
    hybrid = pr.cgroup_layout(pr.parse_mounts(HYBRID_MOUNTINFO), "")
    assert pr.check_cgroup_controllers(hybrid) == []


# ------------------------------------------------------------ storage


def _storage(path, mountinfo=MOUNTINFO, xfs_ftype=None):
    mount = pr.mount_for_path(pr.parse_mounts(mountinfo), path)
    fstype = mount["fstype"]
    return {"data_root": path, "path_checked": path, "fstype": fstype, "xfs_ftype": xfs_ftype,
            "d_type": pr.dtype_support(fstype, xfs_ftype),
            "overlay_supported": "overlay" in pr.parse_filesystems(PROC_FILESYSTEMS)}


def test_overlay_support():
    assert pr.check_overlay(_storage("/var/lib/docker"), "overlay2") == []
    gone = dict(_storage("/var/lib/docker"), overlay_supported=False)
    assert ids(pr.check_overlay(gone, "overlay2")) == ["overlay_unavailable"]
    assert pr.check_overlay(gone, "btrfs") == []


def test_backing_filesystem_and_d_type():
    assert pr.check_backing_filesystem(_storage("/var/lib/docker"), "overlay2") == []
    assert ids(pr.check_backing_filesystem(_storage("/srv/data/docker", xfs_ftype=0), "overlay2")) == ["xfs_ftype_0"]
    assert pr.check_backing_filesystem(_storage("/srv/data/docker", xfs_ftype=1), "overlay2") == []
    # xfs_info unavailable: unknown, a warning
    assert ids(pr.check_backing_filesystem(_storage("/srv/data/docker"), "overlay2")) == ["d_type_unknown"]
    nested = "600 500 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
    assert ids(pr.check_backing_filesystem(_storage("/var/lib/docker", nested), "overlay2")) == [
        "data_root_on_overlay"]
    unsupported = dict(_storage("/var/lib/docker"), fstype="somefs", d_type=False)
    assert ids(pr.check_backing_filesystem(unsupported, "overlay2")) == ["d_type_unsupported"]
    assert pr.check_backing_filesystem(unsupported, "vfs") == []


# ------------------------------------------------------------ modules, sysctls


def test_kernel_modules():
    builtin = pr.parse_modules_builtin(MODULES_BUILTIN)
    installed = pr.parse_modules_dep(MODULES_DEP)
    modules = {
        "overlay": pr.module_status("overlay", [], builtin, [], ["overlay"], [], installed),
        "ip_vs": pr.module_status("ip_vs", [], builtin, [], [], [], installed),
    }
    assert modules["ip_vs"]["installed"] and not modules["ip_vs"]["available"]
    problems = pr.check_kernel_modules(modules, ["overlay", "ip_vs"])
    assert ids(problems) == ["kernel_module_missing:ip_vs"] and problems[0]["severity"] == "warning"
    assert pr.check_kernel_modules(modules, ["overlay"]) == []


def test_sysctls_compare_words_not_whitespace():
    current = {"net.ipv4.tcp_rmem": "4096\t131072\t6291456", "net.ipv4.ip_forward": "0",
               "net.bridge.bridge-nf-call-iptables": None}
    wanted = {"net.ipv4.tcp_rmem": "4096 131072 6291456", "net.ipv4.ip_forward": 1,
              "net.bridge.bridge-nf-call-iptables": "1"}
    problems = {p["id"]: p for p in pr.check_sysctls(current, wanted)}
    assert set(problems) == {"sysctl_mismatch:net.ipv4.ip_forward", "sysctl_missing:net.bridge.bridge-nf-call-iptables"}
    assert "br_netfilter" in problems["sysctl_missing:net.bridge.bridge-nf-call-iptables"]["fix"]


# ------------------------------------------------------------ tools, init, container, bootloader


def test_firewall_userns_init_container_bootloader():
    assert ids(pr.check_firewall({"iptables": None})) == ["iptables_missing"]
    assert pr.check_firewall({"iptables": "/usr/sbin/iptables"}) == []
    assert pr.check_userns({"supported": False, "max_user_namespaces": 0})[0]["severity"] == "info"
    assert ids(pr.check_init({"systemd": False, "pid1": "tini"})) == ["pid1_not_systemd"]
    container = pr.detect_container(dockerenv=True, pid1_cgroup_text="0::/\n")
    assert "/.dockerenv exists" in pr.check_container_host(container)[0]["message"]
    assert ids(pr.check_bootloader({"type": pr.bootloader_kind({})})) == ["no_bootloader"]
    assert pr.check_bootloader({"type": "grubby"}) == []


def test_evaluate_runs_the_checks_in_order_and_sorts_by_severity():
    facts = {
        "kernel": {"release": "6.1.0-18-amd64", "config_readable": False},
        "cgroup": pr.cgroup_layout(pr.parse_mounts(HYBRID_MOUNTINFO)),
        "storage": _storage("/var/lib/docker"),
        "sysctls": dict(pr.DEFAULT_SYSCTLS),
        "kernel_modules": {},
        "firewall": {"iptables": None},
        "userns": {"supported": True},
        "init": {"systemd": True},
        "container": {"is_container": False},
        "bootloader": {"type": "none"},
    }
    problems = pr.evaluate(facts)
    assert ids(problems) == ["kernel_config_unreadable", "cgroup_v2_disabled", "iptables_missing", "no_bootloader"]
    assert ids(pr.sort_problems(problems)) == [
        "iptables_missing", "cgroup_v2_disabled", "kernel_config_unreadable", "no_bootloader"]
